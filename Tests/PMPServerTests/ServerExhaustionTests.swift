import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPServer
import PMPTestSupport
import Testing

/// Clients that try to exhaust the server: its memory, its connection slots, its file descriptors, its sampling
/// budget; and clients that try to get in where they should not. Each attack runs over real sockets, and the
/// server must keep serving everyone else.
/// Serialized: these tests wait on sockets synchronously, and the cooperative pool may be two threads wide.
@Suite("PMPServer under exhaustion attacks", .serialized) struct ServerExhaustionTests {
    // MARK: - Memory

    @Test("pipelining without reading: the server stops reading, memory stays flat, then every answer comes in order")
    func pipeliningDoesNotGrowMemory() throws {
        let demo = try DemoProcess(["--threads", "2", "--busy", "0", "--tasks", "0", "--pmp", "127.0.0.1:0"])
        let port = try #require(demo.pmpURL.flatMap { Int($0.split(separator: ":").last ?? "") })
        // Warm up what every answer needs (the page, a capture) before the baseline is taken.
        let warm = try RawConnection(port: port)
        try warm.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\nGET /stacks HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try warm.readResponse().status == 200)
        let baseline = try #require(residentKiB(demo.pid))

        // Each connection pipelines GET / (an 85 KB page per 37-byte request) with a numbered 404 every tenth,
        // and never reads. Answered into memory, this would be gigabytes.
        var request = ""
        var numbered = 0
        while request.utf8.count < 8 << 20 {
            for _ in 0..<9 { request += "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n" }
            request += "GET /procs/\(numbered)/history HTTP/1.1\r\nHost: localhost\r\n\r\n"
            numbered += 1
        }
        let connections = try (0..<4).map { _ in try RawConnection(port: port) }
        var sent = [Int](repeating: 0, count: connections.count)
        var peak = baseline
        let bytes = Array(request.utf8)
        let until = Date().addingTimeInterval(3)
        while Date() < until {
            for (index, connection) in connections.enumerated() where sent[index] < bytes.count {
                sent[index] += connection.sendWithoutBlocking(bytes[sent[index]...])
            }
            peak = max(peak, residentKiB(demo.pid) ?? 0)
            if peak - baseline > 512 * 1024 { break }  // unbounded: stop before the machine suffers
            usleep(20_000)
        }
        usleep(500_000)
        peak = max(peak, residentKiB(demo.pid) ?? 0)
        #expect(!Sanitizer.boundsMemory("the server's resident memory") || peak - baseline < 64 * 1024, "resident memory grew by \((peak - baseline) / 1024) MiB (\(sent) bytes sent)")
        #expect(sent.allSatisfy { $0 < bytes.count }, "the server stopped reading: \(sent) of \(bytes.count) bytes taken")

        // Now the first connection reads: its answers come, complete and in order.
        var next = 0
        let reader = PipelinedReader(connections[0])
        for index in 0..<300 {
            let response = try reader.next(timeout: 30)
            #expect(response.status == (index % 10 == 9 ? 404 : 200), "answer \(index)")
            if response.status == 404 {
                #expect(response.text.contains("no process with id \(next)"), "\(response.text)")
                next += 1
            }
        }
        #expect(next == 30)
        try expectServingOn(port: port)
        #expect(demo.isAlive)
    }

    @Test("a malformed request after nine valid pipelined ones: the nine answers, then 400, then close")
    func malformedAfterPipelined() throws {
        let server = try TestServer()
        for valid in ["GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n", "GET /stacks?format=folded HTTP/1.1\r\nHost: localhost\r\n\r\n"] {
            let connection = try RawConnection(port: server.port)
            try connection.send(String(repeating: valid, count: 9) + "GARBAGE\r\n\r\n")
            let (bytes, closed) = connection.readUntilClosed(timeout: 20)
            var statuses: [Int] = []
            var rest = bytes
            while let response = RawResponse.parse(rest) {
                statuses.append(response.status)
                rest = response.rest
            }
            #expect(statuses == Array(repeating: 200, count: 9) + [400], "\(valid.prefix(12))")
            #expect(closed)
        }
    }

    @Test("while other clients do not read, new requests wait for the total budget and get 503 after the handler timeout")
    func totalBudget() throws {
        let server = try TestServer(limits: PMPServerLimits(handlerTimeout: .seconds(1), maxUnsentBytes: 1024))
        do {
            let hog = try RawConnection(port: server.port)
            try hog.send(String(repeating: "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", count: 400))
            sleep(1)
            let waiting = try RawConnection(port: server.port)
            try waiting.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            let response = try waiting.readResponse(timeout: 10)
            #expect(response.status == 503)
            #expect(response.text.contains("not ready within 1 s"))
            withExtendedLifetime(hog) {}
        }
        // Once the hog is gone, its unsent answer no longer counts: others are answered again.
        let after = try RawConnection(port: server.port)
        try after.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try after.readResponse(timeout: 30).status == 200)
    }

    // MARK: - Connection slots

    @Test("idle sockets holding every slot: legitimate requests are still answered (idle ones evicted first)")
    func idleSocketsAreEvicted() throws {
        let server = try TestServer(limits: PMPServerLimits(maxConnections: 16))
        let idle = try (0..<16).map { _ in try RawConnection(port: server.port) }
        var answered = 0
        for _ in 0..<20 {
            let connection = try RawConnection(port: server.port)
            try connection.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            if (try? connection.readResponse(timeout: 5))?.status == 200 { answered += 1 }
        }
        #expect(answered == 20)
        _ = idle
    }

    @Test("slowloris (every slot sending a byte now and then): legitimate requests are still answered")
    func slowlorisIsEvicted() throws {
        let server = try TestServer(limits: PMPServerLimits(maxConnections: 16))
        let slow = try (0..<16).map { _ in try RawConnection(port: server.port) }
        for connection in slow { try? connection.send("GET /health HTTP/1.1\r\nX-") }
        var answered = 0
        for round in 0..<20 {
            for connection in slow { try? connection.send("a") }
            let connection = try RawConnection(port: server.port)
            try connection.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            if (try? connection.readResponse(timeout: 5))?.status == 200 { answered += 1 }
            _ = round
        }
        #expect(answered == 20)
    }

    @Test("slow clients evicted for new ones are answered 503 or closed gracefully, never reset")
    func evictedSlowClientsAreNotReset() throws {
        let server = try TestServer(limits: PMPServerLimits(maxConnections: 16, headerTimeout: .seconds(1)))
        // Each sends the start of a head at once: the server may evict a connection before it has read its bytes.
        var slow: [RawConnection] = []
        for _ in 0..<48 {
            let connection = try RawConnection(port: server.port)
            try? connection.send("GET /health HTTP/1.1\r\nX-")
            slow.append(connection)
        }
        for _ in 0..<3 {
            Thread.sleep(forTimeInterval: 0.2)
            for connection in slow { try? connection.send("a") }
        }
        var resets = 0
        var statuses: [Int: Int] = [:]
        for connection in slow {
            let (bytes, closed, reset) = connection.readUntilClosedNotingReset(timeout: 10)
            if reset { resets += 1 }
            if let response = RawResponse.parse(bytes) { statuses[response.status, default: 0] += 1 }
            #expect(closed || reset)
        }
        #expect(resets == 0, "\(statuses)")
        #expect(statuses[503, default: 0] >= 32, "\(statuses)")
        #expect(statuses.values.reduce(0, +) == 48, "\(statuses)")
    }

    @Test("a new connection that sends nothing is closed after the header timeout")
    func headerTimeoutForSilentConnection() throws {
        let server = try TestServer(limits: PMPServerLimits(headerTimeout: .milliseconds(500)))
        let silent = try RawConnection(port: server.port)
        let (bytes, closed) = silent.readUntilClosed(timeout: 10)
        #expect(bytes.isEmpty && closed)
    }

    @Test("over the limit with every connection busy: 503 for each, never a reset")
    func overLimitGets503NotReset() throws {
        let server = try TestServer(limits: PMPServerLimits(maxConnections: 2))
        let held = try (0..<2).map { _ in try RawConnection(port: server.port) }
        for connection in held {
            try connection.send("GET /profile?seconds=3&format=folded HTTP/1.1\r\nHost: localhost\r\n\r\n")
        }
        try pollUntil { server.server.runningProfileCount == 2 }
        // Each sends its request at once (with a large head), the way a reset loses the answer.
        let head = "GET /health HTTP/1.1\r\nHost: localhost\r\nX-Filler: " + String(repeating: "f", count: 8000) + "\r\n\r\n"
        var statuses: [Int] = []
        var resets = 0
        for _ in 0..<100 {
            let connection = try RawConnection(port: server.port)
            try? connection.send(head)
            let (bytes, _, reset) = connection.readUntilClosedNotingReset(timeout: 5)
            if reset { resets += 1 }
            if let response = RawResponse.parse(bytes) { statuses.append(response.status) }
        }
        #expect(resets == 0)
        #expect(statuses.count == 100 && statuses.allSatisfy { $0 == 503 }, "\(Set(statuses)), \(statuses.count) answers")
    }

    // MARK: - File descriptors

    @Test("out of file descriptors: accept backs off instead of spinning, and serves again once they are free")
    func acceptBacksOffOnEMFILE() throws {
        let demo = try DemoProcess(["--threads", "2", "--busy", "0", "--tasks", "0", "--pmp", "127.0.0.1:0"])
        let port = try #require(demo.pmpURL.flatMap { Int($0.split(separator: ":").last ?? "") })
        try expectServingOn(port: port)
        // Start-up work (symbol tables) done first, so that only the attack is measured.
        try pollUntil(seconds: 30) {
            let start = cpuSeconds(demo.pid) ?? 0
            usleep(500_000)
            return (cpuSeconds(demo.pid) ?? 1) - start < 0.05
        }
        let openFiles = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(demo.pid)/fd").count
        let limit = openFiles + 16
        let prlimit = try ToolRun.run("/usr/bin/prlimit", ["--pid", "\(demo.pid)", "--nofile=\(limit):\(limit)"])
        #expect(prlimit.status == 0, "\(prlimit.stderr)")
        // More connections than the process can take: the rest wait in the backlog, accept fails with EMFILE.
        do {
            let connections = try (0..<40).map { _ in try RawConnection(port: port) }
            try pollUntil { ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(demo.pid)/fd").count) ?? 0) >= limit }
            let before = try #require(cpuSeconds(demo.pid))
            sleep(2)
            let used = try #require(cpuSeconds(demo.pid)) - before
            #expect(used < 0.5, "\(used) CPU-seconds in 2 s while out of file descriptors")
            withExtendedLifetime(connections) {}
        }
        // With the descriptors free again, it answers.
        let connection = try RawConnection(port: port)
        try connection.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try connection.readResponse(timeout: 20).status == 200)
    }

    // MARK: - Profiles

    @Test("a profile stops when its client goes away")
    func profileStopsOnDisconnect() throws {
        let server = try TestServer()
        do {
            let connection = try RawConnection(port: server.port)
            try connection.send("GET /profile?seconds=60&format=folded HTTP/1.1\r\nHost: localhost\r\n\r\n")
            try pollUntil { server.server.runningProfileCount == 1 }
        }
        try pollUntil(seconds: 15) { server.server.runningProfileCount == 0 }
        try expectServing(server)
    }

    @Test("the rates of concurrent profiles together are capped: beyond it 429 with a message")
    func totalProfileRate() throws {
        let server = try TestServer(limits: PMPServerLimits(maxTotalProfileRate: 150))
        let first = try RawConnection(port: server.port)
        try first.send("GET /profile?seconds=30&hz=100&format=folded HTTP/1.1\r\nHost: localhost\r\n\r\n")
        try pollUntil { server.server.runningProfileCount == 1 }
        let second = try RawConnection(port: server.port)
        try second.send("GET /profile?seconds=1&hz=100&format=folded HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let refused = try second.readResponse(timeout: 10)
        #expect(refused.status == 429)
        #expect(refused.text.contains("100 Hz + 100 Hz") && refused.text.contains("150 Hz"), "\(refused.text)")
        try second.send("GET /profile?seconds=0.2&hz=50&format=folded HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try second.readResponse(timeout: 20).status == 200, "within the cap")
    }

    // MARK: - Who may ask

    @Test("without a token on loopback, a Host naming another domain (DNS rebinding) is refused 403")
    func hostHeaderChecked() throws {
        let server = try TestServer()
        for (host, status) in [("evil.example", 403), ("evil.example:\(server.port)", 403), ("localhost:\(server.port)", 200),
                               ("127.0.0.1:\(server.port)", 200), ("[::1]:\(server.port)", 200), ("app.localhost", 200)] {
            let connection = try RawConnection(port: server.port)
            try connection.send("GET /stacks HTTP/1.1\r\nHost: \(host)\r\n\r\n")
            let response = try connection.readResponse(timeout: 20)
            #expect(response.status == status, "\(host)")
            if status == 403 { #expect(response.text.contains("PMP_TOKEN")) }
        }
        let withToken = try TestServer(token: "secret")
        let connection = try RawConnection(port: withToken.port)
        try connection.send("GET /health HTTP/1.1\r\nHost: pmp.internal.example\r\nAuthorization: Bearer secret\r\n\r\n")
        #expect(try connection.readResponse().status == 200, "with a token, any name")
    }

    @Test("wrong tokens: a connection is closed after a few, and guessing across connections is rate-limited")
    func tokenGuessingLimited() throws {
        let server = try TestServer(token: "secret", limits: PMPServerLimits(maxTokenFailuresPerConnection: 3))
        let connection = try RawConnection(port: server.port)
        let guess = "GET /health HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer guess\r\n\r\n"
        try connection.send(String(repeating: guess, count: 10))
        let (bytes, closed) = connection.readUntilClosed(timeout: 10)
        var statuses: [Int] = []
        var rest = bytes
        while let response = RawResponse.parse(rest) {
            statuses.append(response.status)
            rest = response.rest
        }
        #expect(statuses == [401, 401, 401])
        #expect(closed)

        let limited = try TestServer(token: "secret", limits: PMPServerLimits(maxTokenFailuresPerSecond: 0.05))
        var answers: [Int] = []
        for token in ["guess", "guess", "secret"] {
            let connection = try RawConnection(port: limited.port)
            try connection.send("GET /health HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n\r\n")
            answers.append(try connection.readResponse().status)
        }
        #expect(answers == [401, 429, 429], "the bucket of one is empty for 20 s: even the right token waits")
    }

    // MARK: - The unix socket

    @Test("the unix socket appears at its path already owner-only: no change of mode after it is there")
    func unixSocketCreatedPrivate() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pmp-sock-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let watch = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        #expect(watch >= 0)
        defer { close(watch) }
        #expect(inotify_add_watch(watch, directory, UInt32(IN_CREATE | IN_ATTRIB | IN_MOVED_TO)) >= 0)
        let path = directory + "/pmp.sock"
        let server = try TestServer(listen: .unix(path: path))
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { read(watch, $0.baseAddress, $0.count) }
        var events: [(mask: UInt32, name: String)] = []
        var offset = 0
        while offset + 16 <= max(0, count) {
            let mask = buffer[(offset + 4)..<(offset + 8)].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let length = Int(buffer[(offset + 12)..<(offset + 16)].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            let name = String(decoding: buffer[(offset + 16)..<(offset + 16 + length)].prefix { $0 != 0 }, as: UTF8.self)
            events.append((mask, name))
            offset += 16 + length
        }
        let onSocket = events.filter { $0.name == "pmp.sock" }
        #expect(onSocket.map(\.mask) == [UInt32(IN_MOVED_TO)], "created elsewhere and moved in, never changed after: \(events)")
        #expect(try RawConnection(unixPath: path).fd >= 0)
        server.server.stop()
    }

    @Test("over the unix socket without a token, cancel is honoured only for the owner's uid (SO_PEERCRED)")
    func unixCancelChecksPeerUID() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pmp-\(UUID().uuidString.prefix(8)).sock").path
        let server = try TestServer(listen: .unix(path: path))
        // Opened up on purpose, so that another user can reach it at all.
        #expect(chmod(path, 0o666) == 0)
        let request = "DELETE /procs/none HTTP/1.1\r\nHost: pmp\r\nContent-Length: 0\r\n\r\n"
        let own = try RawConnection(unixPath: path)
        try own.send(request)
        #expect(try own.readResponse().status == 404, "the owner reaches the table")
        guard geteuid() == 0 else { return }  // only root can run a client as another user
        let script = """
        import socket,sys
        s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode())
        print(s.recv(65536).decode(errors="replace"))
        """
        let other = try ToolRun.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                                                         "/usr/bin/python3", "-c", script, path, request])
        #expect(other.stdout.hasPrefix("HTTP/1.1 403"), "\(other.stdout) \(other.stderr)")
        #expect(other.stdout.contains("not the owner"))
        server.server.stop()
    }

    // MARK: - Helpers

    func expectServingOn(port: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let connection = try RawConnection(port: port)
        try connection.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try connection.readResponse(timeout: 20).status == 200, sourceLocation: sourceLocation)
    }

    /// VmRSS of a process, in KiB.
    func residentKiB(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
        return Int(line.split(separator: " ").dropFirst().first ?? "")
    }

    /// User and system CPU time of a process, in seconds.
    func cpuSeconds(_ pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

/// Polls `condition` until it holds or `seconds` pass, without suspending.
func pollUntil(seconds: Double = 10, _ condition: () -> Bool) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        guard Date() < deadline else { throw TestFailure("timed out after \(seconds) s") }
        usleep(10_000)
    }
}

/// Reads pipelined answers off one connection, one after the other, keeping what follows each.
final class PipelinedReader {
    let connection: RawConnection
    private var buffer: [UInt8] = []

    init(_ connection: RawConnection) { self.connection = connection }

    func next(timeout: Double) throws -> RawResponse {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let response = RawResponse.parse(buffer) {
                buffer = response.rest
                return response
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw TestFailure("no complete answer within \(timeout) s") }
            var poller = pollfd(fd: connection.fd, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, Int32(max(1, remaining * 1000))) <= 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 1 << 20)
            let count = chunk.withUnsafeMutableBytes { recv(connection.fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw TestFailure("closed before a complete answer") }
            buffer.append(contentsOf: chunk[..<count])
        }
    }
}

extension RawConnection {
    /// Sends what the socket takes now; returns how many bytes that was.
    func sendWithoutBlocking(_ bytes: ArraySlice<UInt8>) -> Int {
        let written = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        return max(0, written)
    }

    /// As `readUntilClosed`, and whether the connection ended in a reset rather than an orderly close.
    func readUntilClosedNotingReset(timeout: Double) -> (bytes: [UInt8], closed: Bool, reset: Bool) {
        var bytes: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { return (bytes, false, false) }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, Int32(max(1, remaining * 1000))) <= 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 { return (bytes, true, errno == ECONNRESET) }
            if count == 0 { return (bytes, true, false) }
            bytes.append(contentsOf: chunk[..<count])
        }
    }
}
