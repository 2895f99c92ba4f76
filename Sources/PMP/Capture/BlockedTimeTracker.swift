/// Remembers, per thread, since when its CPU time has not moved. A thread whose CPU clock reads the same in two
/// observations has been blocked at least since the first of them.
struct BlockedTimeTracker {
    private struct Entry {
        var cpu: UInt64
        var since: UInt64  // monotonic ns of the first observation at this cpu value
    }

    private var entries: [Int32: Entry] = [:]

    /// Records an observation and returns the seconds the thread has been without CPU progress, if known.
    mutating func observe(tid: Int32, cpu: UInt64, now: UInt64) -> Double? {
        if let entry = entries[tid], entry.cpu == cpu {
            return Double(now &- entry.since) / 1e9
        }
        entries[tid] = Entry(cpu: cpu, since: now)
        return nil
    }

    /// After a capture the handler itself used some CPU in each thread: move the baseline without restarting
    /// the blocked interval.
    mutating func rebaseline(tid: Int32, cpuBefore: UInt64, cpuAfter: UInt64) {
        guard var entry = entries[tid], entry.cpu == cpuBefore else { return }
        entry.cpu = cpuAfter
        entries[tid] = entry
    }

    /// Drops threads that no longer exist.
    mutating func retain(only live: Set<Int32>) {
        if entries.count > live.count * 2 + 64 || entries.keys.contains(where: { !live.contains($0) }) {
            entries = entries.filter { live.contains($0.key) }
        }
    }
}
