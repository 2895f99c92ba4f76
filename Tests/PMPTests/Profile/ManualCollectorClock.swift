import PMPTestSupport
@testable import PMP
import Synchronization

/// A collector clock whose time moves only when the collector sleeps: each sleep ends exactly at its deadline
/// plus `lateness` (a thread woken late, or a capture that took that long), however loaded the machine is.
final class ManualCollectorClock: CollectorClock {
    private let time: Mutex<UInt64>
    private let lateness: UInt64

    init(start: UInt64 = 1_000_000_000, lateness: Duration = .zero) {
        time = Mutex(start)
        self.lateness = UInt64(lateness.nanoseconds)
    }

    func now() -> UInt64 { time.withLock { $0 } }

    func sleep(until deadline: UInt64, wakeup: Wakeup, stop: () -> Bool) {
        if stop() { return }
        time.withLock { $0 = max($0, deadline &+ lateness) }
    }
}
