extension ProcessHandle {
    /// The entry of the work this task runs: bound by `ProcessTable.run`, `ProcessTable.runInCurrentTask`,
    /// `withCurrentTask`, and the framework middlewares (PMPHummingbird, PMPVapor), so that code deep in a request
    /// reports its status without being handed the handle:
    ///
    ///     try ProcessHandle.current?.setStatus("querying")
    ///
    /// Nil outside such work. Child tasks (`async let`, task groups, `Task {}`) inherit it.
    @TaskLocal public static var current: ProcessHandle?

    /// Runs `body` in the current task as this entry's work: `ProcessHandle.current` is this handle, and until
    /// `body` returns a cancel request of the entry cancels the current task (at once if one is pending already).
    /// Nothing escapes and nothing changes isolation, so `body` may use whatever its caller may: a middleware's
    /// `next`, an actor's state.
    ///
    /// A cancelled task stays cancelled: what the caller does with the same task after `body` sees it too
    /// (a connection's task, for instance, ends after its answer).
    public func withCurrentTask<Result>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws -> Result
    ) async rethrows -> Result {
        withUnsafeCurrentTask { task in
            if let task { entry.attachRunningTask(task) }
        }
        defer { entry.detachRunningTask() }
        return try await Self.$current.withValue(self, operation: body)
    }

    /// Ends the entry of an HTTP request with the status code it answered, kept as the attribute `http-status`.
    /// The final status is `cancelled` when a cancel reached the request (a cancel request, or its task
    /// cancelled), `failed: <error>` when `error` is given and no cancel reached it, and `ended` otherwise.
    public func finish(httpStatus: Int, error: (any Error)? = nil) {
        entry.setAttribute(Self.httpStatusAttribute, .number(Double(httpStatus)))
        let wasCancelled = entry.wasCancelRequested || Task.isCancelled
        if let error {
            finish(status: ProcessStatus.final(for: error, wasCancelled: wasCancelled))
        } else {
            finish(status: wasCancelled ? ProcessStatus.cancelled : ProcessStatus.ended)
        }
    }

    /// The attribute `finish(httpStatus:)` records the answer's status code in.
    public static let httpStatusAttribute = "http-status"
}
