import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPTestSupport
import Testing

@Suite("process table: run, cancel, final statuses") struct ProcessTableRunTests {
    @Test("a body that returns ends as `ended`, with its steps in the history, and leaves the in-flight list")
    func ended() async throws {
        let table = ProcessTable()
        let arrivals = Arrivals()
        let gate = Gate()
        let runner = Task {
            try await table.run(attributes: ["method": "GET", "uri": "/work"]) { process in
                try process.setStatus("reading")
                arrivals.arrive(process.id)
                await gate.wait()
                try process.setStatus("rendering")
                return 42
            }
        }
        var iterator = arrivals.stream.makeAsyncIterator()
        let id = try #require(await iterator.next())

        let inFlight = table.processes()
        #expect(inFlight.map(\.id) == [id])
        #expect(inFlight.first?.status == "reading")
        #expect(inFlight.first?.attributes == ["method": "GET", "uri": "/work"])
        #expect(inFlight.first?.isFinished == false)

        gate.open()
        #expect(try await runner.value == 42)
        #expect(table.processes().isEmpty)
        let finished = try #require(table.process(id: id))
        #expect(finished.status == "ended")
        #expect(finished.isFinished)
        let history = try #require(table.history(id: id))
        #expect(history.changes.map(\.status) == ["init", "reading", "rendering", "ended"])
        #expect(history.droppedCount == 0)
        #expect(zip(history.changes, history.changes.dropFirst()).allSatisfy { $0.time <= $1.time })
        #expect(finished.startTime == history.changes.first?.time)
        #expect(finished.statusTime == history.changes.last?.time)
    }

    @Test("cancel of a long-running body: its next setStatus throws CancellationError, it ends `cancelled`")
    func cancelThrowsAtNextStatus() async throws {
        let table = ProcessTable()
        let arrivals = Arrivals()
        let thrownBySetStatus = Observed<(any Error)?>(nil)
        let statusesSet = Observed(0)
        let runner = Task {
            try await table.run(attributes: ["uri": "/slow"]) { process in
                arrivals.arrive(process.id)
                // No await in here: only setStatus can notice the cancel. Bounded, so a failure cannot hang.
                for step in 1...30_000 {
                    do {
                        try process.setStatus("step \(step)")
                    } catch {
                        thrownBySetStatus.value = error
                        throw error
                    }
                    statusesSet.value = step
                    await pauseIgnoringCancellation()
                }
                return "never cancelled"
            }
        }
        var iterator = arrivals.stream.makeAsyncIterator()
        let id = try #require(await iterator.next())
        try await waitUntil { statusesSet.value >= 3 }

        #expect(table.cancel(id: id, message: "too slow") == .cancelled)
        let result = await runner.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(thrownBySetStatus.value is CancellationError)

        #expect(table.processes().isEmpty, "the entry left the in-flight list")
        let record = try #require(table.processes(includingFinished: true).first { $0.id == id })
        #expect(record.status == "cancelled")
        #expect(record.isCancelRequested)
        #expect(record.cancelMessage == "too slow")
        #expect(!record.isCancelling, "finished entries are no longer cancelling")
        let statuses = try #require(table.history(id: id)).changes.map(\.status)
        let requestIndex = try #require(statuses.firstIndex(of: "[cancel request: too slow]"))
        // The step that noticed the cancel is recorded, then the final status.
        #expect(statuses[(requestIndex + 1)...].count == 2)
        #expect(statuses[requestIndex + 1].hasPrefix("step "))
        #expect(statuses.last == "cancelled")
        #expect(table.cancel(id: id) == .notFound, "a finished entry cannot be cancelled")
    }

    @Test("cancel cancels the body's task: a long sleep ends at once")
    func cancelCancelsTheTask() async throws {
        let table = ProcessTable()
        let arrivals = Arrivals()
        let clock = ContinuousClock()
        let runner = Task {
            try await table.run { process in
                try process.setStatus("sleeping")
                arrivals.arrive(process.id)
                try await Task.sleep(for: .seconds(120))
            }
        }
        var iterator = arrivals.stream.makeAsyncIterator()
        let id = try #require(await iterator.next())
        let cancelledAt = clock.now
        #expect(table.cancel(id: id) == .cancelled)
        let result = await runner.result
        let elapsed = clock.now - cancelledAt
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(elapsed < .seconds(10), "ended \(elapsed) after the cancel")
        #expect(table.process(id: id)?.status == "cancelled")
        #expect(table.history(id: id)?.changes.map(\.status) == ["init", "sleeping", "[cancel request]", "cancelled"])
    }

    @Test("a cancel that arrives before the body sets anything is seen at its first setStatus")
    func cancelBeforeFirstStatus() async throws {
        let table = ProcessTable()
        let arrivals = Arrivals()
        let gate = Gate()
        let runner = Task {
            try await table.run { process in
                arrivals.arrive(process.id)
                // The cancel cancels this task too: the gate, not the cancel, says when to go on.
                await gate.waitIgnoringCancellation()
                #expect(process.isCancelPending)
                #expect(process.cancelMessage == "stop")
                try process.setStatus("working")
                Issue.record("setStatus did not throw")
            }
        }
        var iterator = arrivals.stream.makeAsyncIterator()
        let id = try #require(await iterator.next())
        #expect(table.cancel(id: id, message: "stop") == .cancelled)
        #expect(table.process(id: id)?.isCancelling == true)
        #expect(table.processes().first?.status == "init", "the request is in the history, not the status")
        #expect(table.cancel(id: id, message: "again") == .cancelled, "asking twice is not an error")
        gate.open()
        await #expect(throws: CancellationError.self) { try await runner.value }
        #expect(table.history(id: id)?.changes.map(\.status)
                == ["init", "[cancel request: stop]", "working", "cancelled"], "the first message stays")
    }

    @Test("the caller's own cancellation cancels the body, which ends `cancelled`")
    func callerCancellationPropagates() async throws {
        let table = ProcessTable()
        let arrivals = Arrivals()
        let caller = Task {
            try await table.run { process in
                try process.setStatus("waiting")
                arrivals.arrive(process.id)
                try await Task.sleep(for: .seconds(120))
            }
        }
        var iterator = arrivals.stream.makeAsyncIterator()
        let id = try #require(await iterator.next())
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
        let record = try #require(table.process(id: id))
        #expect(record.status == "cancelled")
        #expect(!record.isCancelRequested, "nobody asked the table")
        #expect(table.processes().isEmpty)
    }

    @Test("with the caller cancelled, setStatus in the body throws even without a cancel request")
    func callerCancellationReachesSetStatus() async throws {
        let table = ProcessTable()
        let arrivals = Arrivals()
        let thrownBySetStatus = Observed<(any Error)?>(nil)
        let caller = Task {
            try await table.run { process in
                arrivals.arrive(process.id)
                for step in 1...30_000 {
                    do {
                        try process.setStatus("step \(step)")
                    } catch {
                        thrownBySetStatus.value = error
                        throw error
                    }
                    await pauseIgnoringCancellation()
                }
            }
        }
        var iterator = arrivals.stream.makeAsyncIterator()
        let id = try #require(await iterator.next())
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
        #expect(thrownBySetStatus.value is CancellationError)
        #expect(table.process(id: id)?.status == "cancelled")
    }

    @Test("a body that throws ends as `failed: <error>` and run rethrows the error")
    func failed() async throws {
        struct DiskOnFire: Error, CustomStringConvertible {
            var description: String { "disk on fire" }
        }
        let table = ProcessTable()
        let seenID = Observed("")
        await #expect(throws: DiskOnFire.self) {
            try await table.run(attributes: ["job": "backup"]) { process in
                seenID.value = process.id
                try process.setStatus("writing")
                throw DiskOnFire()
            }
        }
        #expect(table.process(id: seenID.value)?.status == "failed: disk on fire")
        #expect(table.history(id: seenID.value)?.changes.map(\.status) == ["init", "writing", "failed: disk on fire"])
        #expect(table.processes().isEmpty)
    }

    @Test("a body that throws CancellationError of its own ends `cancelled`")
    func throwsCancellationError() async throws {
        let table = ProcessTable()
        let seenID = Observed("")
        await #expect(throws: CancellationError.self) {
            try await table.run { process in
                seenID.value = process.id
                throw CancellationError()
            }
        }
        #expect(table.process(id: seenID.value)?.status == "cancelled")
    }

    @Test("an entry that forbids cancel is answered `forbidden` and keeps running")
    func entryForbidsCancel() async throws {
        let table = ProcessTable()
        let arrivals = Arrivals()
        let gate = Gate()
        let runner = Task {
            try await table.run(forbidsCancel: true) { process in
                try process.setStatus("committing")
                arrivals.arrive(process.id)
                await gate.wait()
                try process.setStatus("done committing")
                return Task.isCancelled
            }
        }
        var iterator = arrivals.stream.makeAsyncIterator()
        let id = try #require(await iterator.next())
        #expect(table.cancel(id: id, message: "please") == .forbidden)
        #expect(CancelOutcome.forbidden.httpStatusCode == 403)
        let record = try #require(table.process(id: id))
        #expect(record.forbidsCancel)
        #expect(!record.isCancelRequested)
        #expect(record.status == "committing")
        gate.open()
        #expect(try await runner.value == false, "the task was not cancelled")
        #expect(table.history(id: id)?.changes.map(\.status) == ["init", "committing", "done committing", "ended"])
    }

    @Test("a table that forbids cancel refuses it for every entry, until allowed again")
    func tableForbidsCancel() async throws {
        let table = ProcessTable(forbidsCancel: true)
        #expect(table.forbidsCancel)
        let arrivals = Arrivals()
        let runner = Task {
            try await table.run { process in
                arrivals.arrive(process.id)
                try await Task.sleep(for: .seconds(120))
            }
        }
        var iterator = arrivals.stream.makeAsyncIterator()
        let id = try #require(await iterator.next())
        #expect(table.cancel(id: id) == .forbidden)
        #expect(table.process(id: id)?.isCancelRequested == false)
        table.forbidsCancel = false
        #expect(table.cancel(id: id) == .cancelled)
        await #expect(throws: CancellationError.self) { try await runner.value }
        #expect(table.process(id: id)?.status == "cancelled")
        table.forbidsCancel = true
        #expect(table.cancel(id: id) == .notFound, "finished entries are not found, forbidden or not")
    }

    @Test("unknown ids are not found")
    func unknownID() {
        let table = ProcessTable()
        #expect(table.cancel(id: "nope") == .notFound)
        #expect(CancelOutcome.notFound.httpStatusCode == 404)
        #expect(CancelOutcome.cancelled.httpStatusCode == 200)
        #expect(table.process(id: "nope") == nil)
        #expect(table.history(id: "nope") == nil)
        #expect(table.historyJSON(id: "nope") == nil)
    }

    @Test("many concurrent runs: unique ids, statuses recorded, cancels reach exactly the ones cancelled")
    func manyConcurrentRuns() async throws {
        let runCount = 400
        let stepsPerRun = 40
        let table = ProcessTable(historyLimit: 100, finishedLimit: runCount)
        let arrivals = Arrivals()
        let outcomes = Observed<[Int: String]>([:])
        let listingsRendered = Observed(0)

        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<runCount {
                group.addTask {
                    let shouldBeCancelled = index % 2 == 0
                    do {
                        let value = try await table.run(attributes: ["index": AttributeValue(index)]) { process in
                            if shouldBeCancelled { arrivals.arrive(process.id) }
                            // Even runs keep going until cancelled (bounded); odd ones do their steps and return.
                            let steps = shouldBeCancelled ? 100_000 : stepsPerRun
                            for step in 1...steps {
                                try process.setStatus("step \(step)")
                                await Task.yield()
                            }
                            return "ended"
                        }
                        outcomes.update { $0[index] = value }
                    } catch is CancellationError {
                        outcomes.update { $0[index] = "cancelled" }
                    }
                }
            }
            // The canceller: every even run, as soon as it has announced itself.
            group.addTask {
                var cancelled = 0
                for await id in arrivals.stream {
                    #expect(table.cancel(id: id, message: "stress") == .cancelled)
                    cancelled += 1
                    if cancelled == runCount / 2 { break }
                }
            }
            // A reader that lists and renders while everything changes.
            group.addTask {
                while outcomes.value.count < runCount {
                    let body = table.processListJSON(includingFinished: true)
                    let json = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
                    let procs = try #require(json?["procs"] as? [[String: Any]])
                    #expect(procs.count <= runCount)
                    listingsRendered.update { $0 += 1 }
                    await Task.yield()
                }
            }
            try await group.waitForAll()
        }

        #expect(outcomes.value.count == runCount)
        #expect(listingsRendered.value > 0)
        #expect(table.processes().isEmpty, "every run left the in-flight list")
        let finished = table.processes(includingFinished: true)
        #expect(finished.count == runCount)
        #expect(Set(finished.map(\.id)).count == runCount, "ids are unique")
        for record in finished {
            guard case .number(let number) = record.attributes["index"] else {
                Issue.record("no index attribute on \(record.id)")
                continue
            }
            let index = Int(number)
            let expected = index % 2 == 0 ? "cancelled" : "ended"
            #expect(record.status == expected, "run \(index)")
            #expect(outcomes.value[index] == expected, "run \(index)")
            if expected == "ended" {
                let statuses = table.history(id: record.id)?.changes.map(\.status)
                #expect(statuses == ["init"] + (1...stepsPerRun).map { "step \($0)" } + ["ended"])
            }
        }
    }
}
