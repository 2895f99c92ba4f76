#if canImport(Glibc)
import Glibc
#endif
import PMPSupport

/// A moment on the wall clock (UTC), in nanoseconds since 1970, as the process table records it.
/// Good until the year 2262.
public struct WallTime: Sendable, Hashable, Comparable {
    public var nanosecondsSinceEpoch: Int64

    public init(nanosecondsSinceEpoch: Int64) { self.nanosecondsSinceEpoch = nanosecondsSinceEpoch }

    public static func now() -> WallTime {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return WallTime(nanosecondsSinceEpoch: Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec))
    }

    public static func < (lhs: WallTime, rhs: WallTime) -> Bool { lhs.nanosecondsSinceEpoch < rhs.nanosecondsSinceEpoch }

    public static func - (lhs: WallTime, rhs: WallTime) -> Duration {
        .nanoseconds(lhs.nanosecondsSinceEpoch - rhs.nanosecondsSinceEpoch)
    }

    /// RFC 3339 in UTC with as many fraction digits as needed (none when whole), the way Go writes a `time.Time`
    /// in JSON: `2025-03-04T05:06:07.123456789Z`, `2025-03-04T05:06:07.5Z`, `2025-03-04T05:06:07Z`.
    public var rfc3339: String { RFC3339.text(nanosecondsSinceEpoch: nanosecondsSinceEpoch) }
}
