/// A JSON text written straight into bytes, keys in the order written: the pm responses are small and fixed in
/// shape, and writing them by hand keeps Go's key order and costs no encoder.
struct JSONBytes {
    private(set) var bytes: [UInt8] = []
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    init(reservingCapacity capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// `"name":`
    mutating func key(_ name: StaticString) {
        raw("\"")
        raw(name)
        raw("\":")
    }

    mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case UInt8(ascii: "\n"): raw("\\n")
            case UInt8(ascii: "\r"): raw("\\r")
            case UInt8(ascii: "\t"): raw("\\t")
            case 0..<0x20:
                raw("\\u00")
                bytes.append(Self.hexDigits[Int(byte >> 4)])
                bytes.append(Self.hexDigits[Int(byte & 0xf)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func bool(_ value: Bool) { value ? raw("true") : raw("false") }

    /// Numbers as Go's encoding/json writes a float64: the shortest digits that read back the same, plain
    /// (`200`, `0.125`, `100000000000000000000`) unless tiny or huge (`1.5e-7`, `1e+21`). NaN and infinities,
    /// which JSON lacks, as null.
    mutating func number(_ value: Double) {
        if !value.isFinite {
            raw("null")
        } else if value == value.rounded(), abs(value) < 9_007_199_254_740_992 {
            if value == 0, value.sign == .minus { raw("-") }
            bytes.append(contentsOf: String(Int64(value)).utf8)
        } else {
            if value < 0 { raw("-") }
            bytes.append(contentsOf: Self.goFloat(abs(value)).utf8)
        }
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

    mutating func time(_ time: WallTime) { string(time.rfc3339) }

    /// Object keys sorted, so equal values always read the same.
    mutating func value(_ value: AttributeValue) {
        switch value {
        case .string(let text): string(text)
        case .number(let number): self.number(number)
        case .bool(let flag): bool(flag)
        case .null: raw("null")
        case .array(let elements):
            raw("[")
            for (index, element) in elements.enumerated() {
                if index > 0 { raw(",") }
                self.value(element)
            }
            raw("]")
        case .object(let members):
            raw("{")
            for (index, name) in members.keys.sorted().enumerated() {
                if index > 0 { raw(",") }
                string(name)
                raw(":")
                self.value(members[name]!)
            }
            raw("}")
        }
    }
}
