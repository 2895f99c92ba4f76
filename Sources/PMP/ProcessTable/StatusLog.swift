/// An entry's bounded status history while it is recorded: the first change is kept for good, the others in a ring
/// of the most recent `limit - 1`.
struct StatusLog {
    private let first: StatusChange
    private var recent: RecentItems<StatusChange>
    private var lastDroppedTime: WallTime?

    /// `limit` counts every change kept, the first included; at least 2.
    init(first: StatusChange, limit: Int) {
        precondition(limit >= 2, "a status history keeps at least the first and the current status")
        self.first = first
        recent = RecentItems(capacity: limit - 1)
    }

    var current: StatusChange { recent.last ?? first }

    mutating func append(_ change: StatusChange) {
        if let dropped = recent.append(change) { lastDroppedTime = dropped.time }
    }

    var snapshot: StatusHistory {
        StatusHistory(changes: [first] + recent.items, droppedCount: recent.droppedCount, lastDroppedTime: lastDroppedTime)
    }
}
