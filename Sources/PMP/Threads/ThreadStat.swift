#if canImport(Glibc)
import Glibc
#endif
import PMPSupport

/// What the kernel says of one thread: /proc/self/task/TID/stat, and its CPU clock.
public struct ThreadStat: Sendable, Equatable {
    public var tid: Int32
    /// `comm`: the kernel's 15-character thread name.
    public var name: String
    /// The one-letter kernel state: R running, S sleeping, D disk sleep, T stopped, Z zombie, …
    public var state: Character
    /// User plus system CPU time, in nanoseconds.
    public var cpuNanoseconds: UInt64

    /// Reads the thread's stat file; nil when the thread is gone.
    public static func read(tid: Int32) -> ThreadStat? {
        (try? readIfPresent(tid: tid)) ?? nil
    }

    /// Reads the thread's stat file; nil when the thread is gone, thrown when the file is there but cannot be
    /// read (out of file descriptors, say).
    public static func readIfPresent(tid: Int32) throws(ProcReadError) -> ThreadStat? {
        let parsed = try ProcFile.withContentsIfPresent("/proc/self/task/\(tid)/stat", capacity: 1024) { bytes -> ThreadStat? in
            parse(bytes, tid: tid)
        }
        guard var stat = parsed ?? nil else { return nil }
        if let precise = cpuClockNanoseconds(tid: tid) { stat.cpuNanoseconds = precise }
        return stat
    }

    /// Parses `pid (comm) S ppid … utime stime …`; comm may itself hold spaces and parentheses.
    package static func parse(_ bytes: UnsafeBufferPointer<UInt8>, tid: Int32) -> ThreadStat? {
        guard let open = bytes.firstIndex(of: UInt8(ascii: "(")),
              let close = bytes.lastIndex(of: UInt8(ascii: ")")), close > open, close + 2 < bytes.count
        else { return nil }
        let name = String(decoding: UnsafeBufferPointer(rebasing: bytes[(open + 1)..<close]), as: UTF8.self)
        let state = Character(Unicode.Scalar(bytes[close + 2]))
        // Fields after the state, space separated: ppid(4) … utime(14) stime(15).
        var field = 3
        var index = close + 2
        var utime: UInt64 = 0
        var stime: UInt64 = 0
        while index < bytes.count, field < 15 {
            if bytes[index] == UInt8(ascii: " ") {
                field += 1
                index += 1
                if field == 14 || field == 15 {
                    var value: UInt64 = 0
                    while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                        value = value &* 10 &+ UInt64(bytes[index] - 48)
                        index += 1
                    }
                    if field == 14 { utime = value } else { stime = value }
                }
                continue
            }
            index += 1
        }
        return ThreadStat(tid: tid, name: name, state: state, cpuNanoseconds: (utime + stime) * nanosecondsPerTick)
    }

    private static let nanosecondsPerTick = 1_000_000_000 / UInt64(max(1, sysconf(Int32(_SC_CLK_TCK))))

    /// The thread's CPU clock, to the nanosecond: one system call, no file.
    public static func cpuClockNanoseconds(tid: Int32) -> UInt64? {
        // The kernel's per-thread CPU clock id: MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED).
        let clock = clockid_t(truncatingIfNeeded: (Int(~tid) << 3) | 4 | 2)
        var time = timespec()
        guard clock_gettime(clock, &time) == 0 else { return nil }
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// Whether `signal` is blocked by thread `tid` (SigBlk in /proc/self/task/TID/status); nil when gone.
    public static func blocksSignal(tid: Int32, signal: Int32) -> Bool? {
        guard let status = ProcFile.string("/proc/self/task/\(tid)/status", capacity: 8192) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("SigBlk:") {
            let hex = line.dropFirst("SigBlk:".count).trimmingCharacters(in: " \t")
            guard let mask = UInt64(hex, radix: 16) else { return nil }
            return mask & (UInt64(1) << UInt64(signal - 1)) != 0
        }
        return nil
    }
}
