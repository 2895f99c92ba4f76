#if canImport(Glibc)
import Glibc
#endif

/// Reads the stat files of many threads in one pass, at the least cost per thread: each one is opened
/// relative to one open /proc/self/task (two path components to look up instead of five), read with one
/// read() (the kernel generates the whole record on the first; no second read to see the end), and its path
/// is formatted into a stack buffer rather than a String.
struct TaskStatReader: ~Copyable {
    static let directoryPath = "/proc/self/task"
    /// A stat line of a thread fits: `pid (comm) state` and fifty numbers.
    static let capacity = 1024

    private let directory: Int32

    /// Throws when /proc/self/task cannot be opened (out of file descriptors, say).
    init() throws(ProcReadError) {
        let fd = open(Self.directoryPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ProcReadError(path: Self.directoryPath, code: errno) }
        directory = fd
    }

    deinit { close(directory) }

    /// The thread's stat, with its CPU clock to the nanosecond; nil when the thread is gone. Throws when the
    /// file is there but cannot be opened (out of file descriptors or memory), as `ThreadStat.readIfPresent`.
    func read(tid: Int32) throws(ProcReadError) -> ThreadStat? {
        let fd = openStat(of: tid)
        if fd < 0 {
            let code = errno
            if code == EMFILE || code == ENFILE || code == ENOMEM {
                throw ProcReadError(path: "\(Self.directoryPath)/\(tid)/stat", code: code)
            }
            return nil
        }
        defer { close(fd) }
        let parsed = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.capacity) { buffer -> ThreadStat? in
            var total = 0
            while total < Self.capacity {
                let wanted = Self.capacity - total
                let n = Glibc.read(fd, buffer.baseAddress! + total, wanted)
                if n < 0 { if errno == EINTR { continue }; return nil }
                total += n
                if n < wanted { break }  // a short read: the record is whole
            }
            return ThreadStat.parse(UnsafeBufferPointer(rebasing: buffer[0..<total]), tid: tid)
        }
        guard var stat = parsed else { return nil }
        if let precise = ThreadStat.cpuClockNanoseconds(tid: tid) { stat.cpuNanoseconds = precise }
        return stat
    }

    /// openat(directory, "TID/stat").
    private func openStat(of tid: Int32) -> Int32 {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 24) { path -> Int32 in
            var digits = 0
            var rest = UInt32(bitPattern: tid)
            repeat {
                digits += 1
                rest /= 10
            } while rest > 0
            rest = UInt32(bitPattern: tid)
            for index in stride(from: digits - 1, through: 0, by: -1) {
                path[index] = CChar(48 + rest % 10)
                rest /= 10
            }
            for (offset, byte) in "/stat".utf8.enumerated() { path[digits + offset] = CChar(byte) }
            path[digits + 5] = 0
            return openat(directory, path.baseAddress!, O_RDONLY | O_CLOEXEC)
        }
    }
}
