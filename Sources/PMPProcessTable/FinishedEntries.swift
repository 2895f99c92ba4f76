/// The finished entries a table keeps, by count and by age: all of the most recent `limit`, and older ones
/// thinned out to one per `maxAge / limit` (at most `limit` more), so that a busy service still shows its last
/// minutes; none that finished more than `maxAge` ago.
struct FinishedEntries {
    struct Item {
        let entry: ProcessEntry
        let endTime: WallTime
    }

    let limit: Int
    let maxAge: Duration
    private var recent: RecentItems<Item>
    private var thinned: RecentItems<Item>
    private let spacing: Duration
    private var lastThinnedEnd: WallTime?

    init(limit: Int, maxAge: Duration) {
        self.limit = limit
        self.maxAge = maxAge
        recent = RecentItems(capacity: limit)
        thinned = RecentItems(capacity: limit)
        spacing = limit > 0 ? maxAge / limit : maxAge
    }

    /// Keeps `entry`; returns the item no longer kept, for the caller to release outside its lock.
    mutating func append(_ entry: ProcessEntry, endTime: WallTime) -> Item? {
        dropExpired(now: endTime)
        guard let pushedOut = recent.append(Item(entry: entry, endTime: endTime)), limit > 0 else { return nil }
        if let lastThinnedEnd, pushedOut.endTime - lastThinnedEnd < spacing { return pushedOut }
        lastThinnedEnd = pushedOut.endTime
        return thinned.append(pushedOut)
    }

    /// Drops what finished more than `maxAge` before `now`.
    mutating func dropExpired(now: WallTime) {
        while let oldest = thinned.oldest, now - oldest.endTime > maxAge { thinned.removeOldest() }
        while let oldest = recent.oldest, now - oldest.endTime > maxAge { recent.removeOldest() }
    }

    /// Oldest first.
    var entries: [ProcessEntry] { (thinned.items + recent.items).map(\.entry) }

    func entry(id: String) -> ProcessEntry? {
        recent.items.last { $0.entry.id == id }?.entry ?? thinned.items.last { $0.entry.id == id }?.entry
    }
}
