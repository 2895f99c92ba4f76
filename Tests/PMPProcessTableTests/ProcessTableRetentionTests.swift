import Synchronization
import PMPTestSupport
import Testing
@testable import PMP
@testable import PMPProcessTable

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let current = Mutex(WallTime(nanosecondsSinceEpoch: 1_800_000_000_000_000_000))

    var now: WallTime { current.withLock { $0 } }

    func advance(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        current.withLock { $0.nanosecondsSinceEpoch += seconds * 1_000_000_000 + attoseconds / 1_000_000_000 }
    }
}

@Suite("process table: finished entries by count and age")
struct ProcessTableRetentionTests {
    private func table(limit: Int, maxAge: Duration, clock: ManualClock) -> ProcessTable {
        ProcessTable(historyLimit: 8, finishedLimit: limit, finishedMaxAge: maxAge, forbidsCancel: false,
                     clock: { clock.now })
    }

    @Test("finished entries older than the age limit are dropped, at the next finish or listing")
    func age() {
        let clock = ManualClock()
        let table = table(limit: 100, maxAge: .seconds(60), clock: clock)
        let old = table.register()
        old.finish()
        clock.advance(.seconds(30))
        let newer = table.register()
        newer.finish()
        #expect(table.processes(includingFinished: true).map(\.id) == [old.id, newer.id])
        clock.advance(.seconds(31))
        #expect(table.processes(includingFinished: true).map(\.id) == [newer.id], "61 s old: dropped")
        #expect(table.history(id: old.id) == nil)
        clock.advance(.seconds(30))
        let latest = table.register()
        latest.finish()
        #expect(table.processes(includingFinished: true).map(\.id) == [latest.id])
    }

    @Test("a busy table keeps its last entries and, thinned out, the ones before them back to the age limit")
    func busy() {
        let clock = ManualClock()
        // One entry a second for 10 minutes, keeping 20 and 5 minutes.
        let table = table(limit: 20, maxAge: .seconds(300), clock: clock)
        var ids: [String] = []
        for _ in 0..<600 {
            let process = table.register()
            ids.append(process.id)
            process.finish()
            clock.advance(.seconds(1))
        }
        let kept = table.processes(includingFinished: true).map(\.id)
        #expect(kept.count <= 40, "at most twice finishedLimit")
        #expect(Array(kept.suffix(20)) == Array(ids.suffix(20)), "the most recent ones, all of them")
        let positions = kept.dropLast(20).map { id in ids.firstIndex(of: id)! }
        // One per 15 s (300 s / 20) of the 280 s before the last 20.
        #expect((17...20).contains(positions.count), "\(positions)")
        #expect(zip(positions, positions.dropFirst()).allSatisfy { $1 - $0 == 15 }, "evenly spread: \(positions)")
        let oldestAge = 600 - (positions.first ?? 600)
        #expect((270...300).contains(oldestAge), "reaching back to the age limit, not past it: \(oldestAge) s")
    }

    @Test("no finished entry is kept with a limit of 0, whatever the age")
    func none() {
        let clock = ManualClock()
        let table = table(limit: 0, maxAge: .seconds(300), clock: clock)
        for _ in 0..<3 { table.register().finish() }
        #expect(table.processes(includingFinished: true).isEmpty)
    }
}

@Suite("process table: work in the caller's task")
struct ProcessTableCurrentTaskTests {
    @Test("runInCurrentTask binds ProcessHandle.current, and a cancel cancels the calling task's awaits")
    func cancelCurrentTask() async throws {
        let table = ProcessTable()
        let arrivals = Arrivals()
        let caller = Task {
            try await table.runInCurrentTask(attributes: ["job": "sleep"]) { process in
                #expect(ProcessHandle.current === process)
                try ProcessHandle.current?.setStatus("sleeping")
                arrivals.arrive(process.id)
                try await Task.sleep(for: .seconds(600))
            }
        }
        var iterator = arrivals.stream.makeAsyncIterator()
        let id = try #require(await iterator.next())
        #expect(table.cancel(id: id, message: "enough") == .cancelled)
        await #expect(throws: CancellationError.self) { try await caller.value }
        #expect(table.process(id: id)?.status == "cancelled")
        #expect(table.process(id: id)?.cancelMessage == "enough")
        #expect(ProcessHandle.current == nil, "unbound outside the work")
    }

    @Test("after the work returned, a cancel no longer reaches the task that ran it")
    func detached() async throws {
        let table = ProcessTable()
        let process = table.register()
        try await process.withCurrentTask { try process.setStatus("working") }
        #expect(table.cancel(id: process.id) == .cancelled, "still in flight: marked cancel-pending")
        #expect(!Task.isCancelled, "but this task, done with the work, is not cancelled")
        process.finish(httpStatus: 200)
        #expect(table.process(id: process.id)?.status == "cancelled", "a cancel reached it before it ended")
    }

    @Test("finish(httpStatus:) records the status code and how the request ended")
    func httpStatus() {
        let table = ProcessTable()
        let ok = table.register()
        ok.finish(httpStatus: 200)
        let failed = table.register()
        failed.finish(httpStatus: 500, error: TestFailure("boom"))
        #expect(table.process(id: ok.id)?.attributes["http-status"] == 200)
        #expect(table.process(id: ok.id)?.status == "ended")
        #expect(table.process(id: failed.id)?.attributes["http-status"] == 500)
        #expect(table.process(id: failed.id)?.status == "failed: boom")
    }

    @Test("run binds ProcessHandle.current for its body")
    func runBinds() async throws {
        let table = ProcessTable()
        let same = try await table.run { process in ProcessHandle.current === process }
        #expect(same)
    }
}
