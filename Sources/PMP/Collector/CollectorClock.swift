/// The collector's time: monotonic nanoseconds, and a sleep until one of them that a stop request cuts short.
/// The sampler reads no other clock, so a test can run the schedule on a clock that moves only when told.
protocol CollectorClock: Sendable {
    func now() -> UInt64
    /// Returns at `deadline`, or earlier once `wakeup` is signalled and `stop()` is true.
    func sleep(until deadline: UInt64, wakeup: Wakeup, stop: () -> Bool)
}

/// CLOCK_MONOTONIC: the clock every collector runs on outside tests.
struct MonotonicCollectorClock: CollectorClock {
    func now() -> UInt64 { Clock.monotonicNanoseconds() }

    func sleep(until deadline: UInt64, wakeup: Wakeup, stop: () -> Bool) {
        wakeup.sleep(until: deadline, stop: stop)
    }
}
