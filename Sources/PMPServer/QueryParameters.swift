import PMPSupport
/// A request's query string, decoded, with readers that turn a bad value into a 400 with a message.
struct QueryParameters: Sendable {
    private(set) var pairs: [(name: String, value: String)] = []

    init(_ text: Substring) {
        for part in text.split(separator: "&", omittingEmptySubsequences: true) {
            let equals = part.firstIndex(of: "=")
            let name = PercentEncoding.decode(part[..<(equals ?? part.endIndex)], plusIsSpace: true)
            let value = equals.map { PercentEncoding.decode(part[part.index(after: $0)...], plusIsSpace: true) } ?? ""
            pairs.append((name, value))
        }
    }

    /// The first value of `name`.
    subscript(name: String) -> String? { pairs.first { $0.name == name }?.value }

    /// A number within `range`; `fallback` when absent or empty.
    func number(_ name: String, default fallback: Double, in range: ClosedRange<Double>,
                unit: String) throws(BadRequest) -> Double {
        guard let text = self[name], !text.isEmpty else { return fallback }
        guard let value = Double(text), value.isFinite else {
            throw BadRequest("\(name)=\(text) is not a number")
        }
        guard range.contains(value) else {
            throw BadRequest("\(name)=\(text) is out of range: from \(Self.format(range.lowerBound)) to "
                             + "\(Self.format(range.upperBound)) \(unit)")
        }
        return value
    }

    /// A yes/no switch: "1", "true", "yes" or a bare `name` are on; "0", "false", "no" off; absent is `fallback`.
    func flag(_ name: String, default fallback: Bool = false) throws(BadRequest) -> Bool {
        guard let text = self[name] else { return fallback }
        switch text.lowercased() {
        case "", "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw BadRequest("\(name)=\(text) is not a switch: use \(name)=1 or \(name)=0")
        }
    }

    /// One of a fixed set of words; `fallback` when absent or empty.
    func choice<Value>(_ name: String, default fallback: Value, _ choices: KeyValuePairs<String, Value>) throws(BadRequest) -> Value {
        guard let text = self[name], !text.isEmpty else { return fallback }
        if let match = choices.first(where: { $0.key == text.lowercased() }) { return match.value }
        throw BadRequest("\(name)=\(text) is not one of: " + choices.map(\.key).joined(separator: ", "))
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

/// A request the server understood but cannot serve as asked: answered 400 with its message.
struct BadRequest: Error, Sendable {
    let message: String
    init(_ message: String) { self.message = message }
}
