/// The collector's fixed schedule: tick `n` is due at `start + n × interval`, whatever the captures cost, so the
/// rate does not drift. Ticks a slow capture overran are skipped and counted, never served late. Pure
/// arithmetic on monotonic nanoseconds, so that it can be checked without a clock.
struct TickSchedule: Sendable {
    let start: UInt64
    let interval: UInt64
    /// Sampling ends here (nil: when stopped); the last sleep is cut short to it.
    let end: UInt64?
    /// The tick the last deadline was for.
    private(set) var tick: UInt64 = 0

    init(start: UInt64, interval: UInt64, end: UInt64?) {
        self.start = start
        self.interval = max(1, interval)
        self.end = end
    }

    /// When to take the next capture, given that the last one finished at `finished`, and how many ticks before
    /// the end it overran (skipped).
    mutating func next(finishedAt finished: UInt64) -> (deadline: UInt64, skipped: Int) {
        tick += 1
        var deadline = start &+ tick &* interval
        var skipped: UInt64 = 0
        var missed: UInt64 = 0
        if finished >= deadline {
            skipped = (finished - deadline) / interval + 1
            // Ticks due at or after the end were never to be served: not missed.
            missed = end.map { min(skipped, ticks(before: $0) &- min(tick, ticks(before: $0))) } ?? skipped
            tick += skipped
            deadline = start &+ tick &* interval
        }
        if let end, deadline > end { deadline = end }
        return (deadline, Int(missed))
    }

    /// How many ticks are due before `time` (tick 0, at the start, included).
    private func ticks(before time: UInt64) -> UInt64 {
        time <= start ? 0 : (time - start + interval - 1) / interval
    }
}
