import PMPSupport

/// The dump header's UTC timestamps with milliseconds (`2025-03-04T05:06:07.123Z`), in RFC3339's layout.
enum Timestamp {
    static func iso8601(_ seconds: Double) -> String {
        let milliseconds = Int64((seconds * 1000).rounded())
        return RFC3339.text(nanosecondsSinceEpoch: milliseconds * 1_000_000, fractionDigits: 3)
    }

    /// Parses an RFC 3339 time (what `iso8601` writes; the fraction optional) into seconds, to the millisecond;
    /// nil otherwise.
    static func parse<S: StringProtocol>(_ text: S) -> Double? {
        guard let nanoseconds = RFC3339.nanosecondsSinceEpoch(String(text)) else { return nil }
        let (milliseconds, remainder) = nanoseconds.quotientAndRemainder(dividingBy: 1_000_000)
        let rounded = remainder >= 500_000 ? milliseconds + 1 : (remainder < -500_000 ? milliseconds - 1 : milliseconds)
        return Double(rounded) / 1000
    }
}
