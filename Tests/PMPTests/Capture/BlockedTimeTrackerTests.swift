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

    @Test("what a thread's walk cost it, however much, is not progress; work of its own still is")
    func walkCostIsNotProgress() {
        var tracker = BlockedTimeTracker()
        #expect(tracker.observe(tid: 7, cpu: 1_000_000, now: 0) == nil)
        // A first walk through uncached unwind rules: far more than the slack.
        let walk = 10 * BlockedTimeTracker.slack
        tracker.answered(tid: 7, walkCost: walk)
        #expect(tracker.observe(tid: 7, cpu: 1_000_000 + walk + 30_000, now: 1_000_000_000) == 1)
        // Work beside the walk: progress, whatever the walk cost.
        tracker.answered(tid: 7, walkCost: walk)
        #expect(tracker.observe(tid: 7, cpu: 1_000_000 + 2 * walk + 30_000 + 2 * BlockedTimeTracker.slack,
                                now: 2_000_000_000) == nil)
        // An answer from a thread never observed changes nothing.
        tracker.answered(tid: 8, walkCost: 5)
        #expect(tracker.observe(tid: 8, cpu: 5_000_000, now: 1_000_000_000) == nil)
    }
}
