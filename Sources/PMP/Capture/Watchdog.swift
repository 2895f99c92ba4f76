#if canImport(Glibc)
import Glibc
#endif
import CPMPCapture

/// Runs actions at deadlines on a thread of its own (not a Swift task, not Dispatch), so that a caller waiting
/// for the capture thread gets an answer when that thread is stuck or everything else is.
final class Watchdog: @unchecked Sendable {
    static let shared = Watchdog()

    private struct Entry {
        var deadline: UInt64  // monotonic ns
        var action: @Sendable () -> Void
    }

    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var entries: [Entry] = []  // guarded by mutex
    private var started = false

    private init() {
        pthread_mutex_init(&mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(&condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    /// Calls `action` on the watchdog thread once `after` has passed. Actions must be quick and may run late
    /// or early by a few milliseconds.
    func schedule(after: Duration, _ action: @escaping @Sendable () -> Void) {
        let deadline = Clock.monotonicNanoseconds() &+ UInt64(max(0, after.nanoseconds))
        pthread_mutex_lock(&mutex)
        entries.append(Entry(deadline: deadline, action: action))
        let needsStart = !started
        started = true
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
        if needsStart {
            do {
                try startDetachedThread(name: "pmp-watchdog") { [self] in run() }
            } catch {
                // No thread: run the expired ones on the next schedule call rather than never.
                pthread_mutex_lock(&mutex)
                started = false
                pthread_mutex_unlock(&mutex)
            }
        }
    }

    private func run() {
        pmp_block_async_signals()
        pthread_mutex_lock(&mutex)
        while true {
            let now = Clock.monotonicNanoseconds()
            var due: [@Sendable () -> Void] = []
            entries.removeAll { entry in
                guard entry.deadline <= now else { return false }
                due.append(entry.action)
                return true
            }
            if !due.isEmpty {
                pthread_mutex_unlock(&mutex)
                for action in due { action() }
                pthread_mutex_lock(&mutex)
                continue
            }
            let next = entries.map(\.deadline).min() ?? now &+ 3_600_000_000_000
            var time = timespec(tv_sec: Int(next / 1_000_000_000), tv_nsec: Int(next % 1_000_000_000))
            _ = pthread_cond_timedwait(&condition, &mutex, &time)
        }
    }
}
