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
    /// When the thread last ran, in milliseconds of the scheduler's clock (`se.exec_start`); nil when unknown.
    var lastRanMilliseconds: Double?
    /// The kernel function a sleeping thread waits in (`wchan`), when the kernel says.
    var kernelWait: String?

    /// The thread's context switches and CPU time (schedstat: "run-ns wait-ns timeslices"): whether it ran.
    static func progress(pid: Int32, tid: Int32) -> (switches: UInt64, cpuNanoseconds: UInt64)? {
        guard let text = ProcFile.string("/proc/\(pid)/task/\(tid)/schedstat", capacity: 128) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count >= 3, let run = UInt64(fields[0]),
              let slices = UInt64(fields[2].filter { $0.isNumber }) else { return nil }
        return (slices, run)
    }

    /// Reads the thread's facts; nil when it is gone.
    static func read(pid: Int32, tid: Int32) -> ThreadFacts? {
        let base = "/proc/\(pid)/task/\(tid)/"
        guard let stat = ProcFile.withContents(base + "stat", capacity: 1024, { ThreadStat.parse($0, tid: tid) }) ?? nil
        else { return nil }
        var facts = ThreadFacts(tid: tid, name: stat.name, state: stat.state, cpuNanoseconds: stat.cpuNanoseconds)
        // Each file is a few system calls, a thousand threads a few thousand: only what the dump shows.
        if stat.state != "R" { facts.lastRanMilliseconds = lastRan(base + "sched") }
        if stat.state == "D", let wchan = ProcFile.string(base + "wchan", capacity: 128), !wchan.isEmpty, wchan != "0" {
            facts.kernelWait = wchan
        }
        return facts
    }

    /// The scheduler's clock now, in milliseconds: when this thread, which is running, was last put on a CPU.
    /// (It is not CLOCK_MONOTONIC: on a virtual machine the two drift apart by seconds.)
    static func schedulerNowMilliseconds() -> Double? {
        lastRan("/proc/thread-self/sched")
    }

    /// `se.exec_start : 757243.912345` of /proc/…/sched, found in the bytes (the file is a few kB of text).
    private static func lastRan(_ path: String) -> Double? {
        ProcFile.withContents(path, capacity: 8192) { bytes -> Double? in
            let key = Array("se.exec_start".utf8)
            guard bytes.count > key.count else { return nil }
            var index = 0
            while index + key.count < bytes.count {
                if bytes[index] == key[0], (0..<key.count).allSatisfy({ bytes[index + $0] == key[$0] }) {
                    var cursor = index + key.count
                    while cursor < bytes.count, bytes[cursor] == 32 || bytes[cursor] == 58 { cursor += 1 }
                    var end = cursor
                    while end < bytes.count, bytes[end] != 10 { end += 1 }
                    return Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[cursor..<end]), as: UTF8.self))
                }
                // Keys start lines: skip to the next one.
                while index < bytes.count, bytes[index] != 10 { index += 1 }
                index += 1
            }
            return nil
        } ?? nil
    }

    /// Seconds since the thread last ran, against the scheduler's clock now (`schedulerNowMilliseconds`).
    func blockedSeconds(nowMilliseconds: Double) -> Double? {
        guard let lastRanMilliseconds, lastRanMilliseconds > 0 else { return nil }
        return max(0, (nowMilliseconds - lastRanMilliseconds) / 1000)
    }
}
