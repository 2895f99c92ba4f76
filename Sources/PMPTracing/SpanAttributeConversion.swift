import PMPProcessTable
import Tracing

/// Span attribute values as process-table attribute values, bounded by the tracer's limits.
enum SpanAttributeConversion {
    static func value(_ attribute: SpanAttribute, limits: ProcessTableTracerLimits) -> AttributeValue {
        let text = { (value: String) in AttributeValue.string(BoundedText.cut(value, toBytes: limits.maxStringBytes)) }
        func array<Element>(_ elements: [Element], _ convert: (Element) -> AttributeValue) -> AttributeValue {
            .array(elements.prefix(limits.maxArrayElements).map(convert))
        }
        switch attribute {
        case .int32(let value): return .number(Double(value))
        case .int64(let value): return .number(Double(value))
        case .double(let value): return number(value)
        case .bool(let value): return .bool(value)
        case .string(let value): return text(value)
        case .int32Array(let values): return array(values) { .number(Double($0)) }
        case .int64Array(let values): return array(values) { .number(Double($0)) }
        case .doubleArray(let values): return array(values, number)
        case .boolArray(let values): return array(values) { .bool($0) }
        case .stringArray(let values): return array(values, text)
        case .stringConvertible(let value): return text(String(describing: value))
        case .stringConvertibleArray(let values): return array(values) { text(String(describing: $0)) }
        default: return text(String(describing: attribute))
        }
    }

    /// JSON has no NaN or infinity: those are written as Go writes them in text.
    private static func number(_ value: Double) -> AttributeValue {
        if value.isFinite { return .number(value) }
        return .string(value.isNaN ? "NaN" : (value > 0 ? "+Inf" : "-Inf"))
    }
}
