#if canImport(Glibc)
import Glibc
#endif

/// Turns SIGINT, SIGTERM, SIGHUP and SIGWINCH into bytes on a pipe that the screen's loop polls: the signals
/// are blocked in every thread (call `start` before starting any other) and taken by one thread with `sigwait`,
/// so no handler runs and the terminal is restored by ordinary code.
final class SignalWatcher: Sendable {
    static let watched: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGWINCH]
    let pipe: WakePipe

    init() throws {
        pipe = try WakePipe()
    }

    func start() throws {
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in Self.watched { sigaddset(&mask, signal) }
        pthread_sigmask(SIG_BLOCK, &mask, nil)
        let pipe = self.pipe
        try DetachedThread.start {
            var mask = sigset_t()
            sigemptyset(&mask)
            for signal in SignalWatcher.watched { sigaddset(&mask, signal) }
            while true {
                var received: Int32 = 0
                if sigwait(&mask, &received) == 0 { pipe.wake(UInt8(truncatingIfNeeded: received)) }
            }
        }
    }
}
