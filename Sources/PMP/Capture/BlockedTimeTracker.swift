/// Remembers, per thread, since when its CPU time has not moved. A thread whose CPU clock reads (nearly) the
/// same in two observations has been blocked at least since the first of them. Answering a capture signal costs
/// the thread CPU too (a first walk through code whose unwind rules are not cached yet, a few hundred
/// microseconds), which must not count as progress: the clock its handler read after the walk is taken as the
/// thread's last known CPU, and "nearly" covers the little it spends returning to its wait.
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

    /// A thread answered a capture: its CPU clock as its handler read it after the walk replaces the last
    /// observation's, since what it spent in between was ours.
    mutating func answered(tid: Int32, cpuAtStack: UInt64) {
        guard var entry = entries[tid], cpuAtStack >= entry.cpu else { return }
        entry.cpu = cpuAtStack
        entries[tid] = entry
    }

    /// Drops threads that no longer exist.
    mutating func retain(only live: Set<Int32>) {
        if entries.keys.contains(where: { !live.contains($0) }) {
            entries = entries.filter { live.contains($0.key) }
        }
    }
}
