/// Counts samples per distinct key, keeping at most `limit` distinct keys: samples of further keys are counted
/// as dropped. Memory stays bounded however long sampling goes on.
package struct StackCounter<Key: Hashable> {
    package private(set) var keys: [Key] = []
    package private(set) var counts: [Int] = []
    private var index: [Key: Int] = [:]
    package let limit: Int
    /// Samples whose key did not fit.
    package private(set) var droppedSamples = 0

    package init(limit: Int) { self.limit = max(0, limit) }

    /// Adds `count` samples of `key`; returns its entry, or nil when it was dropped.
    @discardableResult
    package mutating func add(_ key: Key, count: Int = 1) -> Int? {
        if let entry = index[key] {
            counts[entry] += count
            return entry
        }
        guard keys.count < limit else {
            droppedSamples += count
            return nil
        }
        index[key] = keys.count
        keys.append(key)
        counts.append(count)
        return keys.count - 1
    }

    /// Adds samples to an entry returned earlier.
    package mutating func add(toEntry entry: Int, count: Int = 1) { counts[entry] += count }

    package mutating func drop(count: Int = 1) { droppedSamples += count }

    package var isEmpty: Bool { keys.isEmpty }
}
extension StackCounter: Sendable where Key: Sendable {}
