/// What a key press means to `pmp top`.
enum Key: Hashable {
    case character(Character)
    case enter, escape, backspace, interrupt, clearLine
    /// Arrow and function keys: read and ignored.
    case other
}

/// Turns the bytes read from a raw terminal into keys: UTF-8 text, control keys, and escape sequences (which
/// arrive whole in one read; an ESC with nothing after it is the Escape key).
struct KeyDecoder {
    private var pending: [UInt8] = []

    mutating func keys(_ bytes: [UInt8]) -> [Key] {
        var keys: [Key] = []
        var index = 0
        let bytes = pending + bytes
        pending = []
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case 0x1B:
                if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "[") || bytes[index + 1] == UInt8(ascii: "O") {
                    // CSI / SS3: parameter and intermediate bytes, then a final byte from @ to ~.
                    var end = index + 2
                    while end < bytes.count, (0x20...0x3F).contains(bytes[end]) { end += 1 }
                    keys.append(.other)
                    index = min(end + 1, bytes.count)
                    continue
                }
                keys.append(.escape)
            case 0x0D, 0x0A: keys.append(.enter)
            case 0x7F, 0x08: keys.append(.backspace)
            case 0x03: keys.append(.interrupt)
            case 0x15: keys.append(.clearLine)
            case 0x00..<0x20: keys.append(.other)
            case 0x80...:
                // A UTF-8 sequence: its length from the lead byte; an incomplete one waits for the next read.
                let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
                guard index + length <= bytes.count else {
                    pending = Array(bytes[index...])
                    return keys
                }
                let text = String(decoding: bytes[index..<(index + length)], as: UTF8.self)
                keys.append(text.first.map(Key.character) ?? .other)
                index += length
                continue
            default:
                keys.append(.character(Character(Unicode.Scalar(byte))))
            }
            index += 1
        }
        return keys
    }
}
