#if canImport(Glibc)
import Glibc
#endif

/// Tells, with a few system calls, whether any thread beyond a watched few used CPU over an interval.
///
/// The process's CPU clock is the sum of its threads' clocks. Over one interval, if it moved no more than the
/// watched threads' clocks did (plus a little slack), then every other thread moved by at most that slack:
/// they were idle, and need not be read one by one.
struct ProcessCPUWatch {
    private var processBase: UInt64 = 0
    private var bases: [Int32: UInt64] = [:]
    private var readings: [Int32: UInt64] = [:]
    private var started = false
    private let alwaysWatched: [Int32]

    /// Slack for the whole of the unwatched threads, plus some per watched thread: a signalled thread finishes
    /// its handler's return path after its clock was read.
    static let slack: UInt64 = 100_000
    static let slackPerWatched: UInt64 = 20_000

    /// The sampler and the capture thread run in every interval: they are always watched.
    init(ownTid: Int32, captureTid: Int32) {
        alwaysWatched = [ownTid, captureTid].filter { $0 > 0 }
    }

    /// Ends the interval begun by `startInterval`: reads the process clock and the watched threads' clocks and
    /// says whether the unwatched threads were idle over it. False before the first interval.
    mutating func othersWereIdle() -> Bool {
        guard started else { return false }
        let process = Self.processClock()
        var watchedProgress: UInt64 = 0
        readings.removeAll(keepingCapacity: true)
        for (tid, base) in bases {
            guard let now = ThreadStat.cpuClockNanoseconds(tid: tid) else { continue }
            readings[tid] = now
            watchedProgress &+= now >= base ? now - base : 0
        }
        guard process >= processBase else { return false }
        let allowed = watchedProgress + Self.slack + Self.slackPerWatched * UInt64(bases.count)
        return process - processBase <= allowed
    }

    func isWatched(_ tid: Int32) -> Bool { bases[tid] != nil }

    /// The clock read for `tid` in the last `othersWereIdle` or `startInterval`, if it was watched.
    func reading(of tid: Int32) -> UInt64? { readings[tid] }

    /// Begins an interval watching `tids` (and the sampler and capture threads): the process clock first, then
    /// theirs, in the order `othersWereIdle` reads them.
    mutating func startInterval(watching tids: [Int32]) {
        processBase = Self.processClock()
        bases.removeAll(keepingCapacity: true)
        readings.removeAll(keepingCapacity: true)
        for tid in alwaysWatched + tids {
            guard let now = ThreadStat.cpuClockNanoseconds(tid: tid) else { continue }
            bases[tid] = now
            readings[tid] = now
        }
        started = true
    }

    static func processClock() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
