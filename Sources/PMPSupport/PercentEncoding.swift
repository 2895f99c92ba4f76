/// Percent-encoding for URL parts: ASCII letters, digits, `-._~` and the characters in `keeping` stay, every
/// other byte becomes `%XX`.
package enum PercentEncoding {
    package static func encode(_ text: String, keeping extra: String = "") -> String {
        var result = ""
        for byte in text.utf8 {
            let character = Character(Unicode.Scalar(byte))
            if byte < 0x80, character.isLetter || character.isNumber || "-._~".contains(character) || extra.contains(character) {
                result.append(character)
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                result += "%" + (hex.count == 1 ? "0" : "") + hex
            }
        }
        return result
    }
}

extension PercentEncoding {
    /// `%XX` escapes (and `+` for a blank, in URL queries) decoded; a malformed escape stays as it is. Bytes
    /// are appended to `out` until `limit` of them were written there by this call.
    @inlinable
    package static func decode(_ bytes: UnsafeBufferPointer<UInt8>, plusIsSpace: Bool = false,
                               into out: inout [UInt8], limit: Int = .max) {
        var cursor = 0
        var written = 0
        while cursor < bytes.count, written < limit {
            let byte = bytes[cursor]
            if byte == UInt8(ascii: "%"), cursor + 2 < bytes.count,
               let high = hexDigit(bytes[cursor + 1]), let low = hexDigit(bytes[cursor + 2]) {
                out.append(high << 4 | low)
                cursor += 3
            } else {
                out.append(plusIsSpace && byte == UInt8(ascii: "+") ? 0x20 : byte)
                cursor += 1
            }
            written += 1
        }
    }

    /// The text with its escapes decoded as UTF-8 (invalid UTF-8 repaired).
    package static func decode<S: StringProtocol>(_ text: S, plusIsSpace: Bool = false) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) })
        else { return String(text) }
        let source = Array(text.utf8)
        var decoded: [UInt8] = []
        decoded.reserveCapacity(source.count)
        source.withUnsafeBufferPointer { decode($0, plusIsSpace: plusIsSpace, into: &decoded) }
        return String(decoding: decoded, as: UTF8.self)
    }

    @inlinable
    package static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
