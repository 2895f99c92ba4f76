import Synchronization

/// Bounds how fast wrong tokens can be tried, all connections together: a token bucket that refills at `rate`
/// per second up to `burst`. While it is empty, requests with a token are refused without the token being
/// compared, so guessing goes no faster than the rate.
final class TokenFailureLimiter: Sendable {
    private struct Bucket {
        var available: Double
        var refilledAt: ContinuousClock.Instant
    }

    let rate: Double
    let burst: Double
    private let bucket: Mutex<Bucket>

    init(perSecond rate: Double) {
        self.rate = max(0.001, rate)
        burst = max(1, (rate * 10).rounded(.down))
        bucket = Mutex(Bucket(available: burst, refilledAt: .now))
    }

    /// False while no more failures may be tried.
    func mayTry() -> Bool {
        bucket.withLock { bucket in
            refill(&bucket)
            return bucket.available >= 1
        }
    }

    func recordFailure() {
        bucket.withLock { bucket in
            refill(&bucket)
            bucket.available = max(0, bucket.available - 1)
        }
    }

    private func refill(_ bucket: inout Bucket) {
        let now = ContinuousClock.now
        let (seconds, attoseconds) = (now - bucket.refilledAt).components
        let elapsed = Double(seconds) + Double(attoseconds) / 1e18
        bucket.available = min(burst, bucket.available + elapsed * rate)
        bucket.refilledAt = now
    }
}
