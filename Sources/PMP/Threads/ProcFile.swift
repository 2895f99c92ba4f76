#if canImport(Glibc)
import Glibc
#endif

/// Small, allocation-light reads of /proc files (they are generated on read; one read() gets them whole).
package enum ProcFile {
    /// Reads up to `capacity` bytes of `path` and hands them to `body`; nil when the file cannot be opened.
    package static func withContents<R>(_ path: String, capacity: Int = 4096, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R? {
        (try? withContentsIfPresent(path, capacity: capacity, body)) ?? nil
    }

    /// Like `withContents`, but running out of descriptors or memory (EMFILE, ENFILE, ENOMEM) is thrown rather
    /// than taken for a file that is not there (a thread that exited).
    package static func withContentsIfPresent<R>(_ path: String, capacity: Int = 4096,
                                         _ body: (UnsafeBufferPointer<UInt8>) -> R) throws(ProcReadError) -> R? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == EMFILE || code == ENFILE || code == ENOMEM { throw ProcReadError(path: path, code: code) }
            return nil
        }
        defer { close(fd) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer -> R? in
            var total = 0
            while total < capacity {
                let n = read(fd, buffer.baseAddress! + total, capacity - total)
                if n < 0 { if errno == EINTR { continue }; return nil }
                if n == 0 { break }
                total += n
            }
            return body(UnsafeBufferPointer(rebasing: buffer[0..<total]))
        }
    }

    package static func string(_ path: String, capacity: Int = 65536) -> String? {
        withContents(path, capacity: capacity) { String(decoding: $0, as: UTF8.self) }
    }
}
