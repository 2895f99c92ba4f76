/// What `ProcessTable.cancel(id:message:)` did.
public enum CancelOutcome: Sendable, Hashable {
    /// The entry is now cancel-pending (or already was) and its task has been cancelled.
    case cancelled
    /// No entry in flight has this id (it may have finished already).
    case notFound
    /// The entry, or the whole table, forbids cancel; nothing changed.
    case forbidden

    /// The answer pm's REST interface gives to `DELETE /procs/{id}`: 200, 404 or 403.
    public var httpStatusCode: Int {
        switch self {
        case .cancelled: 200
        case .notFound: 404
        case .forbidden: 403
        }
    }
}
