import Synchronization

/// Swift concurrency tasks suspended on continuations nobody resumes: they hold no thread, so a thread dump
/// shows the cooperative pool idle.
enum SuspendedTasks {
    private static let parked = Mutex<[CheckedContinuation<Void, Never>]>([])

    static func start(count: Int) {
        for _ in 0..<count {
            Task.detached { await waitingOnContinuation() }
        }
    }

    @inline(never) static func waitingOnContinuation() async {
        await withCheckedContinuation { continuation in
            parked.withLock { $0.append(continuation) }
        }
    }

    static var parkedCount: Int { parked.withLock { $0.count } }
}
