/// Text from an endpoint (ids, statuses, attributes, function and thread names, error messages) made safe to
/// print: every character a terminal acts on instead of showing is written as `\u001b`, so that a hostile or
/// broken server cannot move the cursor, retitle the window, recolour or hide text, or reorder what is shown.
/// The escaped form is printable ASCII, so escaping twice changes nothing.
///
/// Escaped: C0 controls (tab and, where lines are kept, line feed aside), DEL, the C1 controls U+0080–U+009F
/// (U+009B is a one-character CSI on many terminals), and the bidirectional formatting characters that make a
/// line read differently from its bytes (U+061C, U+200E–U+200F, U+202A–U+202E, U+2066–U+2069).
enum TerminalText {
    /// `text` with the characters above escaped; without `keepingLineBreaks`, line feeds, carriage returns and
    /// tabs too (as `\n`, `\r`, `\t`), for one line or one table cell.
    static func escaped(_ text: String, keepingLineBreaks: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: { needsEscape($0, keepingLineBreaks: keepingLineBreaks) }) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar, keepingLineBreaks: keepingLineBreaks) else {
                result.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            }
        }
        return result
    }

    /// Bytes to print (a dump, a profile as text), line breaks and tabs kept. Bytes that are not UTF-8 come out
    /// as U+FFFD: a lone 0x9B byte is a CSI to a terminal that is not in UTF-8 mode.
    static func escaped(bytes: [UInt8]) -> [UInt8] {
        let plain = bytes.allSatisfy { ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x0A || $0 == 0x09 }
        if plain { return bytes }
        return Array(escaped(String(decoding: bytes, as: UTF8.self), keepingLineBreaks: true).utf8)
    }

    static func needsEscape(_ scalar: Unicode.Scalar, keepingLineBreaks: Bool) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A: return !keepingLineBreaks
        case 0x00..<0x20, 0x7F...0x9F: return true
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }
}
