@testable import PMP
import PMPTestSupport
import Testing

/// The collector's fixed schedule on synthetic times (nanoseconds; ticks every 10).
@Suite("tick schedule") struct TickScheduleTests {
    @Test("captures that finish within their slot keep the schedule: tick n is due at start + n × interval")
    func onTime() {
        var schedule = TickSchedule(start: 1000, interval: 10, end: nil)
        var deadlines: [UInt64] = []
        for finished in [1003, 1012, 1029, 1030 - 1] as [UInt64] {
            let next = schedule.next(finishedAt: finished)
            #expect(next.skipped == 0)
            deadlines.append(next.deadline)
        }
        #expect(deadlines == [1010, 1020, 1030, 1040])
    }

    @Test("a capture that overruns skips the ticks it covered, counts them, and the next stays on the grid")
    func overrun() {
        var schedule = TickSchedule(start: 0, interval: 10, end: nil)
        // Finished at 35: ticks 1 (10), 2 (20) and 3 (30) have passed; the next is 4 (40).
        #expect(schedule.next(finishedAt: 35) == (deadline: 40, skipped: 3))
        // Exactly on a tick's time counts that tick as passed.
        #expect(schedule.next(finishedAt: 50) == (deadline: 60, skipped: 1))
        #expect(schedule.next(finishedAt: 51) == (deadline: 70, skipped: 0))
        #expect(schedule.tick == 7)
    }

    @Test("the last sleep is cut short to the end, however far the next tick is")
    func endClamp() {
        var schedule = TickSchedule(start: 0, interval: 100, end: 250)
        #expect(schedule.next(finishedAt: 5) == (deadline: 100, skipped: 0))
        #expect(schedule.next(finishedAt: 105) == (deadline: 200, skipped: 0))
        #expect(schedule.next(finishedAt: 205) == (deadline: 250, skipped: 0))
    }

    @Test("served plus missed ticks add up to the ticks of the span, whatever each capture costs")
    func everyTickAccountedFor() {
        for cost in [0, 3, 10, 17, 45, 99] as [UInt64] {
            var schedule = TickSchedule(start: 0, interval: 10, end: 1000)
            var now: UInt64 = 0
            var served = 0
            var missed = 0
            while now < 1000 {
                served += 1
                now += cost
                let next = schedule.next(finishedAt: now)
                missed += next.skipped
                now = max(now, next.deadline)
            }
            #expect(served + missed == 100, "capture cost \(cost): served \(served), missed \(missed)")
        }
    }
}

extension TickScheduleTests {
    @Test("a last capture that overruns the end counts only the ticks before the end as missed")
    func overrunPastTheEnd() {
        var schedule = TickSchedule(start: 0, interval: 10, end: 100)
        #expect(schedule.next(finishedAt: 85) == (deadline: 90, skipped: 8))
        // Served at 90, finished at 140: of the ticks passed (100, 110, 120, 130, 140) none was due before the end.
        #expect(schedule.next(finishedAt: 140) == (deadline: 100, skipped: 0))
    }
}
