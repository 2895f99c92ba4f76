#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Heap filled with junk for the task search to wade through: resident pages of words that look like nothing,
/// with copies of the task class pointer (the word the search looks for) sprinkled in, each followed by
/// garbage, so that only a decoder that checks every candidate tells them from tasks.
enum HeapJunk {
    /// Kept for the life of the process.
    nonisolated(unsafe) private static var blocks: [UnsafeMutableRawPointer] = []

    static func fill(megabytes: Int, isaCopiesPerMegabyte: Int) {
        let isa = taskClassPointer()
        var random = SplitMix(seed: 0x5eed)
        let block = 1 << 20
        for _ in 0..<megabytes {
            guard let memory = malloc(block) else { break }
            let words = memory.bindMemory(to: UInt64.self, capacity: block / 8)
            for index in 0..<block / 8 { words[index] = random.next() }
            // At 16-byte aligned slots, spread over the block.
            let copies = max(0, min(isaCopiesPerMegabyte, block / 16))
            for copy in 0..<copies {
                let slot = (copy * (block / 16) / max(1, copies)) * 2
                words[slot] = isa
            }
            blocks.append(memory)
        }
    }

    /// The first word of a task object: its class (what `_swift_concurrency_debug_asyncTaskMetadata` names).
    private static func taskClassPointer() -> UInt64 {
        let found = Atomic<UInt64>(0)
        let done = Atomic<Bool>(false)
        Task.detached {
            withUnsafeCurrentTask { task in
                if let task, let object = UnsafeRawPointer(bitPattern: unsafeBitCast(task, to: Int.self)) {
                    found.store(object.load(as: UInt64.self), ordering: .relaxed)
                }
            }
            done.store(true, ordering: .releasing)
        }
        while !done.load(ordering: .acquiring) { usleep(1000) }
        return found.load(ordering: .relaxed)
    }
}

/// A small, fast pseudo-random generator (SplitMix64): the same junk on every run.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
