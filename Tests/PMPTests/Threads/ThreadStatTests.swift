import CPMPCapture
import Foundation
@testable import PMP
import PMPTestSupport
import Testing

/// /proc/self/task/TID/stat read and parsed: names with spaces and parentheses, state, CPU ticks.
@Suite("thread stat and the thread list") struct ThreadStatTests {
    private func parse(_ line: String, tid: Int32 = 7) -> ThreadStat? {
        Array(line.utf8).withUnsafeBufferPointer { ThreadStat.parse($0, tid: tid) }
    }

    @Test("a name holding spaces and parentheses is read to the last ')'; utime and stime are summed")
    func parsesHostileName() throws {
        let ticks = UInt64(sysconf(Int32(_SC_CLK_TCK)))
        let stat = try #require(parse("7 (a) b (c) S 1 7 7 0 -1 4194560 1 0 0 0 30 12 0 0 20 0 1 0 1 0 0"))
        #expect(stat.name == "a) b (c")
        #expect(stat.state == "S")
        #expect(stat.cpuNanoseconds == 42 * (1_000_000_000 / ticks))
        #expect(stat.tid == 7)
    }

    @Test("a truncated or parenthesis-less line is refused, not misread")
    func refusesGarbage() {
        #expect(parse("") == nil)
        #expect(parse("7 no parentheses S 1") == nil)
        #expect(parse("7 (name)") == nil)
        #expect(parse("7 )backwards( S 1") == nil)
    }

    @Test("a live thread reads as itself: its kernel name, asleep when parked, its CPU clock moving with work")
    func readsLiveThread() throws {
        let thread = TestThread { me in
            _ = pmp_set_thread_name("pmp-stat-test")
            me.ready()
            me.park()
        }
        thread.waitUntilReady()
        let stat = try #require(ThreadStat.read(tid: thread.tid))
        #expect(stat.name == "pmp-stat-test")
        #expect(stat.state == "S")
        #expect(try ThreadList.threadIDs().contains(thread.tid))
        #expect(try ThreadList.threadIDs().contains(ThreadList.currentThreadID()))

        let before = try #require(ThreadStat.cpuClockNanoseconds(tid: ThreadList.currentThreadID()))
        burstOfWork(milliseconds: 20)
        let after = try #require(ThreadStat.cpuClockNanoseconds(tid: ThreadList.currentThreadID()))
        #expect(after > before)

        thread.finish()
        thread.waitUntilFinished()
        for _ in 0..<2000 where ThreadStat.read(tid: thread.tid) != nil { usleep(5_000) }
        #expect(ThreadStat.read(tid: thread.tid) == nil, "gone once it exited")
        #expect(try !ThreadList.threadIDs().contains(thread.tid))
        #expect(ThreadStat.cpuClockNanoseconds(tid: thread.tid) == nil)
    }

    @Test("proc files: read whole up to the capacity, nil when missing")
    func procFile() throws {
        let status = try #require(ProcFile.string("/proc/self/status"))
        #expect(status.hasPrefix("Name:") && status.contains("\nPid:\t\(getpid())\n"))
        #expect(ProcFile.string("/proc/self/status", capacity: 5) == "Name:")
        #expect(ProcFile.string("/proc/self/task/0/stat") == nil)
        #expect(try ProcFile.withContentsIfPresent("/nonexistent/pmp", { $0.count }) == nil)
    }
}
