#if canImport(Glibc)
import Glibc
#endif

/// A moment on the monotonic clock by which something must be done.
package struct Deadline: Sendable, Comparable {
    package var nanoseconds: UInt64

    package init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    package static func now() -> Deadline {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Deadline(nanoseconds: UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec))
    }

    package static func after(_ duration: Duration) -> Deadline {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = max(0, seconds) * 1_000_000_000 + max(0, attoseconds / 1_000_000_000)
        return Deadline(nanoseconds: now().nanoseconds + UInt64(nanoseconds))
    }

    /// Milliseconds left, for `poll`: 0 once passed, rounded up so that a wait never ends just before it.
    package var remainingMilliseconds: Int32 {
        let current = Deadline.now().nanoseconds
        guard nanoseconds > current else { return 0 }
        return Int32(min(UInt64(Int32.max), (nanoseconds - current + 999_999) / 1_000_000))
    }

    /// Seconds from `earlier` to this moment (negative when `earlier` is later).
    package func seconds(since earlier: Deadline) -> Double {
        Double(Int64(bitPattern: nanoseconds &- earlier.nanoseconds)) / 1e9
    }

    package var hasPassed: Bool { Deadline.now().nanoseconds >= nanoseconds }

    package static func < (lhs: Deadline, rhs: Deadline) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
}

extension Duration {
    /// Seconds as a Double.
    package var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// "5 s", "0.5 s", "250 ms": how long a timeout was, in a message.
    package var shortDescription: String {
        let value = seconds
        if value < 1 { return "\(Int((value * 1000).rounded())) ms" }
        if value == value.rounded() { return "\(Int(value)) s" }
        return "\((value * 10).rounded() / 10) s"
    }
}
