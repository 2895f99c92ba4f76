import Foundation
@testable import PMPAggregate
@testable import PMPProfiles
import PMPTestSupport
import Testing

/// The Swift tasks of swift-pmp dumps, folded: each task's async backtrace is a stack, its state the wait state,
/// tasks never fold with threads, and `kinds` keeps either alone.
@Suite("aggregating tasks") struct AggregateTaskTests {
    static func frame(_ function: String, _ address: UInt64, line: Int) -> Frame {
        Frame(address: address, function: function, file: "/src/Server.swift", line: line, image: "app")
    }

    /// Threads from `AggregatorTests`, and tasks in most states: several share a stack, one has a thread's frames.
    static func snapshot(pid: Int32) -> Snapshot {
        var snapshot = AggregatorTests.snapshot(pid: pid, seed: 0)
        let handle = frame("static Server.handle(_:)", 0x5000, line: 21)
        let park = [frame("Gate.park()", 0x5100, line: 13), handle]
        let query = [frame("Database.query(_:)", 0x5200, line: 40), handle]
        let spin = snapshot.threads.first { $0.name.hasPrefix("spin") }!.frames
        snapshot.tasks = [
            TaskSnapshot(id: 12, name: "conn-0", state: .continuation, priority: 21, suspendedFor: 2.5, frames: park),
            TaskSnapshot(id: 13, name: "conn-1", state: .continuation, priority: 21, suspendedFor: 0.5, frames: park),
            TaskSnapshot(id: 14, state: .continuation, priority: 21, frames: park),
            TaskSnapshot(id: 20, state: .awaitingTask(21), priority: 25, children: [21], frames: query),
            TaskSnapshot(id: 21, state: .awaitingTask(22), priority: 25, parent: 20, kind: "async-let", frames: query),
            TaskSnapshot(id: 30, state: .enqueued(executor: "actor app.Cache 0x5601"), priority: 21, frames: query),
            TaskSnapshot(id: 31, state: .enqueued(executor: "actor app.Cache 0x5602"), priority: 21, frames: query),
            TaskSnapshot(id: 40, state: .running(thread: pid + 98), priority: 21, frames: spin),
            TaskSnapshot(id: 50, state: .sleeping, priority: 9, frames: [frame("Timer.sleep()", 0x5300, line: 7)]),
            TaskSnapshot(id: 60, state: .notStarted, priority: 21, frames: []),
        ]
        snapshot.taskSummary = TaskSummary(method: "scan")
        return snapshot
    }

    /// Folded counts straight from the snapshot, as the in-process fold (`/stacks?format=folded`) makes them.
    static func inProcess(_ snapshot: Snapshot, kinds: StackKinds) -> [String: Int] {
        var builder = ProfileBuilder(keepThreadNames: false)
        builder.add(snapshot, kinds: kinds)
        return AggregatorTests.counts(builder.build())
    }

    static func aggregated(_ text: String, kinds: StackKinds, byState: Bool = true) -> (counts: [String: Int], report: AggregateReport) {
        let aggregator = Aggregator(options: AggregateOptions(byState: byState, kinds: kinds))
        aggregator.consume(text: text)
        return (AggregatorTests.counts(aggregator.finish()), aggregator.report)
    }

    @Test("a dump's tasks fold as the in-process fold does, with threads, alone, or left out")
    func tasksFoldLikeTheSnapshot() {
        let snapshot = Self.snapshot(pid: 400)
        let text = DumpRenderer.text(snapshot)
        for kinds in StackKinds.allCases {
            let (counts, report) = Self.aggregated(text, kinds: kinds)
            #expect(counts == Self.inProcess(snapshot, kinds: kinds), "\(kinds)")
            #expect(report.unplacedLines == 0)
        }
        let all = Self.aggregated(text, kinds: .all)
        // Nine tasks with frames (the one not started has none): park ×3, query awaiting ×2, query enqueued ×2,
        // the running one, the sleeping one.
        #expect(all.counts[AggregatorTests.key(["Gate.park()", "static Server.handle(_:)"], "task suspended on continuation", nil)] == 3)
        #expect(all.counts[AggregatorTests.key(["Database.query(_:)", "static Server.handle(_:)"], "task suspended on a task", nil)] == 2)
        #expect(all.counts[AggregatorTests.key(["Database.query(_:)", "static Server.handle(_:)"], "task enqueued on an actor", nil)] == 2)
        #expect(all.report.taskStacks == 9)
        #expect(all.report.summary.contains("(9 tasks among them)"), "\(all.report.summary)")
        let threads = Self.aggregated(text, kinds: .threads)
        #expect(threads.report.taskStacksLeftOut == 10)
        #expect(threads.report.taskStacks == 0)
        #expect(threads.report.summary.contains("10 task stacks left out (threads only)"), "\(threads.report.summary)")
        let tasks = Self.aggregated(text, kinds: .tasks)
        #expect(tasks.report.threadStacksLeftOut == snapshot.threads.count)
        #expect(tasks.counts.values.reduce(0, +) == 9)
    }

    @Test("a task whose frames are a thread's does not fold with the thread, by state or not")
    func tasksNeverFoldWithThreads() {
        let snapshot = Self.snapshot(pid: 401)
        let spin = snapshot.threads.first { $0.name.hasPrefix("spin") }!.frames.map(\.function)
        for byState in [false, true] {
            let aggregator = Aggregator(options: AggregateOptions(byState: byState))
            aggregator.consume(text: DumpRenderer.text(snapshot))
            let stacks = aggregator.finish().stacks.filter { $0.frames.map(\.function) == spin }
            #expect(stacks.count == 2, "byState \(byState)")
            #expect(Set(stacks.map { $0.waitReason?.rawValue }) == ["running", "task running"], "byState \(byState)")
        }
    }

    @Test("tasks of interleaved dumps in a prefixed log keep their own frames")
    func interleavedTaskSections() {
        let a = DumpRenderer.lines(Self.snapshot(pid: 500), sequence: 1)
        let b = DumpRenderer.lines(Self.snapshot(pid: 600), sequence: 1)
        var log: [String] = []
        for index in 0..<max(a.count, b.count) {
            if index < a.count { log.append("I 12:00:00 app: \(a[index])") }
            if index % 5 == 0 { log.append("I 12:00:00 app: unrelated record \(index)") }
            if index < b.count { log.append("W 12:00:01 other: \(b[index])") }
        }
        let (counts, report) = Self.aggregated(log.joined(separator: "\n"), kinds: .tasks)
        let doubled = Self.inProcess(Self.snapshot(pid: 500), kinds: .tasks).mapValues { $0 * 2 }
        #expect(counts == doubled)
        #expect(report.unplacedLines == 0)
    }

    @Test("a malformed task header is unplaced, and the frames under it are not given to the thread before it")
    func malformedTaskHeader() {
        let lines = DumpRenderer.lines(Self.snapshot(pid: 700), sequence: 1)
        let broken = lines.map { line in
            line.contains("] task 50 ") ? line.replacingOccurrences(of: "[sleeping]", with: "[no such state]") : line
        }
        let (counts, report) = Self.aggregated(broken.joined(separator: "\n"), kinds: .all)
        #expect(report.unplacedLines == 2, "the header and its one frame")
        #expect(!counts.keys.contains { $0.contains("Timer.sleep()") })
        var expected = Self.inProcess(Self.snapshot(pid: 700), kinds: .all)
        expected.removeValue(forKey: AggregatorTests.key(["Timer.sleep()"], "task sleeping", nil))
        #expect(counts == expected)
    }
}
