#if canImport(Glibc)
import Glibc
#endif
import PMPSupport

/// `GET /health`: `{"ok":true,"pid":4242,"uptime":3600.25,"serverUptime":12.5}` — the process's age and the
/// server's, in seconds. It touches neither the capture thread nor the process table: if it does not answer,
/// the server's own thread is what is stuck.
enum HealthEndpoint {
    static func endpoint(startedAt: ContinuousClock.Instant) -> Endpoint {
        return { _, reply in
            let serverUptime = seconds(ContinuousClock.now - startedAt)
            var json = JSONWriter()
            json.beginObject()
            json.key("ok")
            json.bool(true)
            json.key("pid")
            json.integer(getpid())
            json.key("uptime")
            json.number(ProcessAge.seconds().map { ($0 * 1000).rounded() / 1000 } ?? serverUptime)
            json.key("serverUptime")
            json.number(serverUptime)
            json.endObject()
            json.newline()
            reply(.json(json.bytes))
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return ((Double(seconds) + Double(attoseconds) / 1e18) * 1000).rounded() / 1000
    }
}

/// How long this process has been running: the system's uptime minus the process's start time, both from /proc.
enum ProcessAge {
    static func seconds() -> Double? {
        guard let stat = read("/proc/self/stat"), let uptimeText = read("/proc/uptime"),
              let uptime = Double(uptimeText.split(separator: " ").first ?? "") else { return nil }
        // The command name (field 2) may hold blanks and parentheses: fields are counted after its last ")".
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // Field 22, start time in clock ticks since boot, is the 20th after the name.
        guard fields.count > 19, let ticks = Double(fields[19]) else { return nil }
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        guard ticksPerSecond > 0 else { return nil }
        return max(0, uptime - ticks / ticksPerSecond)
    }

    private static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        return String(decoding: bytes[..<count], as: UTF8.self)
    }
}
