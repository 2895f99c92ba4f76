/// A copy of one process-table entry at the moment it was asked for.
public struct ProcessRecord: Sendable, Hashable {
    public let id: String
    public let attributes: [String: AttributeValue]
    public let startTime: WallTime
    /// The current status, or the final one (`ended`, `cancelled`, `failed: …`) once finished.
    public let status: String
    /// When the current status began.
    public let statusTime: WallTime
    /// The entry itself forbids cancel (the table may forbid it for every entry as well).
    public let forbidsCancel: Bool
    /// Someone asked to cancel it; stays true after the work finished.
    public let isCancelRequested: Bool
    /// The message given with the cancel request; empty when none was given or none was requested.
    public let cancelMessage: String
    /// It left the table already: kept among the recently finished entries.
    public let isFinished: Bool
    /// The id of the entry this one's work is part of (`ProcessTable.register(parentID:)`), nil for top-level work.
    /// The parent may have finished already, or be gone from the table.
    public internal(set) var parentID: String? = nil
    /// The address of the Swift task running the work while it is in flight (nil before it started, once it
    /// finished, and for entries whose work never said): a task capture finds the task by it
    /// (`TaskSnapshot.address`), to show where the work is suspended.
    public internal(set) var taskAddress: UInt64? = nil

    /// Cancel requested and the work still running: pm's `cancelling`.
    public var isCancelling: Bool { isCancelRequested && !isFinished }
}
