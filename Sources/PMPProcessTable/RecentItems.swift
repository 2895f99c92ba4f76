/// The most recent `capacity` items appended, oldest first; older ones are dropped (and counted) as new ones come.
/// A ring, so appending never moves the others; its storage grows as needed up to `capacity`.
struct RecentItems<Item> {
    let capacity: Int
    private var storage: [Item?] = []
    private var oldestIndex = 0
    private(set) var count = 0
    /// Items pushed out by newer ones (not those taken with `removeOldest`).
    private(set) var droppedCount = 0

    init(capacity: Int) {
        precondition(capacity >= 0, "capacity must not be negative")
        self.capacity = capacity
    }

    /// Appends `item`; returns the item it pushed out, if any.
    @discardableResult
    mutating func append(_ item: Item) -> Item? {
        guard capacity > 0 else {
            droppedCount += 1
            return item
        }
        if count == capacity {
            let dropped = storage[oldestIndex]
            storage[oldestIndex] = item
            oldestIndex = (oldestIndex + 1) % capacity
            droppedCount += 1
            return dropped
        }
        if count == storage.count { grow() }
        storage[(oldestIndex + count) % storage.count] = item
        count += 1
        return nil
    }

    /// Room for twice as many (at least 4, at most `capacity`), the items laid out oldest first again.
    private mutating func grow() {
        let newSize = min(capacity, max(4, storage.count * 2))
        var grown: [Item?] = []
        grown.reserveCapacity(newSize)
        for offset in 0..<count { grown.append(storage[(oldestIndex + offset) % storage.count]) }
        grown.append(contentsOf: repeatElement(nil, count: newSize - count))
        storage = grown
        oldestIndex = 0
    }

    var oldest: Item? { count == 0 ? nil : storage[oldestIndex] }

    var last: Item? { count == 0 ? nil : storage[(oldestIndex + count - 1) % storage.count] }

    /// Takes the oldest item out, if any.
    @discardableResult
    mutating func removeOldest() -> Item? {
        guard count > 0 else { return nil }
        let item = storage[oldestIndex]
        storage[oldestIndex] = nil
        oldestIndex = (oldestIndex + 1) % storage.count
        count -= 1
        return item
    }

    /// Oldest first.
    var items: [Item] {
        (0..<count).map { storage[(oldestIndex + $0) % storage.count]! }
    }
}
