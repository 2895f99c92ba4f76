/// JSON written straight into bytes, keys in the order written, commas placed as values follow one another: the
/// one JSON writer of swift-pmp's hand-written shapes (/procs, /stacks, /health), numbers in `JSONNumber`'s layout.
package struct JSONWriter {
    package private(set) var bytes: [UInt8] = []
    /// Per open object or array: whether a member was written (so the next needs a comma).
    private var hasMember: [Bool] = []
    private var afterKey = false
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    package init(reservingCapacity capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    private mutating func beginValue() {
        if afterKey {
            afterKey = false
            return
        }
        if let last = hasMember.last {
            if last { bytes.append(UInt8(ascii: ",")) }
            hasMember[hasMember.count - 1] = true
        }
    }

    package mutating func beginObject() {
        beginValue()
        bytes.append(UInt8(ascii: "{"))
        hasMember.append(false)
    }

    package mutating func endObject() {
        hasMember.removeLast()
        bytes.append(UInt8(ascii: "}"))
    }

    package mutating func beginArray() {
        beginValue()
        bytes.append(UInt8(ascii: "["))
        hasMember.append(false)
    }

    package mutating func endArray() {
        hasMember.removeLast()
        bytes.append(UInt8(ascii: "]"))
    }

    package mutating func key(_ name: String) {
        beginValue()
        appendString(name)
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    package mutating func string(_ text: String) {
        beginValue()
        appendString(text)
    }

    package mutating func string(_ text: String?) {
        if let text { string(text) } else { null() }
    }

    package mutating func integer(_ value: some BinaryInteger) {
        beginValue()
        bytes.append(contentsOf: String(value).utf8)
    }

    /// A number in `JSONNumber`'s layout (Go's), NaN and infinities as null.
    package mutating func number(_ value: Double) {
        beginValue()
        bytes.append(contentsOf: JSONNumber.text(value).utf8)
    }

    package mutating func number(_ value: Double?) {
        if let value { number(value) } else { null() }
    }

    package mutating func bool(_ value: Bool) {
        beginValue()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    package mutating func null() {
        beginValue()
        bytes.append(contentsOf: "null".utf8)
    }

    package mutating func newline() { bytes.append(0x0A) }

    /// A value already written as JSON (by another writer).
    package mutating func rawValue(_ json: [UInt8]) {
        beginValue()
        bytes.append(contentsOf: json)
    }

    private mutating func appendString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0x7F }) {
            bytes.append(contentsOf: text.utf8)
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20, 0x7F:
                bytes.append(contentsOf: "\\u00".utf8)
                bytes.append(Self.hexDigits[Int(byte >> 4)])
                bytes.append(Self.hexDigits[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
