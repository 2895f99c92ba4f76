import PMPProfiles
/// One task as read from memory, before symbols.
public struct RawTask: Sendable, Hashable {
    public var address: UInt64
    public var id: UInt64
    public var jobFlags: UInt32
    /// ActiveTaskStatus flags; 0 when only the compiler-ABI fields were read.
    public var statusFlags: UInt32
    public var resumeFunction: UInt64
    public var resumeContext: UInt64
    /// The entry point of a task that has not started; 0 otherwise.
    public var entryFunction: UInt64
    public var parent: UInt64
    public var group: UInt64
    public var basePriority: UInt64
    /// 0 none, 1 task, 2 continuation, 3 task group, 4 enqueued on an executor.
    public var dependencyKind: UInt32
    public var dependencyTarget: UInt64
    public var name: String?
    /// Resume functions, innermost first (function entries: no return-address adjustment).
    public var frames: [UInt64]
    public var framesTruncated: Bool
    /// Its header moved while it was being read: the fields may mix two moments.
    public var changed: Bool
    /// The executor's type name when it is enqueued on an actor (read from the actor's isa), else nil.
    public var executorMetadata: UInt64 = 0
    /// Seconds in this same suspension across captures (`SuspensionTracker`), when known.
    public var suspendedFor: Double? = nil
    /// The thread running it, when a capture handler saw it there.
    public var thread: Int32? = nil

    static let statusCancelled: UInt32 = 0x100
    static let statusRunning: UInt32 = 0x800
    static let statusEnqueued: UInt32 = 0x1000
    static let statusHasDependency: UInt32 = 0x4000
    static let jobChild: UInt32 = 1 << 24
    static let jobGroupChild: UInt32 = 1 << 26
    static let jobAsyncLet: UInt32 = 1 << 28
}

/// The tasks of one capture, before symbols.
public struct RawTasks: Sendable {
    public var tasks: [RawTask]
    /// Whether every field was decoded (the layout is known and verified) or only the compiler-ABI ones.
    public var fullLayout: Bool
    public var summary: TaskSummary
}
