#if canImport(Glibc)
import Glibc
#endif

/// Unbuffered writes to stderr (progress, summary).
enum StandardError {
    static func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(STDERR_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { if written < 0, errno == EINTR { continue } else { return } }
                offset += written
            }
        }
    }
}
