/// Remembers, per thread, since when its CPU time has not moved. A thread whose CPU clock reads (nearly) the
/// same in two observations has been blocked at least since the first of them. Answering a capture signal costs
/// the thread CPU too (a first walk through code whose unwind rules are not cached yet, a few hundred
/// microseconds), which must not count as progress: what its walk cost, as the handler measured it, is added to
/// the thread's last observed CPU, and "nearly" covers the little that signal delivery and the return to its
/// wait cost. Work the thread did before the signal arrived still counts.
struct BlockedTimeTracker {
    private struct Entry {
        var cpu: UInt64
        var since: UInt64  // monotonic ns of the first observation without progress
    }

    /// CPU nanoseconds between two observations that still count as no progress.
    static let slack: UInt64 = 200_000

    private var entries: [Int32: Entry] = [:]

    /// Records an observation and returns the seconds the thread has been without CPU progress, if known.
    mutating func observe(tid: Int32, cpu: UInt64, now: UInt64) -> Double? {
        if var entry = entries[tid], cpu >= entry.cpu, cpu - entry.cpu <= Self.slack {
            entry.cpu = cpu
            entries[tid] = entry
            return Double(now &- entry.since) / 1e9
        }
        entries[tid] = Entry(cpu: cpu, since: now)
        return nil
    }

    /// A thread answered a capture, and its walk cost it `walkCost` CPU nanoseconds: not progress.
    mutating func answered(tid: Int32, walkCost: UInt64) {
        guard var entry = entries[tid] else { return }
        entry.cpu &+= walkCost
        entries[tid] = entry
    }

    /// Drops threads that no longer exist.
    mutating func retain(only live: Set<Int32>) {
        if entries.keys.contains(where: { !live.contains($0) }) {
            entries = entries.filter { live.contains($0.key) }
        }
    }
}
