#if canImport(Glibc)
import Glibc
#endif
import Logging
import PMPProfiles

/// Where a triggered dump goes.
public enum DumpDestination: Sendable {
    /// Written to stderr in one piece (a copy of fd 2 taken when the trigger was installed; nothing is written
    /// when stderr was closed then).
    case standardError
    /// Appended to a file (created when missing).
    case file(String)
    /// One log record per line, so that every line carries the handler's prefix.
    case logger(Logger, level: Logger.Level = .info)
    /// Handed to a function, as text with newlines.
    case custom(@Sendable (String) -> Void)

    /// Renders the dump in the shape this destination takes (whole text, or lines for a logger) and writes it.
    /// Call it on the dump writer's thread: it may block.
    func write(_ snapshot: Snapshot, sequence: Int, dropped: Int = 0) {
        switch self {
        case .standardError:
            DumpWriter.shared.writeToStandardError(DumpRenderer.text(snapshot, sequence: sequence, dropped: dropped))
        case .file(let path):
            let text = DumpRenderer.text(snapshot, sequence: sequence, dropped: dropped)
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                DumpWriter.shared.writeToStandardError(
                    "swift-pmp: cannot open \(path): \(String(cString: strerror(errno))); dump follows\n" + text)
                return
            }
            Self.writeAll(fd: fd, text)
            close(fd)
        case .logger(let logger, let level):
            DumpRenderer.render(snapshot, sequence: sequence, dropped: dropped) { tag, body in
                logger.log(level: level, "\(tag)\(body)")
            }
        case .custom(let body):
            body(DumpRenderer.text(snapshot, sequence: sequence, dropped: dropped))
        }
    }

    /// Writes finished text (a profile): whole, or one log record per line for a logger.
    func write(text: String) {
        switch self {
        case .standardError:
            DumpWriter.shared.writeToStandardError(text)
        case .file(let path):
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                DumpWriter.shared.writeToStandardError("swift-pmp: cannot open \(path): \(String(cString: strerror(errno))); output follows\n" + text)
                return
            }
            Self.writeAll(fd: fd, text)
            close(fd)
        case .logger(let logger, let level):
            for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast(text.hasSuffix("\n") ? 1 : 0) {
                logger.log(level: level, "\(line)")
            }
        case .custom(let body):
            body(text)
        }
    }

    static func writeAll(fd: Int32, _ text: String) {
        var text = text
        text.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    // Non-blocking and full: wait for room, a while at most (this runs on the writer thread).
                    var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    if errno == EAGAIN, poll(&descriptor, 1, 10_000) > 0 { continue }
                    return
                }
                offset += written
            }
        }
    }
}
