/// The one layout of a JSON number in swift-pmp, the one Go's encoding/json writes for a float64 (pm's JSON
/// is read by Go tools too): the shortest digits that read back the same, plain (`200`, `0.125`, `0.00001`,
/// `100000000000000000000`) unless tiny or huge (`1.5e-7`, `1e+21`). NaN and infinities, which JSON lacks, as
/// `null`.
package enum JSONNumber {
    package static func text(_ value: Double) -> String {
        if !value.isFinite { return "null" }
        if value == value.rounded(), abs(value) < 9_007_199_254_740_992 {
            return (value == 0 && value.sign == .minus ? "-" : "") + String(Int64(value))
        }
        return (value < 0 ? "-" : "") + goFloat(abs(value))
    }

    /// Swift's `description` has the same shortest digits as Go; only the layout differs (`1e-05` vs `0.00001`).
    private static func goFloat(_ magnitude: Double) -> String {
        let text = magnitude.description
        let parts = text.split(separator: "e", maxSplits: 1)
        let exponent = parts.count == 2 ? Int(parts[1])! : 0
        let mantissa = parts[0].split(separator: ".", maxSplits: 1)
        let integerDigits = mantissa[0]
        var digits = Array(integerDigits + (mantissa.count == 2 ? mantissa[1] : ""))
        // The decimal point sits after `pointPosition` digits.
        var pointPosition = integerDigits.count + exponent
        while digits.count > 1, digits.first == "0" {
            digits.removeFirst()
            pointPosition -= 1
        }
        while digits.count > 1, digits.last == "0" { digits.removeLast() }

        if magnitude < 1e-6 || magnitude >= 1e21 {
            let decimalExponent = pointPosition - 1
            let rest = digits.dropFirst()
            let exponentDigits = String(abs(decimalExponent))
            return String(digits[0]) + (rest.isEmpty ? "" : "." + String(rest)) + "e"
                + (decimalExponent < 0 ? "-" + exponentDigits
                                       : "+" + (exponentDigits.count < 2 ? "0" : "") + exponentDigits)
        }
        if pointPosition <= 0 { return "0." + String(repeating: "0", count: -pointPosition) + String(digits) }
        if pointPosition >= digits.count {
            return String(digits) + String(repeating: "0", count: pointPosition - digits.count)
        }
        return String(digits[..<pointPosition]) + "." + String(digits[pointPosition...])
    }
}
