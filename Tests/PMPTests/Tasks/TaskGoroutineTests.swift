import Foundation
@testable import PMPAggregate
@testable import PMPProfiles
import PMPTestSupport
import Testing

/// `GET /debug/pprof/goroutine` of pmp-demo --task-states: the Swift tasks listed as the goroutines they are, in
/// the traceback (debug=2), the counted profile (debug=1) and the pprof form, read by Go's own client.
@Suite("tasks as goroutines", .timeLimit(.minutes(3))) struct TaskGoroutineTests {
    @Test("debug=2, debug=1 and pprof list every task with its state; the readers fold them as tasks")
    func goroutineEndpointsListTasks() async throws {
        let count = 2
        let demo = try DemoProcess.withTaskStates(count, pmp: true)
        defer { demo.stop() }
        let base = try #require(demo.pmpURL)

        let traceback = try await HTTPClient.get(base + "/debug/pprof/goroutine?debug=2")
        #expect(traceback.status == 200)
        let headers = traceback.text.split(separator: "\n").filter { $0.hasPrefix("goroutine ") }
        #expect(headers.filter { $0.contains(" [task sleeping") }.count == count)
        #expect(headers.filter { $0.contains(" [task suspended on a task, on task ") }.count == count * 2)
        #expect(headers.contains { $0.contains(" [task enqueued on an actor, on actor ") })
        #expect(headers.contains { $0.contains(" [task running, on thread ") })
        let aggregator = Aggregator(options: AggregateOptions(byState: true, kinds: .tasks))
        aggregator.consume(text: traceback.text)
        let tasks = aggregator.finish()
        #expect(aggregator.report.dumps == [.goTraceback: 1], "task ids equal to thread ids do not start a new dump")
        #expect(aggregator.report.unplacedLines == 0)
        let sleeping = tasks.stacks.filter { $0.waitReason?.rawValue == "task sleeping" }
        #expect(sleeping.map(\.count).reduce(0, +) == count)
        #expect(sleeping.contains { $0.frames.contains { $0.function.contains("sleepingForAnHour") } })
        #expect(aggregator.report.threadStacksLeftOut >= 1)

        let counted = try await HTTPClient.get(base + "/debug/pprof/goroutine?debug=1")
        #expect(counted.status == 200)
        #expect(counted.text.contains("# labels: {\"state\":\"task suspended on continuation\"}"))
        #expect(counted.text.contains("# labels: {\"thread\":"))
        let total = Int(counted.text.split(separator: "\n").first?.split(separator: " ").last ?? "") ?? 0
        let blockCounts = counted.text.split(separator: "\n").compactMap { line -> Int? in
            guard let at = line.range(of: " @") else { return nil }
            return Int(line[..<at.lowerBound])
        }
        #expect(blockCounts.reduce(0, +) == total)

        let run = try GoTool.pprof(["-tags", base + "/debug/pprof/goroutine"])
        #expect(run.status == 0, "go tool pprof: \(run.stderr)")
        #expect(run.stdout.contains("task suspended on continuation"), "\(run.stdout)")
        #expect(run.stdout.contains("task sleeping"), "\(run.stdout)")
    }
}
