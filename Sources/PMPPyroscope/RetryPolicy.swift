/// What to do after a request: Pyroscope's and Alloy's rules. 408, 429 and 5xx, and no answer at all, are
/// worth another try after a backoff; any other 4xx means the profile itself is refused and will be again.
enum RetryPolicy {
    enum Outcome: Equatable {
        case accepted
        case retry
        case refused
    }

    static func outcome(status: Int) -> Outcome {
        switch status {
        case 200..<300: return .accepted
        case 408, 429, 500..<600: return .retry
        default: return .refused
        }
    }

    /// The wait before try number `attempt + 1` (attempt ≥ 1): `initial` doubled per try, at most `maximum`;
    /// a server's `Retry-After` (seconds) is honoured up to `maximum`.
    static func backoff(afterAttempt attempt: Int, initial: Duration, maximum: Duration, retryAfter: String?) -> Duration {
        if let retryAfter, let seconds = Int(retryAfter.trimmingSpaces), seconds >= 0 {
            return min(.seconds(seconds), maximum)
        }
        var wait = initial
        for _ in 1..<max(1, attempt) {
            wait *= 2
            if wait >= maximum { return maximum }
        }
        return min(wait, maximum)
    }
}
