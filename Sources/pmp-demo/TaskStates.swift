#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Swift tasks in every state a task dump tells apart, each in a function of its own name, `count` of each:
/// parked on a continuation, in `Task.sleep`, awaiting an `async let` child, awaiting a task group's children,
/// awaiting another task's value, queued on an actor that another task keeps busy (that one is running, blocked
/// in a system call on its pool thread).
enum TaskStates {
    private static let parked = Mutex<[CheckedContinuation<Void, Never>]>([])
    private static let holderRunning = Atomic<Bool>(false)

    static func start(count: Int) {
        guard count > 0 else { return }
        for index in 0..<count {
            Task(name: "continuation-\(index)") { await parkedOnContinuation() }
            Task(name: "sleeper-\(index)") { await sleepingForAnHour() }
            Task(name: "async-let-parent-\(index)") { await awaitingAsyncLet() }
            Task(name: "group-parent-\(index)") { await awaitingTaskGroup() }
            Task(name: "awaiter-\(index)") { await awaitingAnotherTask() }
        }
        let actor = BusyActor()
        Task(name: "actor-holder") { await actor.holdWhileBlocked() }
        while !holderRunning.load(ordering: .acquiring) { usleep(1000) }
        for index in 0..<count {
            Task(name: "actor-contender-\(index)") { await queuedOnBusyActor(actor) }
        }
        // Ready once every continuation wait is in place (bounded: a starved pool is reported, not waited for).
        let expected = count * 5
        for _ in 0..<10_000 where parkedCount < expected { usleep(1000) }
    }

    /// Tasks parked so far (the continuation waits of every kind).
    static var parkedCount: Int { parked.withLock { $0.count } }

    @inline(never) static func parkedOnContinuation() async {
        await withCheckedContinuation { continuation in parked.withLock { $0.append(continuation) } }
    }

    @inline(never) static func sleepingForAnHour() async {
        try? await Task.sleep(for: .seconds(3600))
    }

    @inline(never) static func asyncLetChildParked() async -> Int {
        await parkedOnContinuation()
        return 1
    }

    @inline(never) static func awaitingAsyncLet() async {
        async let child = asyncLetChildParked()
        _ = await child
    }

    @inline(never) static func groupChildParked() async {
        await parkedOnContinuation()
    }

    @inline(never) static func awaitingTaskGroup() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await groupChildParked() }
            group.addTask { await groupChildParked() }
            await group.waitForAll()
        }
    }

    @inline(never) static func awaitedTaskParked() async {
        await parkedOnContinuation()
    }

    @inline(never) static func awaitingAnotherTask() async {
        let other = Task(name: "awaited") { await awaitedTaskParked() }
        await other.value
    }

    @inline(never) static func queuedOnBusyActor(_ actor: BusyActor) async {
        await actor.touch()
    }

    actor BusyActor {
        private var touches = 0

        /// Holds the actor for good, blocked in a system call: running on its thread, using no CPU.
        @inline(never) func holdWhileBlocked() {
            holderRunning.store(true, ordering: .releasing)
            while true { sleep(3600) }
        }

        @inline(never) func touch() { touches += 1 }
    }
}
