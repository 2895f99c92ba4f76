/// A failure with the message the user sees (after "Error: ").
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
