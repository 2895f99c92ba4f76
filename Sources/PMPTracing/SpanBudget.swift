import Synchronization

/// Counts a tracer's spans in flight that have an entry, against `maxInFlightSpans`.
final class SpanBudget: Sendable {
    let limit: Int
    private let inFlight = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    /// Takes a place; false when every place is taken.
    func acquire() -> Bool {
        var current = inFlight.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = inFlight.compareExchange(expected: current, desired: current + 1,
                                                                 ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func release() { inFlight.subtract(1, ordering: .relaxed) }

    var count: Int { inFlight.load(ordering: .relaxed) }
}
