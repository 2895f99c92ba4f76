/// One attribute of a process-table entry: any JSON value. Written as it is into the `attrs` of `GET /procs`.
///
/// Literals work, so attributes read like JSON:
///
///     ["method": "GET", "uri": "/work", "bytes": 512, "retry": false, "user": nil, "tags": ["a", "b"]]
///
/// Numbers are `Double`s, as in JSON: integers beyond 2^53 lose precision.
public enum AttributeValue: Sendable, Hashable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
    case array([AttributeValue])
    case object([String: AttributeValue])
}

extension AttributeValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByNilLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(arrayLiteral elements: AttributeValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, AttributeValue)...) {
        // A repeated key keeps its last value, as in a JSON object.
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension AttributeValue {
    /// For values that are not literals: `AttributeValue(request.uri)`, `AttributeValue(byteCount)`.
    public init(_ value: String) { self = .string(value) }
    public init<Integer: BinaryInteger>(_ value: Integer) { self = .number(Double(value)) }
    public init(_ value: Double) { self = .number(value) }
    public init(_ value: Bool) { self = .bool(value) }
}

extension AttributeValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([AttributeValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: AttributeValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .null: try container.encodeNil()
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}
