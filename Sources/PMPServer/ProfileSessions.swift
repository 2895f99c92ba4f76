import PMP
import Synchronization

/// The profiles that `/profile` and `/debug/pprof/profile` are taking. They run **concurrently**, each with a
/// collector of its own (its own rate, duration and threads), up to a limit; a request beyond the limit is
/// answered 429 with `Retry-After` (the seconds until the first running one ends) instead of waiting, so a
/// client never hangs behind another one's minute-long profile. Stopping the server stops them all.
final class ProfileSessions: Sendable {
    private struct Session {
        var collector: Collector?
        var endsAt: ContinuousClock.Instant
    }

    private struct State {
        var sessions: [Int: Session] = [:]
        var nextID = 0
        var stopped = false
    }

    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) { self.limit = max(1, limit) }

    enum Reservation {
        case reserved(id: Int)
        /// The limit is reached; the first running profile ends in this many seconds.
        case full(retryAfter: Int)
        case stopped
    }

    /// Takes a place for a profile of `seconds`.
    func reserve(seconds: Double) -> Reservation {
        state.withLock { state in
            if state.stopped { return .stopped }
            let now = ContinuousClock.now
            if state.sessions.count >= limit {
                let first = state.sessions.values.map(\.endsAt).min() ?? now
                let wait = first - now
                return .full(retryAfter: max(1, Int(wait.components.seconds) + 1))
            }
            let id = state.nextID
            state.nextID += 1
            state.sessions[id] = Session(collector: nil, endsAt: now + .milliseconds(Int64(seconds * 1000)))
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
