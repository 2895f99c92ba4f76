/// One Swift concurrency task at the moment of a capture: the goroutine of a Swift program.
public struct TaskSnapshot: Sendable, Hashable, Codable {
    /// The runtime's task id (what `Task` prints in the debugger).
    public var id: UInt64
    /// `Task(name:)`, when given.
    public var name: String?
    public var state: TaskState
    /// The current priority (0–255; 25 user-initiated, 21 medium, 17 low, 9 background), and the one it was
    /// created with.
    public var priority: Int
    public var basePriority: Int?
    /// The task that created it, for child tasks (`async let`, task groups).
    public var parent: UInt64?
    /// Its child tasks, and the tasks suspended until it finishes.
    public var children: [UInt64]
    public var awaitedBy: [UInt64]
    public var cancelled: Bool
    /// `async-let`, `group-child`, `child`, or nil for an unstructured task.
    public var kind: String?
    /// How long the task has been in this same suspension (resume point, context and state unchanged across
    /// captures): at least this long. Nil the first time a capture sees it so, and for running tasks.
    public var suspendedFor: Double?
    /// The async backtrace, innermost first: the function it resumes in, then its async callers up to the
    /// task's entry. For a running task, the chain from the context it runs with.
    public var frames: [Frame]
    /// The chain was longer than the frame limit.
    public var truncated: Bool
    /// Where the task object is in the captured process's memory, for joining it with what holds a reference to
    /// it (a process-table entry's task); nil when read back from a dump.
    public var address: UInt64?

    public init(id: UInt64, name: String? = nil, state: TaskState, priority: Int = 0, basePriority: Int? = nil,
                parent: UInt64? = nil, children: [UInt64] = [], awaitedBy: [UInt64] = [], cancelled: Bool = false,
                kind: String? = nil, suspendedFor: Double? = nil, frames: [Frame] = [], truncated: Bool = false,
                address: UInt64? = nil) {
        self.id = id
        self.name = name
        self.state = state
        self.priority = priority
        self.basePriority = basePriority
        self.parent = parent
        self.children = children
        self.awaitedBy = awaitedBy
        self.cancelled = cancelled
        self.kind = kind
        self.suspendedFor = suspendedFor
        self.frames = frames
        self.truncated = truncated
        self.address = address
    }
}
