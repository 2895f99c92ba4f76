/// An entry's bounded status history while it is recorded: the first change is kept for good, the others in a ring
/// of the most recent `limit - 1`. Notes (a cancel request) go into the history without becoming the current status.
struct StatusLog {
    private let first: StatusChange
    private var recent: RecentItems<StatusChange>
    private var lastDroppedTime: WallTime?
    /// The latest status the work reported (or the first one): what listings show, whatever notes came after it.
    private(set) var current: StatusChange

    /// `limit` counts every change kept, the first included; at least 2.
    init(first: StatusChange, limit: Int) {
        precondition(limit >= 2, "a status history keeps at least the first and the current status")
        self.first = first
        current = first
        recent = RecentItems(capacity: limit - 1)
    }

    mutating func append(_ change: StatusChange) {
        current = change
        keep(change)
    }

    /// Records `change` in the history only: the current status and its time stay.
    mutating func note(_ change: StatusChange) { keep(change) }

    private mutating func keep(_ change: StatusChange) {
        if let dropped = recent.append(change) { lastDroppedTime = dropped.time }
    }

    var snapshot: StatusHistory {
        StatusHistory(changes: [first] + recent.items, droppedCount: recent.droppedCount, lastDroppedTime: lastDroppedTime)
    }
}
