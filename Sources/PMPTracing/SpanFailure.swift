/// How a span ended in error, as the entry's final status tells it (`failed: <description>`).
struct SpanFailure: Error, CustomStringConvertible {
    let description: String
}
