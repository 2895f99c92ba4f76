/// Series labels added to every pushed profile, checked against Pyroscope's rules before anything is sent: a
/// label the server would refuse makes every push fail, so it is refused at start-up instead.
public struct PyroscopeLabels: Sendable, Hashable {
    /// In the order given.
    public private(set) var pairs: [(name: String, value: String)]

    /// Names the exporter sets itself.
    static let reserved: Set<String> = ["__name__", "service_name"]
    /// Pyroscope's default limit of label names per series; the exporter's own labels take some.
    static let maxSeriesLabels = 30
    static let maxNameLength = 1024
    static let maxValueLength = 2048

    public init(_ pairs: [(name: String, value: String)] = []) throws(PyroscopeError) {
        self.pairs = []
        for (name, value) in pairs { try add(name, value, source: "\(name)=\(value)") }
    }

    public init(dictionary: [String: String]) throws(PyroscopeError) {
        try self.init(dictionary.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) })
    }

    /// `name=value,name=value` (`PMP_PYROSCOPE_LABELS`); spaces around names and values are dropped. Values
    /// cannot hold `,`, `=`, `{` or `}`: `/ingest` has no escaping for them.
    public static func parse(_ text: String) throws(PyroscopeError) -> PyroscopeLabels {
        var labels = try PyroscopeLabels()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = item.trimmingSpaces
            if trimmed.isEmpty {
                if text.trimmingSpaces.isEmpty { break }
                throw .badLabels(text, reason: "an empty item between commas")
            }
            let parts = trimmed.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw .badLabels(text, reason: "\"\(trimmed)\" has no =") }
            let value = parts[1].trimmingSpaces
            if value.contains("=") { throw .badLabels(text, reason: "the value of \"\(parts[0].trimmingSpaces)\" contains =") }
            try labels.add(parts[0].trimmingSpaces, value, source: text)
        }
        return labels
    }

    private mutating func add(_ name: String, _ value: String, source: String) throws(PyroscopeError) {
        func bad(_ reason: String) -> PyroscopeError { .badLabels(source, reason: reason) }
        guard !name.isEmpty else { throw bad("a label name is empty") }
        guard name.utf8.count <= Self.maxNameLength else { throw bad("the label name \"\(name.prefix(40))…\" is longer than \(Self.maxNameLength) bytes") }
        guard Self.isValidName(name) else {
            throw bad("the label name \"\(name)\" may hold only letters, digits, _ and ., and not start with a digit")
        }
        guard !Self.reserved.contains(name) else {
            throw bad("\"\(name)\" is set by the exporter (the application name is PMP_PYROSCOPE_APP)")
        }
        guard !name.hasPrefix("__") else { throw bad("names starting with __ are reserved for Pyroscope") }
        guard !value.isEmpty else { throw bad("the value of \"\(name)\" is empty") }
        guard value.utf8.count <= Self.maxValueLength else { throw bad("the value of \"\(name)\" is longer than \(Self.maxValueLength) bytes") }
        guard !value.contains(where: { ",{}".contains($0) || ($0.asciiValue.map { $0 < 0x20 } ?? false) }) else {
            throw bad("the value of \"\(name)\" contains , { } or a control character")
        }
        guard !pairs.contains(where: { $0.name == name }) else { throw bad("\"\(name)\" is given twice") }
        // The exporter adds __name__, service_name and its two scope labels.
        guard pairs.count + 1 + 4 <= Self.maxSeriesLabels else {
            throw bad("more than \(Self.maxSeriesLabels - 4) labels (Pyroscope keeps at most \(Self.maxSeriesLabels) per series)")
        }
        pairs.append((name, value))
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }
    }

    public static func == (lhs: PyroscopeLabels, rhs: PyroscopeLabels) -> Bool {
        lhs.pairs.map(\.name) == rhs.pairs.map(\.name) && lhs.pairs.map(\.value) == rhs.pairs.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        for (name, value) in pairs { hasher.combine(name); hasher.combine(value) }
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
