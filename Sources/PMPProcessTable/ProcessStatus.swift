/// The statuses the process table writes itself; everything else is what the work reported with `setStatus`.
public enum ProcessStatus {
    /// Every entry starts in this status, as in pm.
    public static let initial = "init"
    /// The work returned.
    public static let ended = "ended"
    /// The work was cancelled (through the table or its caller's task) or threw `CancellationError`.
    public static let cancelled = "cancelled"
    /// Followed by the error's description: `failed: connection reset`.
    public static let failedPrefix = "failed: "

    static func failed(_ error: any Error) -> String { failedPrefix + String(describing: error) }

    /// The history line a cancel request leaves, as pm writes it.
    static func cancelRequest(message: String) -> String {
        message.isEmpty ? "[cancel request]" : "[cancel request: \(message)]"
    }

    /// The final status of work that threw `error`; `wasCancelled` when a cancel reached it by any path.
    static func final(for error: any Error, wasCancelled: Bool) -> String {
        error is CancellationError || wasCancelled ? cancelled : failed(error)
    }
}
