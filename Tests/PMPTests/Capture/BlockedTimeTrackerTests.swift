@testable import PMP
import Testing

@Suite("blocked time tracker") struct BlockedTimeTrackerTests {
    @Test("CPU within the slack is no progress; more is, and starts the count again")
    func slack() {
        var tracker = BlockedTimeTracker()
        #expect(tracker.observe(tid: 7, cpu: 1_000_000, now: 0) == nil)
        #expect(tracker.observe(tid: 7, cpu: 1_000_000 + BlockedTimeTracker.slack, now: 2_000_000_000) == 2)
        #expect(tracker.observe(tid: 7, cpu: 5_000_000, now: 3_000_000_000) == nil)
        #expect(tracker.observe(tid: 7, cpu: 5_000_000, now: 4_000_000_000) == 1)
    }

    @Test("what a thread spent answering a capture, however much, is not progress")
    func answeringIsNotProgress() {
        var tracker = BlockedTimeTracker()
        #expect(tracker.observe(tid: 7, cpu: 1_000_000, now: 0) == nil)
        // A first walk through uncached unwind rules: far more than the slack.
        tracker.answered(tid: 7, cpuAtStack: 1_000_000 + 10 * BlockedTimeTracker.slack)
        #expect(tracker.observe(tid: 7, cpu: 1_000_000 + 10 * BlockedTimeTracker.slack + 30_000, now: 1_000_000_000) == 1)
        // An answer for a thread never observed, or a clock that went back, changes nothing.
        tracker.answered(tid: 8, cpuAtStack: 5)
        #expect(tracker.observe(tid: 8, cpu: 5_000_000, now: 1_000_000_000) == nil)
        tracker.answered(tid: 7, cpuAtStack: 1)
        #expect(tracker.observe(tid: 7, cpu: 1_000_000 + 10 * BlockedTimeTracker.slack + 30_000, now: 2_000_000_000) == 2)
    }
}
