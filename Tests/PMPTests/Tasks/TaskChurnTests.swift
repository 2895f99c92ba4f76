import PMP
import Synchronization
import PMPTestSupport
import Testing

/// Tasks created and completed as fast as possible while this process snapshots itself over and over.
@Suite("task churn", .timeLimit(.minutes(3))) struct TaskChurnTests {
    @Test("1 000 snapshots (200 under a sanitizer) during task churn: no crash, no hang, no task listed twice, churning tasks seen")
    func snapshotsDuringChurn() async throws {
        let stop = Atomic<Bool>(false)
        let churn = Task.detached {
            var created = 0
            while !stop.load(ordering: .relaxed) {
                await withTaskGroup(of: Int.self) { group in
                    for index in 0..<32 { group.addTask { index &* 3 } }
                    for await _ in group {}
                }
                created += 32
            }
            return created
        }
        var sawTasks = 0
        // Under a sanitizer a snapshot costs ten times as much: 200 fit the time limit.
        for _ in 0..<(Sanitizer.active == nil ? 1000 : 200) {
            let snapshot = try await PMP.snapshot()
            let ids = snapshot.tasks.map(\.id)
            #expect(Set(ids).count == ids.count, "a task listed twice")
            #expect(snapshot.taskSummary != nil)
            sawTasks = max(sawTasks, snapshot.tasks.count)
        }
        stop.store(true, ordering: .relaxed)
        let created = await churn.value
        #expect(created > 0)
        #expect(sawTasks >= 1, "the churning task itself is alive throughout")
    }
}
