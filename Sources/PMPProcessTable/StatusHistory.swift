/// The statuses an entry went through, as kept: its first status, then the most recent ones. When an entry changes
/// status more often than the table's history limit, the changes in between are dropped and counted, so the start
/// and the latest steps always remain.
public struct StatusHistory: Sendable, Hashable {
    /// The first status (`init`), then the most recent changes, oldest first. The last one is the current status.
    public let changes: [StatusChange]
    /// How many changes were dropped between the first and the second of `changes`.
    public let droppedCount: Int
    /// When the latest dropped change happened; nil when none was dropped.
    public let lastDroppedTime: WallTime?
}
