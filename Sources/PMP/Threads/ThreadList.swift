#if canImport(Glibc)
import Glibc
#endif
import CPMPCapture

/// The threads of this process, as the kernel lists them in /proc/self/task.
public enum ThreadList {
    static let taskDirectory = "/proc/self/task"

    /// Thread ids of this process, in ascending order. Throws when the list cannot be read (out of file
    /// descriptors, say): a process always has a thread, so an empty list is never an answer.
    public static func threadIDs() throws(ProcReadError) -> [Int32] {
        guard let dir = opendir(taskDirectory) else { throw ProcReadError(path: taskDirectory, code: errno) }
        defer { closedir(dir) }
        var ids: [Int32] = []
        ids.reserveCapacity(64)
        while let entry = readdir(dir) {
            let id = withUnsafeBytes(of: entry.pointee.d_name) { raw -> Int32? in
                var value: Int32 = 0
                var digits = 0
                for byte in raw {
                    if byte == 0 { break }
                    guard byte >= 48, byte <= 57 else { return nil }
                    value = value &* 10 &+ Int32(byte - 48)
                    digits += 1
                }
                return digits > 0 ? value : nil
            }
            if let id { ids.append(id) }
        }
        ids.sort()
        return ids
    }

    /// The calling thread's kernel id.
    public static func currentThreadID() -> Int32 {
        pmp_gettid()
    }
}
