import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPTestSupport
import Testing

/// `GET /debug/pprof/goroutine?debug=2`: our snapshots written as Go tracebacks, read back by our Go traceback
/// reader, and checked line by line against the shapes of a real Go dump (Fixtures/go/debug2.txt).
@Suite("Go traceback renderer (debug=2)") struct GoRendererTracebackTests {
    /// Go's traceback lines, as Go 1.19 prints them with `debug=2` (offsets optional: inlined calls have none).
    static func isGoShaped(_ line: Substring) -> Bool {
        let header = #/goroutine (\d+) \[([^\]]+)\]:/#
        let call = #/[^ \t]+\((.*)\)/#
        let location = #/\t[^\t]+:\d+( \+0x[0-9a-f]+)?/#
        return line.isEmpty || line.wholeMatch(of: header) != nil || line.wholeMatch(of: call) != nil
            || line.wholeMatch(of: location) != nil || line == "...additional frames elided..."
    }

    @Test("the shapes: every line of a real Go dump and of ours is one of the same few kinds")
    func shapes() throws {
        let go = try ReaderFixture.text("go/debug2.txt")
        let goLines = go.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("created by ") }
        #expect(goLines.allSatisfy(Self.isGoShaped), "the patterns describe Go's own output")

        let ours = GoTracebackRenderer.render(GoRendererSnapshots.awkward)
        let lines = ours.split(separator: "\n", omittingEmptySubsequences: false)
        for line in lines { #expect(Self.isGoShaped(line), "\(line)") }
        #expect(lines.contains("goroutine 101 [condition wait, 12 minutes]:"), "blocked 754 s: Go's minutes")
        #expect(lines.contains("goroutine 102 [condition wait]:"), "under a minute: no time, as in Go")
        #expect(lines.contains("goroutine 104 [no answer: signal blocked]:"))
        #expect(lines.contains("__futex_abstimed_wait_common64(...)"), "an inlined call has Go's (...)")
        #expect(lines.contains("\t/src/My Sources/Workers.swift:43"), "blanks stay in file names")
        #expect(lines.contains("\t?:0"), "no source: Go's ?:0")
        #expect(lines.contains("\t/src/main.swift:0"), "a file without a line")
        #expect(lines.contains("...additional frames elided..."))
        #expect(ours.hasSuffix("\n\n"))
    }

    @Test("Swift tasks follow the threads as goroutines: state, Go's minutes, what they wait on, in one bracket")
    func tasksAsGoroutines() throws {
        var snapshot = GoRendererSnapshots.awkward
        let frames = [Frame(address: 0x5500_0000_6000, function: "static Server.handle(_:)", file: "/src/Server.swift",
                            line: 21, image: "app")]
        snapshot.tasks = [
            TaskSnapshot(id: 101, state: .awaitingTask(61), suspendedFor: 200, frames: frames),
            TaskSnapshot(id: 61, state: .enqueued(executor: "actor app.Cache<Int, String> 0x5601"), cancelled: true,
                         frames: frames),
            TaskSnapshot(id: 62, state: .notStarted),
        ]
        let text = GoTracebackRenderer.render(snapshot)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for line in lines { #expect(Self.isGoShaped(line), "\(line)") }
        #expect(lines.contains("goroutine 101 [task suspended on a task, 3 minutes, on task 61]:"))
        #expect(lines.contains("goroutine 61 [task enqueued on an actor, on actor app.Cache<Int; String> 0x5601, cancelled]:"))
        #expect(lines.contains("goroutine 62 [task not started]:"))
        // Task 101 has a thread's number: it is a task, not a second dump.
        let aggregator = Aggregator(options: AggregateOptions(byState: true))
        aggregator.consume(text: text)
        let profile = aggregator.finish()
        #expect(aggregator.report.dumps == [.goTraceback: 1])
        #expect(aggregator.report.taskStacks == 2)
        #expect(profile.stacks.contains { $0.waitReason?.rawValue == "task suspended on a task" && $0.count == 1 })
    }

    @Test("read back by GoTracebackReader: one stack per thread with its state, frames, files and lines")
    func roundTrip() throws {
        let snapshot = GoRendererSnapshots.awkward
        let run = ReaderDriver.run(GoTracebackReader.self, text: GoTracebackRenderer.render(snapshot))
        #expect(run.recorder.violations == [])
        #expect(run.malformed == 0 && run.refusedClaims == 0 && run.unclaimed == 0)
        #expect(run.recorder.dumps == [.goTraceback])
        try #require(run.stacks.count == snapshot.threads.count)
        for (stack, thread) in zip(run.stacks, snapshot.threads) {
            #expect(stack.state == (thread.failure.map { "no answer: \($0.rawValue)" } ?? thread.waitReason.rawValue))
            #expect(stack.count == 1)
            #expect(stack.functions == thread.frames.map { GoTracebackRenderer.goName($0.function) })
            #expect(stack.frames.map(\.file) == thread.frames.map { $0.file ?? "?" })
            #expect(stack.frames.map(\.line) == thread.frames.map { $0.line ?? 0 })
            #expect(stack.frames.map(\.inlined) == thread.frames.map(\.inlined))
        }
        // The no-break spaces read like the blanks they replace, and nothing else changed.
        for (stack, thread) in zip(run.stacks, snapshot.threads) {
            #expect(stack.functions.map { $0.replacingOccurrences(of: "\u{00A0}", with: " ") } == thread.frames.map(\.function))
        }
        #expect(run.stacks[0].functions[3] == "static\u{00A0}pmp_demo.Workers.blockedInConditionWait()\u{00A0}->\u{00A0}()")
    }

    @Test("a real capture: a parked test thread's stack comes back as captured")
    func realCapture() throws {
        let thread = TestThread.parkedInKnownFunction()
        defer { thread.finish(); thread.waitUntilFinished() }
        let snapshot = try PMP.snapshot()
        let captured = try #require(snapshot.threads.first { $0.tid == thread.tid })
        #expect(captured.frames.contains { $0.function.contains("parkedInTestFunction") })

        let text = GoTracebackRenderer.render(snapshot)
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            #expect(Self.isGoShaped(line), "\(line)")
        }
        let run = ReaderDriver.run(GoTracebackReader.self, text: text)
        #expect(run.malformed == 0 && run.recorder.violations == [])
        // The threads, then the Swift tasks (the test runner's own among them).
        #expect(run.stacks.count == snapshot.threads.count + snapshot.tasks.count)
        let index = try #require(snapshot.threads.firstIndex { $0.tid == thread.tid })
        let stack = run.stacks[index]
        #expect(stack.state == captured.waitReason.rawValue)
        #expect(stack.functions == captured.frames.map { GoTracebackRenderer.goName($0.function) })
        #expect(stack.frames.map(\.line) == captured.frames.map { $0.line ?? 0 })
    }
}
