#if canImport(Glibc)
import Glibc
#endif

/// Byte strings to small dense ids (0, 1, 2, … in first-seen order), looked up straight from the bytes of a line:
/// no String per lookup, and each distinct key is stored once in one arena. An open-addressing table of ids with
/// the keys' hashes kept beside them.
struct ByteInterner {
    private var arena: [UInt8] = []
    /// Start of key `id` in `arena`; `starts[id + 1]` is its end.
    private var starts: [Int] = [0]
    private var hashes: [UInt64] = []
    /// Ids + 1 (0 = empty), a power of two long.
    private var slots: [Int32]
    private var mask: Int

    init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: 0, count: size)
        mask = size - 1
        arena.reserveCapacity(capacity * 32)
    }

    var count: Int { hashes.count }

    /// Bytes kept (for memory accounting).
    var storedBytes: Int { arena.count + starts.count * 8 + hashes.count * 8 + slots.count * 4 }

    /// The id of `key`, adding it when absent and `insert` is true; nil when absent and not inserted.
    @inline(__always)
    mutating func intern(_ key: UnsafeRawBufferPointer, insert: Bool = true) -> (id: Int32, inserted: Bool)? {
        let hash = Self.hash(key)
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = slots[slot]
            if entry == 0 { break }
            let id = Int(entry) - 1
            if hashes[id] == hash, equals(id, key) { return (Int32(id), false) }
            slot = (slot + 1) & mask
        }
        guard insert else { return nil }
        let id = hashes.count
        hashes.append(hash)
        if let base = key.baseAddress, key.count > 0 {
            arena.append(contentsOf: UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: key.count))
        }
        starts.append(arena.count)
        slots[slot] = Int32(id + 1)
        if hashes.count * 2 > slots.count { grow() }
        return (Int32(id), true)
    }

    @inline(__always)
    mutating func intern(_ key: LineBytes, insert: Bool = true) -> (id: Int32, inserted: Bool)? {
        intern(UnsafeRawBufferPointer(key), insert: insert)
    }

    /// The id of `key` when present.
    func find(_ key: UnsafeRawBufferPointer) -> Int32? {
        let hash = Self.hash(key)
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = slots[slot]
            if entry == 0 { return nil }
            let id = Int(entry) - 1
            if hashes[id] == hash, equals(id, key) { return Int32(id) }
            slot = (slot + 1) & mask
        }
    }

    /// Calls `body` with the bytes of key `id`.
    func withKey<Result>(_ id: Int32, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let start = starts[Int(id)], end = starts[Int(id) + 1]
        return try arena.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
    }

    /// Key `id` as a String.
    func string(_ id: Int32) -> String {
        withKey(id) { String(decoding: $0, as: UTF8.self) }
    }

    @inline(__always)
    private func equals(_ id: Int, _ key: UnsafeRawBufferPointer) -> Bool {
        let start = starts[id], end = starts[id + 1]
        guard end - start == key.count else { return false }
        guard key.count > 0 else { return true }
        return arena.withUnsafeBufferPointer { memcmp($0.baseAddress! + start, key.baseAddress!, key.count) == 0 }
    }

    private mutating func grow() {
        let size = slots.count * 2
        var grown = [Int32](repeating: 0, count: size)
        let newMask = size - 1
        for (id, hash) in hashes.enumerated() {
            var slot = Int(truncatingIfNeeded: hash) & newMask
            while grown[slot] != 0 { slot = (slot + 1) & newMask }
            grown[slot] = Int32(id + 1)
        }
        slots = grown
        mask = newMask
    }

    /// A fast 64-bit hash of the bytes, eight at a time (keys are names and id arrays, mostly under 200 bytes).
    @inline(__always)
    static func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(key.count)
        guard let base = key.baseAddress else { return hash }
        var offset = 0
        while offset + 8 <= key.count {
            let word = base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            hash = (hash ^ word) &* multiplier
            hash ^= hash >> 29
            offset += 8
        }
        if offset < key.count {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while offset < key.count {
                tail |= UInt64(base.load(fromByteOffset: offset, as: UInt8.self)) << shift
                shift += 8
                offset += 1
            }
            hash = (hash ^ tail) &* multiplier
        }
        hash ^= hash >> 32
        hash &*= multiplier
        hash ^= hash >> 29
        return hash
    }
}
