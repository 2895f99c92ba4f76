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
