/// The task running an entry's work in its caller's task, for a cancel request to cancel it.
///
/// `UnsafeCurrentTask` is not Sendable because it must not outlive its task. The entry keeps it only between
/// `attachRunningTask` and `detachRunningTask`, both called from inside that task, and uses it only under the
/// lock `detachRunningTask` takes, so it is never used after the task has moved on.
struct RunningTask: @unchecked Sendable {
    let task: UnsafeCurrentTask
}
