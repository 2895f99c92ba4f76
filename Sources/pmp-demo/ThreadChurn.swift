#if canImport(Glibc)
import Glibc
#endif

/// `--churn-threads RATE`: a thread that creates short-lived threads and joins them, RATE a second (0: as fast as
/// it can), so that every capture finds threads that are gone or new since the thread list was read.
enum ThreadChurn {
    static func start(rate: Double) {
        let interval = rate > 0 ? UInt32(min(1e6, 1e6 / rate)) : 0
        Workers.startThread(name: "thread churn") {
            while true {
                var thread = pthread_t()
                if pthread_create(&thread, nil, { _ in nil }, nil) == 0 { pthread_join(thread, nil) }
                if interval > 0 { usleep(interval) }
            }
        }
    }
}
