/// What an exporter did so far.
public struct PyroscopeExporterStatistics: Sendable, Hashable {
    /// Profiles made (one per interval, and the last partial one at `stop()`).
    public var profiled = 0
    /// Profiles the server accepted.
    public var sent = 0
    /// Requests sent again after 408, 429, 5xx or no answer.
    public var retries = 0
    /// Profiles the server refused for good (any other 4xx); never sent again.
    public var rejected = 0
    /// Profiles given up after `maxAttempts` tries.
    public var failed = 0
    /// Profiles dropped unsent: the oldest when the queue was full, and those still queued when `stop()` gave up.
    public var dropped = 0
    /// Profiles dropped because they became too old for the server to accept (Pyroscope takes the last hour).
    public var expired = 0
    /// Profiles waiting now, and the most that ever waited.
    public var queued = 0
    public var maxQueued = 0
    /// The last failure, as logged.
    public var lastError: String?
}
