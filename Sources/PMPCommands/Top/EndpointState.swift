import PMPClient

/// What `pmp top` knows of one endpoint: its latest process table and blocked stacks, and whether it answers.
struct EndpointState: Sendable {
    let endpoint: Endpoint
    /// The latest table it sent; nil while it fails.
    var listing: ProcessListing?
    /// When `listing` arrived (our monotonic clock): ages go on growing from there between polls.
    var listedAt: Deadline?
    var stacks: StackGroups?
    /// Why the latest poll of the table failed; nil when it succeeded.
    var failure: String?
    /// The failure came as an HTTP answer: the endpoint is reachable, but refuses or fails.
    var failureAnswered = false
    /// Why the latest poll of the stacks failed (the table may still have come).
    var stacksFailure: String?
    /// Since when it has been failing.
    var failingSince: Deadline?
    /// Polls done, successful or not.
    var pollCount = 0

    init(endpoint: Endpoint) { self.endpoint = endpoint }

    /// Answered the latest poll.
    var isUp: Bool { pollCount > 0 && failure == nil }
}
