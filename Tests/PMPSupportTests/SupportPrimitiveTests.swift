@testable import PMPSupport
import PMPTestSupport
import Testing

/// The shared primitives of PMPSupport, each the one copy its callers use.
@Suite("support primitives")
struct SupportPrimitiveTests {
    @Test("RFC 3339: written as Go writes a time, read back to the nanosecond, offsets and bad fields handled")
    func rfc3339() {
        let instant: Int64 = 1_741_064_767_123_456_789  // 2025-03-04T05:06:07.123456789Z
        #expect(RFC3339.text(nanosecondsSinceEpoch: instant) == "2025-03-04T05:06:07.123456789Z")
        #expect(RFC3339.text(nanosecondsSinceEpoch: instant, fractionDigits: 3) == "2025-03-04T05:06:07.123Z")
        #expect(RFC3339.text(nanosecondsSinceEpoch: 1_741_064_767_500_000_000) == "2025-03-04T05:06:07.5Z")
        #expect(RFC3339.text(nanosecondsSinceEpoch: 1_741_064_767_000_000_000) == "2025-03-04T05:06:07Z")
        #expect(RFC3339.text(nanosecondsSinceEpoch: -1) == "1969-12-31T23:59:59.999999999Z")
        #expect(RFC3339.text(nanosecondsSinceEpoch: 951_782_400_000_000_000) == "2000-02-29T00:00:00Z")
        for value: Int64 in [0, -1, instant, 951_782_400_000_000_000, 4_102_444_799_999_999_999] {
            #expect(RFC3339.nanosecondsSinceEpoch(RFC3339.text(nanosecondsSinceEpoch: value)) == value, "\(value)")
        }
        #expect(RFC3339.nanosecondsSinceEpoch("2025-03-04T07:06:07.123456789+02:00") == instant)
        #expect(RFC3339.nanosecondsSinceEpoch("2025-13-04T05:06:07Z") == nil)
        #expect(RFC3339.nanosecondsSinceEpoch("2025-03-04T05:06:07") == nil)
        #expect(RFC3339.nanosecondsSinceEpoch("2025-03-04T05:06:07.Z") == nil)
        #expect(RFC3339.nanosecondsSinceEpoch("") == nil)
    }

    @Test("percent-encoding keeps unreserved ASCII and the characters asked for, escapes every other byte")
    func percentEncoding() {
        #expect(PercentEncoding.encode("a-b._~Z9") == "a-b._~Z9")
        #expect(PercentEncoding.encode("a b/c?d") == "a%20b%2Fc%3Fd")
        #expect(PercentEncoding.encode("host:80/x", keeping: ":/") == "host:80/x")
        #expect(PercentEncoding.encode("é") == "%C3%A9")
        #expect(PercentEncoding.encode("\u{0}") == "%00")
    }

    @Test("trimming: blanks and line breaks off both ends of a string, a given set off a substring")
    func trimming() {
        #expect(" \t value \r\n".trimmingBlanks() == "value")
        #expect(" \n ".trimmingBlanks() == "")
        #expect("in side".trimmingBlanks() == "in side")
        #expect(("  a b\t" as Substring).trimmingCharacters(in: " \t") == "a b")
        #expect(("xxaxx" as Substring).trimmingCharacters(in: "x") == "a")
        #expect(("" as Substring).trimmingCharacters(in: " ") == "")
    }

    @Test("RFC 3339 times past what 64-bit nanoseconds since 1970 hold are not read; saturating sums")
    func nanosecondBounds() {
        #expect(RFC3339.nanosecondsSinceEpoch("2262-04-11T23:47:16Z") == 9_223_372_036_000_000_000)
        #expect(RFC3339.nanosecondsSinceEpoch("2262-04-11T23:47:16.854775807Z") == Int64.max)
        #expect(RFC3339.nanosecondsSinceEpoch("2262-04-11T23:47:16.854775808Z") == nil)
        #expect(RFC3339.nanosecondsSinceEpoch("9999-12-31T23:59:59Z") == nil)
        #expect(RFC3339.nanosecondsSinceEpoch("0001-01-01T00:00:00Z") == nil)
        #expect(Int.max.addingSaturated(2) == Int.max)
        #expect(Int.min.addingSaturated(-2) == Int.min)
        #expect(40.addingSaturated(2) == 42)
    }
}
