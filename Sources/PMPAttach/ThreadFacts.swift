#if canImport(Glibc)
import Glibc
#endif
import PMP

/// What the kernel says of a thread without stopping it, read before it is interrupted: an interrupt wakes a
/// sleeping thread and so resets its scheduling data.
struct ThreadFacts: Sendable {
    var tid: Int32
    var name: String
    var state: Character
    var cpuNanoseconds: UInt64
    /// Context switches so far (voluntary and not), from schedstat; nil when unreadable.
    var switches: UInt64?
    /// When the thread last ran, in milliseconds of the scheduler's clock (`se.exec_start`); nil when unknown.
    var lastRanMilliseconds: Double?
    /// The kernel function a sleeping thread waits in (`wchan`), when the kernel says.
    var kernelWait: String?

    /// Reads the thread's facts; nil when it is gone.
    static func read(pid: Int32, tid: Int32) -> ThreadFacts? {
        let base = "/proc/\(pid)/task/\(tid)/"
        guard let stat = ProcFile.withContents(base + "stat", capacity: 1024, { ThreadStat.parse($0, tid: tid) }) ?? nil
        else { return nil }
        var facts = ThreadFacts(tid: tid, name: stat.name, state: stat.state, cpuNanoseconds: stat.cpuNanoseconds)
        if let schedstat = ProcFile.string(base + "schedstat", capacity: 128) {
            // "run-ns wait-ns timeslices": the third counts the times the thread was put on a CPU.
            let fields = schedstat.split(separator: " ")
            if fields.count >= 3 {
                facts.switches = UInt64(fields[2].filter { $0.isNumber })
                if let run = UInt64(fields[0]) { facts.cpuNanoseconds = max(facts.cpuNanoseconds, run) }
            }
        }
        if stat.state != "R" {
            facts.lastRanMilliseconds = lastRan(base + "sched")
            if let wchan = ProcFile.string(base + "wchan", capacity: 128), !wchan.isEmpty, wchan != "0" {
                facts.kernelWait = wchan
            }
        }
        return facts
    }

    /// The scheduler's clock now, in milliseconds: when this thread, which is running, was last put on a CPU.
    /// (It is not CLOCK_MONOTONIC: on a virtual machine the two drift apart by seconds.)
    static func schedulerNowMilliseconds() -> Double? {
        lastRan("/proc/thread-self/sched")
    }

    /// `se.exec_start : 757243.912345` of /proc/…/sched.
    private static func lastRan(_ path: String) -> Double? {
        guard let text = ProcFile.string(path, capacity: 8192) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("se.exec_start") {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return Double(line[line.index(after: colon)...].filter { !$0.isWhitespace })
        }
        return nil
    }

    /// Seconds since the thread last ran, against the scheduler's clock now (`schedulerNowMilliseconds`).
    func blockedSeconds(nowMilliseconds: Double) -> Double? {
        guard let lastRanMilliseconds, lastRanMilliseconds > 0 else { return nil }
        return max(0, (nowMilliseconds - lastRanMilliseconds) / 1000)
    }
}
