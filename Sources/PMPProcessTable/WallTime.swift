#if canImport(Glibc)
import Glibc
#endif

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
    public var rfc3339: String {
        let (seconds, nanoseconds) = nanosecondsSinceEpoch.quotientAndRemainder(dividingBy: 1_000_000_000)
        // Floor division, so instants before 1970 land on the right second.
        let wholeSeconds = nanoseconds < 0 ? seconds - 1 : seconds
        let fraction = nanoseconds < 0 ? nanoseconds + 1_000_000_000 : nanoseconds
        let (days, secondOfDay) = Self.floorDivide(wholeSeconds, 86_400)
        let date = CivilDate(daysSinceEpoch: days)

        var text = Self.digits(date.year, 4) + "-" + Self.digits(date.month, 2) + "-" + Self.digits(date.day, 2)
        text += "T" + Self.digits(secondOfDay / 3600, 2) + ":" + Self.digits(secondOfDay / 60 % 60, 2) + ":"
            + Self.digits(secondOfDay % 60, 2)
        if fraction != 0 {
            var fractionDigits = Self.digits(fraction, 9)
            while fractionDigits.last == "0" { fractionDigits.removeLast() }
            text += "." + fractionDigits
        }
        return text + "Z"
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        let (quotient, remainder) = value.quotientAndRemainder(dividingBy: divisor)
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }

    private static func digits(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}

/// Year, month and day of the proleptic Gregorian calendar for a count of days since 1970-01-01
/// (the civil-from-days method: count in 400-year eras starting on March 1st, so leap days fall last).
private struct CivilDate {
    let year: Int64
    let month: Int64
    let day: Int64

    init(daysSinceEpoch: Int64) {
        let shifted = daysSinceEpoch + 719_468  // days from 0000-03-01 to 1970-01-01
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }
}
