/// Reads protocol-buffer wire format field by field, without a schema: the caller switches on field numbers and
/// takes each value as the type it expects. Unknown fields can simply be ignored.
struct ProtobufReader {
    /// One field's value as found on the wire.
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case bytes(ArraySlice<UInt8>)
        case fixed32(UInt32)
    }

    struct Field {
        var number: Int
        var value: Value

        var uint64: UInt64? {
            switch value {
            case .varint(let v), .fixed64(let v): return v
            case .fixed32(let v): return UInt64(v)
            case .bytes: return nil
            }
        }

        var int64: Int64? { uint64.map { Int64(bitPattern: $0) } }

        var bytes: ArraySlice<UInt8>? {
            if case .bytes(let slice) = value { return slice }
            return nil
        }

        var string: String? { bytes.map { String(decoding: $0, as: UTF8.self) } }

        /// The integers of a repeated field, packed (one run of varints) or not (a single varint).
        func integers() throws(ProtobufError) -> [UInt64] {
            switch value {
            case .varint(let v), .fixed64(let v): return [v]
            case .fixed32(let v): return [UInt64(v)]
            case .bytes(let run):
                var reader = ProtobufReader(run)
                var values: [UInt64] = []
                while !reader.isAtEnd { values.append(try reader.readVarint()) }
                return values
            }
        }
    }

    private let bytes: ArraySlice<UInt8>
    private var position: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        position = bytes.startIndex
    }

    var isAtEnd: Bool { position >= bytes.endIndex }

    mutating func readVarint() throws(ProtobufError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.endIndex else { throw .truncated }
            let byte = bytes[position]
            position += 1
            guard shift < 64 else { throw .malformed("varint longer than ten bytes") }
            value |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }

    private mutating func readFixed(_ size: Int) throws(ProtobufError) -> UInt64 {
        guard bytes.endIndex - position >= size else { throw .truncated }
        var value: UInt64 = 0
        for offset in 0..<size { value |= UInt64(bytes[position + offset]) << (8 * UInt64(offset)) }
        position += size
        return value
    }

    /// The next field, or nil at the end of the message.
    mutating func next() throws(ProtobufError) -> Field? {
        guard !isAtEnd else { return nil }
        let key = try readVarint()
        let number = key >> 3
        guard number > 0, number <= UInt64(Int32.max) else { throw .malformed("field number \(number)") }
        switch key & 7 {
        case 0:
            return Field(number: Int(number), value: .varint(try readVarint()))
        case 1:
            return Field(number: Int(number), value: .fixed64(try readFixed(8)))
        case 2:
            let length = try readVarint()
            guard length <= UInt64(bytes.endIndex - position) else { throw .truncated }
            let start = position
            position += Int(length)
            return Field(number: Int(number), value: .bytes(bytes[start..<position]))
        case 5:
            return Field(number: Int(number), value: .fixed32(UInt32(try readFixed(4))))
        default:
            throw .malformed("wire type \(key & 7)")
        }
    }
}

/// Why protocol-buffer bytes could not be read.
public enum ProtobufError: Error, Equatable, CustomStringConvertible {
    case truncated
    case malformed(String)

    public var description: String {
        switch self {
        case .truncated: return "protobuf data ends in the middle of a field"
        case .malformed(let what): return "malformed protobuf data: \(what)"
        }
    }
}
