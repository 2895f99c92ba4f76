/// Why an input could not be aggregated.
public enum AggregateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The input is not text (NUL bytes, or mostly control bytes, at its start).
    case binaryInput(name: String)
    /// Reading failed (a directory, an I/O error, …): the system's message.
    case unreadable(name: String, reason: String)

    public var description: String {
        switch self {
        case .binaryInput(let name):
            return "\(name): binary data, not a text log (pmp-aggregate reads dumps and logs as text)"
        case .unreadable(let name, let reason):
            return "\(name): cannot read: \(reason)"
        }
    }
}
