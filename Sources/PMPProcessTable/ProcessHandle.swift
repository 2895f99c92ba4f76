/// The work's side of one process-table entry: report status, check for cancel, finish.
/// Sendable, so child tasks of the work may report too. After the entry finished, updates are ignored.
public final class ProcessHandle: Sendable {
    let entry: ProcessEntry
    private let table: ProcessTable

    init(entry: ProcessEntry, table: ProcessTable) {
        self.entry = entry
        self.table = table
    }

    deinit {
        // Forgotten handles must not stay in flight for ever.
        table.finish(entry, status: ProcessStatus.failedPrefix + "handle released without finish()")
    }

    /// The entry's id in the table (`/procs/{id}`): short, unique in the table.
    public var id: String { entry.id }

    /// Records a new status, then acts as a cancellation point: throws `CancellationError` when a cancel of this
    /// entry is pending or the current task is cancelled. The status is recorded even then, so cleanup code may
    /// still say what it does with `try? process.setStatus("rolling back")`.
    public func setStatus(_ status: String) throws(CancellationError) {
        let cancelPending = entry.setStatus(status)
        if cancelPending || Task.isCancelled { throw CancellationError() }
    }

    /// A cancellation point that records nothing (pm's `CheckCancel`).
    public func checkCancellation() throws(CancellationError) {
        if entry.pendingCancelMessage != nil || Task.isCancelled { throw CancellationError() }
    }

    /// A cancel of this entry was requested and the work has not finished.
    public var isCancelPending: Bool { entry.pendingCancelMessage != nil }

    /// The message of the pending cancel request (may be empty); nil when none is pending.
    public var cancelMessage: String? { entry.pendingCancelMessage }

    /// Sets (or with nil, removes) an attribute shown in listings.
    public func setAttribute(_ name: String, _ value: AttributeValue?) { entry.setAttribute(name, value) }

    /// What a cancel request runs to stop the work, typically `{ task.cancel() }`; run at once if a cancel is
    /// already pending. `ProcessTable.run` sets it itself.
    public func onCancel(_ handler: @escaping @Sendable () -> Void) { entry.setCancelHandler(handler) }

    /// Ends the entry with status `ended`: the work returned, whether or not a cancel was asked of it.
    public func finish() { table.finish(entry, status: ProcessStatus.ended) }

    /// Ends the entry after the work threw: `cancelled` for `CancellationError` or when a cancel reached the work
    /// (a cancel request, or the current task cancelled), `failed: <error>` otherwise.
    public func finish(throwing error: any Error) {
        let wasCancelled = entry.pendingCancelMessage != nil || Task.isCancelled
        table.finish(entry, status: ProcessStatus.final(for: error, wasCancelled: wasCancelled))
    }

    /// Ends the entry with the final status `status` already decided by the caller.
    func finish(status: String) { table.finish(entry, status: status) }

    var wasCancelRequested: Bool { entry.wasCancelRequested }
}
