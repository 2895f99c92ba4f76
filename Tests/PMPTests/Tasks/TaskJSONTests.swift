import Foundation
import PMPTestSupport
import Testing

/// `GET /stacks` of pmp-demo --task-states: the tasks, every key present, and `group=1` folding them.
@Suite("task JSON", .timeLimit(.minutes(2))) struct TaskJSONTests {
    static let keys: Set<String> = ["id", "name", "state", "stateKind", "thread", "awaiting", "executor", "priority",
                                    "basePriority", "parent", "children", "awaitedBy", "cancelled", "kind",
                                    "suspendedFor", "truncated", "frames"]

    @Test("/stacks lists every task with every key; group=1 folds identical task stacks with counts")
    func stacksListTasks() async throws {
        let count = 2
        let demo = try DemoProcess.withTaskStates(count, pmp: true)
        defer { demo.stop() }
        let base = try #require(demo.pmpURL)
        let answer = try await HTTPClient.get(base + "/stacks")
        #expect(answer.status == 200)
        let object = try #require(try JSONSerialization.jsonObject(with: answer.body, options: [.fragmentsAllowed]) as? [String: Any])
        let tasks = try #require(object["tasks"] as? [[String: Any]])
        #expect(object["taskSummary"] is [String: Any])
        for task in tasks { #expect(Set(task.keys) == Self.keys) }
        let kinds = Dictionary(grouping: tasks, by: { $0["stateKind"] as? String ?? "?" }).mapValues(\.count)
        #expect(kinds["continuation", default: 0] >= count * 5)
        #expect(kinds["sleeping"] == count)
        #expect(kinds["group"] == count)
        #expect(kinds["task"] == count * 2)
        #expect(kinds["enqueued"] == count)
        #expect(kinds["running", default: 0] >= 1)
        // A thread running a task names it, and the task names the thread.
        let threads = try #require(object["threads"] as? [[String: Any]])
        let running = try #require(tasks.first { $0["stateKind"] as? String == "running" && $0["thread"] is Int })
        let runner = try #require(threads.first { $0["tid"] as? Int == running["thread"] as? Int }, "\(running)")
        #expect(runner["task"] as? Int == running["id"] as? Int, "\(runner)")
        #expect(threads.allSatisfy { $0.keys.contains("task") })

        let grouped = try await HTTPClient.get(base + "/stacks?group=1")
        let groupObject = try #require(try JSONSerialization.jsonObject(with: grouped.body) as? [String: Any])
        let groups = try #require(groupObject["taskGroups"] as? [[String: Any]])
        let total = groups.compactMap { $0["count"] as? Int }.reduce(0, +)
        #expect(total == tasks.count)
        // The contenders queued on the actor share one stack.
        #expect(groups.contains { $0["stateKind"] as? String == "enqueued" && $0["count"] as? Int == count })
    }
}
