#if canImport(Glibc)
import Glibc
#endif
import CPMPCapture
import Synchronization

/// Threads that registered themselves with a name. Names given here replace the kernel's 15-character `comm` in
/// captures, and the registered-only capture mode signals these threads alone.
public final class ThreadRegistry: Sendable {
    public static let shared = ThreadRegistry()

    private let names = Mutex<[Int32: String]>([:])

    /// Registers the calling thread under `name`; also sets its kernel name (truncated to 15 bytes), except on
    /// the main thread: its kernel name is the process's (`ps`, `top`, `pgrep` show it), so it stays.
    public func registerCurrentThread(name: String) {
        let tid = ThreadList.currentThreadID()
        names.withLock { $0[tid] = name }
        if tid == getpid() { return }
        // The kernel keeps 15 bytes; cut on a character boundary.
        var kernelName = ""
        for character in name where kernelName.utf8.count + character.utf8.count <= 15 { kernelName.append(character) }
        _ = pmp_set_thread_name(kernelName)
    }

    public func unregisterCurrentThread() {
        let tid = ThreadList.currentThreadID()
        _ = names.withLock { $0.removeValue(forKey: tid) }
    }

    public func name(of tid: Int32) -> String? { names.withLock { $0[tid] } }

    public var registered: [Int32: String] { names.withLock { $0 } }

    /// Forgets threads the kernel no longer has (their ids may be reused by new threads).
    func forget(_ tids: [Int32]) {
        guard !tids.isEmpty else { return }
        names.withLock { table in for tid in tids { table.removeValue(forKey: tid) } }
    }
}
