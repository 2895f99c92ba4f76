extension ProcessTable {
    /// Runs `body` as an entry of this table; when `body` is done, however it ends, the entry moves to the
    /// recently finished ones with its final status.
    ///
    /// `body` runs in a task of its own so that `cancel(id:)` can cancel it: its awaits see the cancellation and
    /// its next `process.setStatus(_:)` throws `CancellationError`. Cancelling the caller's task cancels it too.
    /// `run` returns only once `body` has returned or thrown, and rethrows what it threw. `body` runs on the global
    /// concurrent executor, not on the caller's actor.
    ///
    /// The final status is `ended` when `body` returns, `cancelled` when it throws after a cancel reached it (or
    /// throws `CancellationError`), and `failed: <error>` for any other error.
    ///
    /// - Parameters:
    ///   - attributes: shown with the entry (`method`, `uri`, `user`, …); any JSON values.
    ///   - forbidsCancel: refuse cancel requests for this entry.
    public func run<Result: Sendable>(
        attributes: [String: AttributeValue] = [:],
        forbidsCancel: Bool = false,
        _ body: sending @escaping (ProcessHandle) async throws -> Result
    ) async throws -> Result {
        let process = register(attributes: attributes, forbidsCancel: forbidsCancel)
        // A task of its own, because a running task can be cancelled only through its handle; it inherits the
        // caller's priority and task-local values.
        let work = Task {
            withUnsafeCurrentTask { task in if let task { process.entry.noteTask(task) } }
            return try await ProcessHandle.$current.withValue(process) { try await body(process) }
        }
        process.onCancel { work.cancel() }
        do {
            let value = try await withTaskCancellationHandler {
                try await work.value
            } onCancel: {
                work.cancel()
            }
            process.finish(status: ProcessStatus.ended)
            return value
        } catch {
            let wasCancelled = work.isCancelled || process.wasCancelRequested
            process.finish(status: ProcessStatus.final(for: error, wasCancelled: wasCancelled))
            throw error
        }
    }

    /// Runs `body` as an entry of this table in the current task, without a task of its own: cheaper than `run`,
    /// and `body` need not be `@Sendable` or `sending`, so it may call a middleware's `next` or use its caller's
    /// actor state. A cancel request cancels the current task (see `ProcessHandle.withCurrentTask`); final statuses
    /// as for `run`.
    public func runInCurrentTask<Result>(
        attributes: [String: AttributeValue] = [:],
        forbidsCancel: Bool = false,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (ProcessHandle) async throws -> Result
    ) async throws -> Result {
        let process = register(attributes: attributes, forbidsCancel: forbidsCancel)
        do {
            let value = try await process.withCurrentTask { try await body(process) }
            process.finish(status: ProcessStatus.ended)
            return value
        } catch {
            process.finish(throwing: error)
            throw error
        }
    }
}
