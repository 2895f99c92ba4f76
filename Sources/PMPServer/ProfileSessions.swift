import PMP
import Synchronization

/// The profiles that `/profile` and `/debug/pprof/profile` are taking. They run **concurrently**, each with a
/// collector of its own (its own rate, duration and threads), up to a limit; a request beyond the limit is
/// answered 429 with `Retry-After` (the seconds until the first running one ends) instead of waiting, so a
/// client never hangs behind another one's minute-long profile. The rates of the running profiles add up to at
/// most `maxTotalRate` Hz, so that no number of clients can make sampling take more than that. Stopping the
/// server stops them all.
final class ProfileSessions: Sendable {
    private struct Session {
        var collector: Collector?
        var endsAt: ContinuousClock.Instant
        var rate: Double
    }

    private struct State {
        var sessions: [Int: Session] = [:]
        var nextID = 0
        var stopped = false
    }

    let limit: Int
    let maxTotalRate: Double
    private let state = Mutex(State())

    init(limit: Int, maxTotalRate: Double = .infinity) {
        self.limit = max(1, limit)
        self.maxTotalRate = max(1, maxTotalRate)
    }

    enum Reservation {
        case reserved(id: Int)
        /// The limit is reached; the first running profile ends in this many seconds.
        case full(retryAfter: Int)
        /// The running profiles sample at `running` Hz together: this one's rate would go beyond `maxTotalRate`.
        case rateExceeded(running: Double, retryAfter: Int)
        case stopped
    }

    /// Takes a place for a profile of `seconds` at `rate` Hz.
    func reserve(seconds: Double, rate: Double = 1) -> Reservation {
        state.withLock { state in
            if state.stopped { return .stopped }
            let now = ContinuousClock.now
            let firstEnd = state.sessions.values.map(\.endsAt).min() ?? now
            let retryAfter = max(1, Int((firstEnd - now).components.seconds) + 1)
            if state.sessions.count >= limit { return .full(retryAfter: retryAfter) }
            let running = state.sessions.values.reduce(0) { $0 + $1.rate }
            if running + rate > maxTotalRate { return .rateExceeded(running: running, retryAfter: retryAfter) }
            let id = state.nextID
            state.nextID += 1
            state.sessions[id] = Session(collector: nil, endsAt: now + .milliseconds(Int64(seconds * 1000)), rate: rate)
            return .reserved(id: id)
        }
    }

    /// Records the collector of a reserved place; false when the server stopped meanwhile (the caller stops it).
    func attach(_ collector: Collector, to id: Int) -> Bool {
        state.withLock { state in
            guard !state.stopped, state.sessions[id] != nil else { return false }
            state.sessions[id]?.collector = collector
            return true
        }
    }

    func release(_ id: Int) {
        _ = state.withLock { $0.sessions.removeValue(forKey: id) }
    }

    var runningCount: Int { state.withLock { $0.sessions.count } }

    /// Ends every running profile early and refuses new ones.
    func stopAll() {
        let collectors = state.withLock { state -> [Collector] in
            state.stopped = true
            return state.sessions.values.compactMap(\.collector)
        }
        for collector in collectors { collector.requestStop() }
    }
}
