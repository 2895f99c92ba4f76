import Synchronization

/// One unit of work in the table, in flight or recently finished. Its own lock, so status updates of different
/// entries never wait for each other nor for the table. Frozen once finished.
final class ProcessEntry: Sendable {
    let id: String
    /// Registration order, for listing.
    let sequence: UInt64
    let startTime: WallTime
    let forbidsCancel: Bool
    /// The id of the entry whose work this one is part of (a span's parent span), nil for top-level work.
    let parentID: String?
    private let state: Mutex<State>
    /// The task running the work, while it runs in its caller's task (`ProcessHandle.withCurrentTask`). A lock of
    /// its own: cancelling a task runs its cancellation handlers at once, and they may come back to `state`.
    private let runningTask = Mutex<RunningTask?>(nil)
    /// The address of the Swift task running the work (0 before it started): a capture of the process's tasks
    /// finds that task by it, to show where the work is suspended.
    private let taskAddress = Atomic<UInt64>(0)

    private struct State {
        var attributes: [String: AttributeValue]
        var log: StatusLog
        var cancelRequested = false
        var cancelMessage = ""
        /// Cancels whatever runs the work; dropped when the work finishes.
        var cancelHandler: (@Sendable () -> Void)?
        var isFinished = false
    }

    init(id: String, sequence: UInt64, attributes: [String: AttributeValue], forbidsCancel: Bool, historyLimit: Int,
         parentID: String? = nil) {
        self.id = id
        self.sequence = sequence
        self.parentID = parentID
        let start = WallTime.now()
        startTime = start
        self.forbidsCancel = forbidsCancel
        let first = StatusChange(time: start, status: ProcessStatus.initial)
        state = Mutex(State(attributes: attributes, log: StatusLog(first: first, limit: historyLimit)))
    }

    /// Records `status` unless finished; returns whether a cancel is pending (the caller then throws).
    func setStatus(_ status: String) -> Bool {
        state.withLock { state in
            guard !state.isFinished else { return false }
            // The clock is read under the lock so that one entry's history is in order.
            state.log.append(StatusChange(time: .now(), status: status))
            return state.cancelRequested
        }
    }

    func setAttribute(_ name: String, _ value: AttributeValue?) {
        state.withLock { state in
            guard !state.isFinished else { return }
            state.attributes[name] = value
        }
    }

    /// Nil when no cancel was requested or the work finished.
    var pendingCancelMessage: String? {
        state.withLock { $0.cancelRequested && !$0.isFinished ? $0.cancelMessage : nil }
    }

    /// Marks the entry cancel-pending and runs its cancel handler. False when it had finished already.
    /// A second request keeps the first message and cancels again (harmless).
    func requestCancel(message: String) -> Bool {
        let outcome: (handler: (@Sendable () -> Void)?, isFirst: Bool)? = state.withLock { state in
            guard !state.isFinished else { return nil }
            let isFirst = !state.cancelRequested
            if isFirst {
                state.cancelRequested = true
                state.cancelMessage = message
                // A note in the history: the status the work is stuck in, and since when, stay what listings show.
                state.log.note(StatusChange(time: .now(), status: ProcessStatus.cancelRequest(message: message)))
            }
            return (state.cancelHandler, isFirst)
        }
        guard let outcome else { return false }
        // Outside the lock: cancelling a task runs its cancellation handlers, which may come back to this entry.
        outcome.handler?()
        // Only the first request: a task stays cancelled, and a handler that cancels this entry again must not
        // come back into `runningTask`'s lock.
        if outcome.isFirst {
            // Under the lock, which `withCurrentTask` takes before it returns: the task is alive while it is held.
            runningTask.withLock { $0?.task.cancel() }
        }
        return true
    }

    /// From now until `detachRunningTask`, a cancel request cancels `task`, the one running the work; at once
    /// when a cancel is pending already. Called from inside `task`, which must call `detachRunningTask` before
    /// it ends.
    func attachRunningTask(_ task: UnsafeCurrentTask) {
        noteTask(task)
        runningTask.withLock { $0 = RunningTask(task: task) }
        if wasCancelRequested { task.cancel() }
    }

    func detachRunningTask() { runningTask.withLock { $0 = nil } }

    /// Remembers which task runs the work (called from inside it). Only its address is kept, never used to
    /// reach the task: a capture compares it with the addresses of the tasks it found.
    func noteTask(_ task: UnsafeCurrentTask) {
        taskAddress.store(UInt64(UInt(bitPattern: unsafeBitCast(task, to: Int.self))), ordering: .relaxed)
    }

    /// What cancels the work; run at once when a cancel is already pending.
    func setCancelHandler(_ handler: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state in
            guard !state.isFinished else { return false }
            state.cancelHandler = handler
            return state.cancelRequested
        }
        if runNow { handler() }
    }

    var wasCancelRequested: Bool { state.withLock { $0.cancelRequested } }

    var isFinished: Bool { state.withLock { $0.isFinished } }

    /// Records the final status. False when it had finished already (the first final status stays).
    func finish(status: String) -> Bool {
        let handler: (@Sendable () -> Void)?? = state.withLock { state in
            guard !state.isFinished else { return .none }
            state.log.append(StatusChange(time: .now(), status: status))
            state.isFinished = true
            defer { state.cancelHandler = nil }
            return .some(state.cancelHandler)
        }
        // Released outside the lock: the handler may hold the last reference to a task and its captures.
        return handler != nil
    }

    func record() -> ProcessRecord {
        state.withLock { state in
            let current = state.log.current
            return ProcessRecord(
                id: id, attributes: state.attributes, startTime: startTime, status: current.status,
                statusTime: current.time, forbidsCancel: forbidsCancel, isCancelRequested: state.cancelRequested,
                cancelMessage: state.cancelMessage, isFinished: state.isFinished, parentID: parentID,
                taskAddress: state.isFinished ? nil : taskAddress.load(ordering: .relaxed).nonZero)
        }
    }

    func history() -> StatusHistory { state.withLock { $0.log.snapshot } }
}

extension UInt64 {
    /// Nil for 0.
    fileprivate var nonZero: UInt64? { self == 0 ? nil : self }
}
