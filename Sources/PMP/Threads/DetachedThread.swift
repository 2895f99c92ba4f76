#if canImport(Glibc)
import Glibc
#endif
import CPMPCapture

/// Starts a detached pthread (not a Swift task, not a Dispatch worker) running `body`.
func startDetachedThread(name: String, _ body: @escaping () -> Void) throws {
    let box = Unmanaged.passRetained(ThreadStart(body: body, name: name))
    var thread = pthread_t()
    let result = pthread_create(&thread, nil, { raw in
        let start = Unmanaged<ThreadStart>.fromOpaque(raw!).takeRetainedValue()
        _ = pmp_set_thread_name(start.name)
        start.body()
        return nil
    }, box.toOpaque())
    guard result == 0 else {
        box.release()
        throw ThreadStartError(code: result)
    }
    pthread_detach(thread)
}

private final class ThreadStart {
    let body: () -> Void
    let name: String
    init(body: @escaping () -> Void, name: String) {
        self.body = body
        self.name = name
    }
}

/// pthread_create failed.
public struct ThreadStartError: Error, CustomStringConvertible, Sendable {
    public var code: Int32
    public var description: String { "cannot start a thread: \(String(cString: strerror(code)))" }
}
