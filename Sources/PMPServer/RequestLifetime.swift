import Synchronization

/// One request's life as its endpoint may need to know it, from any thread: the extra time it asked for
/// (a profile's duration) and whether its client went away or its time ran out, so that the work for it stops.
final class RequestLifetime: Sendable {
    private struct State {
        var extraTime: Duration = .zero
        var abandoned = false
        var ended = false
        var whenAbandoned: [@Sendable () -> Void] = []
    }

    private let state = Mutex(State())

    /// Time beyond the handler timeout this request may take; read when the endpoint returns.
    var extraTime: Duration { state.withLock { $0.extraTime } }

    func allow(_ duration: Duration) { state.withLock { $0.extraTime = duration } }

    var isAbandoned: Bool { state.withLock { $0.abandoned } }

    /// Runs `body` when the request is abandoned (at once when it already is); never once it was answered.
    func whenAbandoned(_ body: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if state.ended { return false }
            if state.abandoned { return true }
            state.whenAbandoned.append(body)
            return false
        }
        if runNow { body() }
    }

    /// The client went away or the time ran out: whatever works for this request should stop.
    func abandon() {
        let bodies = state.withLock { state -> [@Sendable () -> Void] in
            guard !state.ended, !state.abandoned else { return [] }
            state.abandoned = true
            defer { state.whenAbandoned = [] }
            return state.whenAbandoned
        }
        for body in bodies { body() }
    }

    /// The answer was sent: nothing more to stop.
    func end() {
        state.withLock { state in
            state.ended = true
            state.whenAbandoned = []
        }
    }
}
