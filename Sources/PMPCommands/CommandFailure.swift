/// A failure with the message the user sees (after "Error: "); it may quote an endpoint, so its control
/// characters are escaped.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = TerminalText.escaped(description, keepingLineBreaks: true) }
}
