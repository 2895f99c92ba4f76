import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPTestSupport
import Testing

@Suite("process table: manual handles, bounds") struct ProcessHandleTests {
    @Test("register, report, finish: the manual API records the same as run")
    func manualLifecycle() throws {
        let table = ProcessTable()
        let process = table.register(attributes: ["job": "reindex"])
        #expect(table.processes().map(\.id) == [process.id])
        try process.setStatus("scanning")
        process.setAttribute("rows", 1200)
        process.setAttribute("job", nil)
        #expect(table.process(id: process.id)?.attributes == ["rows": 1200])
        process.finish()
        process.finish(throwing: TestFailure("too late"))
        try process.setStatus("ignored after finish")
        #expect(table.processes().isEmpty)
        #expect(table.history(id: process.id)?.changes.map(\.status) == ["init", "scanning", "ended"],
                "the first final status stays; updates after it are ignored")
    }

    @Test("finish(throwing:) tells failures from cancellations")
    func finishThrowing() {
        let table = ProcessTable()
        let failing = table.register()
        failing.finish(throwing: TestFailure("no space left"))
        #expect(table.process(id: failing.id)?.status == "failed: no space left")

        let cancelledByError = table.register()
        cancelledByError.finish(throwing: CancellationError())
        #expect(table.process(id: cancelledByError.id)?.status == "cancelled")

        // Work that was asked to stop and then failed in its own way was cancelled.
        let cancelledByRequest = table.register()
        #expect(table.cancel(id: cancelledByRequest.id) == .cancelled)
        cancelledByRequest.finish(throwing: TestFailure("connection closed"))
        #expect(table.process(id: cancelledByRequest.id)?.status == "cancelled")
    }

    @Test("the cancel handler runs on cancel, or at once when the cancel came first")
    func cancelHandler() throws {
        let table = ProcessTable()
        let calls = Observed(0)
        let early = table.register()
        early.onCancel { calls.update { $0 += 1 } }
        #expect(calls.value == 0)
        #expect(table.cancel(id: early.id, message: "bye") == .cancelled)
        #expect(calls.value == 1)
        #expect(throws: CancellationError.self) { try early.checkCancellation() }
        #expect(throws: CancellationError.self) { try early.setStatus("next") }
        early.finish(throwing: CancellationError())

        let late = table.register()
        #expect(table.cancel(id: late.id) == .cancelled)
        late.onCancel { calls.update { $0 += 10 } }
        #expect(calls.value == 11)
        late.finish()
        #expect(table.process(id: late.id)?.status == "ended", "work that returned anyway ended")
    }

    @Test("a handle released without finish ends its entry instead of leaking it")
    func releasedHandle() {
        let table = ProcessTable()
        var id = ""
        do {
            let process = table.register()
            id = process.id
            #expect(table.processes().count == 1)
        }
        #expect(table.processes().isEmpty)
        #expect(table.process(id: id)?.status == "failed: handle released without finish()")
    }

    @Test("history keeps the first status and the most recent ones, and counts the dropped ones")
    func historyBound() throws {
        let table = ProcessTable(historyLimit: 5)
        let process = table.register()
        let before = WallTime.now()
        for step in 1...20 { try process.setStatus("s\(step)") }
        let history = try #require(table.history(id: process.id))
        #expect(history.changes.map(\.status) == ["init", "s17", "s18", "s19", "s20"])
        #expect(history.droppedCount == 16, "s1 … s16")
        let droppedTime = try #require(history.lastDroppedTime)
        #expect(before <= droppedTime && droppedTime <= history.changes[1].time)
        #expect(table.process(id: process.id)?.status == "s20")

        // The JSON shows the gap as a line of its own after the first.
        let json = try JSONSerialization.jsonObject(with: Data(try #require(table.historyJSON(id: process.id))))
        let lines = try #require((json as? [String: Any])?["history"] as? [[String: Any]])
        #expect(lines.map { $0["status"] as? String } == ["init", "[16 statuses dropped]", "s17", "s18", "s19", "s20"])
        #expect(lines[1]["ts"] as? String == droppedTime.rfc3339)

        // Finishing keeps the bound: the final status pushes out s17.
        process.finish()
        let final = try #require(table.history(id: process.id))
        #expect(final.changes.map(\.status) == ["init", "s18", "s19", "s20", "ended"])
        #expect(final.droppedCount == 17)
    }

    @Test("the smallest history keeps the first and the current status")
    func smallestHistory() throws {
        let table = ProcessTable(historyLimit: 2)
        let process = table.register()
        try process.setStatus("a")
        try process.setStatus("b")
        #expect(table.history(id: process.id)?.changes.map(\.status) == ["init", "b"])
        #expect(table.history(id: process.id)?.droppedCount == 1)
    }

    @Test("the most recent finished entries are kept, older ones thinned out; listings leave them out unless asked")
    func finishedBound() {
        let table = ProcessTable(finishedLimit: 3)
        let running = table.register(attributes: ["still": true])
        var ids: [String] = []
        for _ in 0..<5 {
            let process = table.register()
            ids.append(process.id)
            process.finish()
        }
        #expect(table.processes().map(\.id) == [running.id])
        // The last 3, and of the older ones the first pushed out: they finished within 100 s (300 s / 3) of it.
        #expect(table.processes(includingFinished: true).map(\.id) == [running.id, ids[0]] + ids.suffix(3),
                "oldest first, in registration order")
        #expect(table.history(id: ids[1]) == nil, "pushed out, too close in time to the one kept")
        #expect(table.history(id: ids[4])?.changes.map(\.status) == ["init", "ended"])

        let keepsNone = ProcessTable(finishedLimit: 0)
        let process = keepsNone.register()
        process.finish()
        #expect(keepsNone.processes(includingFinished: true).isEmpty)
        #expect(keepsNone.history(id: process.id) == nil)
        running.finish()
    }

    @Test("ids are short and differ between tables")
    func ids() {
        let first = ProcessTable()
        let a = first.register()
        let b = first.register()
        #expect(a.id != b.id)
        #expect(a.id.count <= 8)
        #expect(a.id.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" }, "safe in a URL path: \(a.id)")
        // Three random letters: two fresh tables share a prefix once in 17 576.
        let others = (0..<4).map { _ in ProcessTable().register().id.prefix(4) }
        #expect(others.contains { $0 != a.id.prefix(4) })
        a.finish()
        b.finish()
    }
}

@Suite("process table: bounded recent items") struct RecentItemsTests {
    @Test func ring() {
        var items = RecentItems<Int>(capacity: 3)
        #expect(items.append(1) == nil)
        #expect(items.append(2) == nil)
        #expect(items.append(3) == nil)
        #expect(items.items == [1, 2, 3])
        #expect(items.append(4) == 1)
        #expect(items.append(5) == 2)
        #expect(items.items == [3, 4, 5])
        #expect(items.last == 5)
        #expect(items.droppedCount == 2)
        #expect(items.count == 3)
        var none = RecentItems<Int>(capacity: 0)
        #expect(none.append(7) == 7)
        #expect(none.items.isEmpty)
        #expect(none.last == nil)
    }
}
