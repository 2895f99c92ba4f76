/// RFC 3339 times, written and read in one place. Reads the RFC 3339 times of the process table's JSON (`2025-03-04T05:06:07.123456789Z`; Go's pm may write
/// an offset such as `+02:00` instead of `Z`) into nanoseconds since 1970.
package enum RFC3339 {
    package static func nanosecondsSinceEpoch(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20 else { return nil }
        func number(_ start: Int, _ length: Int) -> Int64? {
            guard start + length <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[start..<(start + length)] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            return value
        }
        func isByte(_ index: Int, _ characters: String) -> Bool {
            index < bytes.count && characters.utf8.contains(bytes[index])
        }
        guard let year = number(0, 4), isByte(4, "-"), let month = number(5, 2), isByte(7, "-"),
              let day = number(8, 2), isByte(10, "Tt "), let hour = number(11, 2), isByte(13, ":"),
              let minute = number(14, 2), isByte(16, ":"), let second = number(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60 else { return nil }
        var index = 19
        var fraction: Int64 = 0
        if isByte(index, ".") {
            index += 1
            var digits = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                if digits < 9 { fraction = fraction * 10 + Int64(bytes[index] - 48) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 9) { fraction *= 10 }
        }
        var offsetSeconds: Int64 = 0
        if isByte(index, "Zz"), index + 1 == bytes.count {
            offsetSeconds = 0
        } else if isByte(index, "+-"), index + 6 == bytes.count, let offsetHours = number(index + 1, 2),
                  isByte(index + 3, ":"), let offsetMinutes = number(index + 4, 2) {
            offsetSeconds = (offsetHours * 3600 + offsetMinutes * 60) * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
        } else {
            return nil
        }
        let days = daysSinceEpoch(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        // Nanoseconds since 1970 in 64 bits reach the year 2262: later (or much earlier) times are not read.
        let (nanoseconds, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return nil }
        let (total, overflowAgain) = nanoseconds.addingReportingOverflow(fraction)
        return overflowAgain ? nil : total
    }

    /// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (eras of 400 years from March 1st).
    package static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// `2025-03-04T05:06:07.123456789Z`: UTC, with `fractionDigits` digits of the second, or (nil) as many as
    /// needed and none when whole, the way Go writes a `time.Time` in JSON.
    package static func text(nanosecondsSinceEpoch: Int64, fractionDigits: Int? = nil) -> String {
        let (seconds, nanoseconds) = nanosecondsSinceEpoch.quotientAndRemainder(dividingBy: 1_000_000_000)
        // Floor division, so instants before 1970 land on the right second.
        let wholeSeconds = nanoseconds < 0 ? seconds - 1 : seconds
        let fraction = nanoseconds < 0 ? nanoseconds + 1_000_000_000 : nanoseconds
        let (days, secondOfDay) = floorDivide(wholeSeconds, 86_400)
        let date = CivilDate(daysSinceEpoch: days)

        var text = digits(date.year, 4) + "-" + digits(date.month, 2) + "-" + digits(date.day, 2)
        text += "T" + digits(secondOfDay / 3600, 2) + ":" + digits(secondOfDay / 60 % 60, 2) + ":"
            + digits(secondOfDay % 60, 2)
        var fractionText = digits(fraction, 9)
        if let fractionDigits {
            fractionText = String(fractionText.prefix(max(0, min(9, fractionDigits))))
        } else {
            while fractionText.last == "0" { fractionText.removeLast() }
        }
        if !fractionText.isEmpty { text += "." + fractionText }
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
