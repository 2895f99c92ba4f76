#if canImport(Glibc)
import Glibc
#endif

/// ISO 8601 UTC timestamps with milliseconds, without Foundation.
enum Timestamp {
    static func iso8601(_ seconds: Double) -> String {
        let millisecondsTotal = Int64((seconds * 1000).rounded())
        var whole = time_t(millisecondsTotal / 1000)
        let milliseconds = Int(millisecondsTotal % 1000)
        var parts = tm()
        gmtime_r(&whole, &parts)
        return "\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T\(pad(parts.tm_hour)):"
            + "\(pad(parts.tm_min)):\(pad(parts.tm_sec)).\(pad3(milliseconds))Z"
    }

    /// Parses what `iso8601` writes (fraction optional); nil otherwise.
    static func parse<S: StringProtocol>(_ text: S) -> Double? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.last == UInt8(ascii: "Z") else { return nil }
        func number(_ start: Int, _ length: Int) -> Int? {
            guard start + length <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[start..<(start + length)] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
              let minute = number(14, 2), let second = number(17, 2) else { return nil }
        var fraction = 0.0
        if bytes.count > 21, bytes[19] == UInt8(ascii: ".") {
            // Nanoseconds at most: more digits would overflow and say nothing a Double keeps.
            let digits = min(bytes.count - 21, 9)
            guard let value = number(20, digits),
                  bytes[(20 + digits)..<(bytes.count - 1)].allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
            var scale = 1.0
            for _ in 0..<digits { scale *= 10 }
            fraction = Double(value) / scale
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let whole = timegm(&parts)
        return ((Double(whole) + fraction) * 1000).rounded() / 1000
    }

    private static func pad(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
    private static func pad3(_ value: Int) -> String { value < 10 ? "00\(value)" : (value < 100 ? "0\(value)" : "\(value)") }
}
