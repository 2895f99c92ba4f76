/// The most recent `capacity` items appended, oldest first; older ones are dropped (and counted) as new ones come.
/// A ring, so appending never moves the others.
struct RecentItems<Item> {
    let capacity: Int
    private var storage: [Item] = []
    private var oldestIndex = 0
    private(set) var droppedCount = 0

    init(capacity: Int) {
        precondition(capacity >= 0, "capacity must not be negative")
        self.capacity = capacity
    }

    var count: Int { storage.count }

    /// Appends `item`; returns the item it pushed out, if any.
    @discardableResult
    mutating func append(_ item: Item) -> Item? {
        guard capacity > 0 else {
            droppedCount += 1
            return item
        }
        if storage.count < capacity {
            storage.append(item)
            return nil
        }
        let dropped = storage[oldestIndex]
        storage[oldestIndex] = item
        oldestIndex = (oldestIndex + 1) % capacity
        droppedCount += 1
        return dropped
    }

    var last: Item? {
        guard !storage.isEmpty else { return nil }
        return storage[(oldestIndex + storage.count - 1) % storage.count]
    }

    /// Oldest first.
    var items: [Item] {
        Array(storage[oldestIndex...]) + storage[..<oldestIndex]
    }
}
