#if canImport(Glibc)
import Glibc
#endif

/// A detached POSIX thread: pollers and the signal watcher block in system calls, which Swift's cooperative
/// pool must not do.
enum DetachedThread {
    static func start(_ body: @escaping @Sendable () -> Void) throws {
        let box = Unmanaged.passRetained(Body(body))
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { raw in
            let body = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
            body.run()
            return nil
        }, box.toOpaque())
        guard result == 0 else {
            box.release()
            throw CommandFailure("cannot start a thread: \(String(cString: strerror(result)))")
        }
        pthread_detach(thread)
    }

    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
}
