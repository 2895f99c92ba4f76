/// How a `Collector` samples.
public struct CollectorOptions: Sendable, Hashable {
    /// Captures per second. The schedule is fixed: a slow capture makes the next ticks be skipped (and counted),
    /// never shifted.
    public var rate: Double
    /// How long to sample; nil: until `stop()`.
    public var duration: Duration?
    /// Stop after this many captures; nil: no limit.
    public var maxCaptures: Int?
    public var threads: ThreadSelection
    /// Distinct stacks kept; samples of further stacks are counted as dropped.
    public var maxStacks: Int
    /// A thread whose CPU time did not advance since its previous sample is not signalled again: its
    /// previous stack is counted again.
    public var idleBatching: Bool
    /// Keep thread-name patterns ("worker-#") apart in the profile.
    public var keepThreadNames: Bool
    /// Frames kept per stack.
    public var maxDepth: Int
    /// How long one capture waits for threads to answer.
    public var timeout: Duration
    /// Sample the Swift tasks too: where tasks spend their time suspended, by state. A task sample is a task
    /// capture (a scan of resident memory, milliseconds), so tasks are sampled at most `taskRate` times a second,
    /// every Nth tick, each task sample counting N: its counts read as the threads' do.
    public var tasks: Bool
    /// Task samples per second at most (when `tasks`).
    public var taskRate: Double

    public init(rate: Double = 100, duration: Duration? = nil, maxCaptures: Int? = nil,
                threads: ThreadSelection = .all, maxStacks: Int = 10_000, idleBatching: Bool = true,
                keepThreadNames: Bool = true, maxDepth: Int = 128, timeout: Duration = .milliseconds(100),
                tasks: Bool = false, taskRate: Double = 10) {
        self.rate = rate
        self.duration = duration
        self.maxCaptures = maxCaptures
        self.threads = threads
        self.maxStacks = maxStacks
        self.idleBatching = idleBatching
        self.keepThreadNames = keepThreadNames
        self.maxDepth = maxDepth
        self.timeout = timeout
        self.tasks = tasks
        self.taskRate = taskRate
    }

    /// Ticks from one task sample to the next: the rate over the task rate, at least 1.
    var ticksPerTaskSample: Int {
        guard tasks, taskRate > 0, taskRate.isFinite else { return 0 }
        return max(1, Int((rate / taskRate).rounded(.up)))
    }
}

/// What a collector did, for rates and overhead reports.
public struct CollectorStatistics: Sendable, Hashable {
    /// Captures taken (ticks served).
    public var captures = 0
    /// Ticks skipped because a capture overran its slot.
    public var missedTicks = 0
    /// Thread samples taken by signalling the thread.
    public var signalledSamples = 0
    /// Thread samples counted again without a signal (idle batching).
    public var batchedSamples = 0
    /// Thread samples without a stack (the thread did not answer).
    public var unansweredSamples = 0
    /// Task captures taken (`CollectorOptions.tasks`), those that failed, and the seconds they took together.
    public var taskCaptures = 0
    public var failedTaskCaptures = 0
    public var taskCaptureSeconds: Double = 0
    /// Seconds from the first capture to now (or to the end).
    public var elapsed: Double = 0
    /// Captures per second achieved.
    public var achievedRate: Double { elapsed > 0 ? Double(captures) / elapsed : 0 }
}
