/// Writes protocol-buffer wire format (`package`: the Pyroscope exporter wraps profiles in its own messages): just what profile.proto needs (varints, length-delimited fields,
/// nested messages and packed repeated integers). Fields equal to their default are the caller's to skip.
package struct ProtobufWriter {
    package private(set) var bytes: [UInt8] = []

    package init() {}

    /// Wire types of the encoding.
    package enum WireType: UInt8 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    package mutating func appendVarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// Bytes already encoded as fields (a run of fields built apart).
    package mutating func appendRaw(_ encoded: [UInt8]) {
        bytes.append(contentsOf: encoded)
    }

    private mutating func appendKey(_ field: Int, _ wireType: WireType) {
        appendVarint(UInt64(field) << 3 | UInt64(wireType.rawValue))
    }

    /// An unsigned integer field (uint64, bool).
    package mutating func writeVarint(_ field: Int, _ value: UInt64) {
        appendKey(field, .varint)
        appendVarint(value)
    }

    /// An int64 field: negative values take ten bytes, as the encoding asks (two's complement, not zigzag).
    package mutating func writeInt64(_ field: Int, _ value: Int64) {
        writeVarint(field, UInt64(bitPattern: value))
    }

    package mutating func writeBool(_ field: Int, _ value: Bool) {
        writeVarint(field, value ? 1 : 0)
    }

    package mutating func writeBytes(_ field: Int, _ value: some Collection<UInt8>) {
        appendKey(field, .lengthDelimited)
        appendVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    package mutating func writeString(_ field: Int, _ value: String) {
        writeBytes(field, value.utf8)
    }

    /// A nested message, built by `body` in a writer of its own so that its length can precede it.
    package mutating func writeMessage(_ field: Int, _ body: (inout ProtobufWriter) -> Void) {
        var nested = ProtobufWriter()
        body(&nested)
        writeBytes(field, nested.bytes)
    }

    /// A packed repeated integer field (uint64/int64): one length-delimited run of varints. Empty runs are omitted.
    package mutating func writePacked(_ field: Int, _ values: [UInt64]) {
        guard !values.isEmpty else { return }
        appendKey(field, .lengthDelimited)
        // The run's length first, so that the varints can go straight into place.
        appendVarint(UInt64(values.reduce(0) { $0 + Self.varintSize($1) }))
        for value in values { appendVarint(value) }
    }

    /// Bytes a value takes as a varint.
    package static func varintSize(_ value: UInt64) -> Int {
        value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
    }
}
