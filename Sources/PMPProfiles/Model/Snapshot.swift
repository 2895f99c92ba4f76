/// Every thread of a process at one moment: what `kill -USR1` prints and `GET /stacks` returns.
public struct Snapshot: Sendable, Hashable, Codable {
    public var pid: Int32
    /// Wall-clock time of the capture, seconds since 1970 (UTC), millisecond precision.
    public var time: Double
    /// Time from the first signal sent to the last stack received, in seconds.
    public var elapsed: Double
    /// The frame limit per stack in force for this capture.
    public var maxDepth: Int
    public var threads: [ThreadSnapshot]
    /// Every live Swift concurrency task, when the capture looked for them (`tasks` summary set).
    public var tasks: [TaskSnapshot]
    /// How the tasks were found; nil when the capture did not look for them.
    public var taskSummary: TaskSummary?

    public init(pid: Int32, time: Double, elapsed: Double, maxDepth: Int, threads: [ThreadSnapshot],
                tasks: [TaskSnapshot] = [], taskSummary: TaskSummary? = nil) {
        self.pid = pid
        self.time = time
        self.elapsed = elapsed
        self.maxDepth = maxDepth
        self.threads = threads
        self.tasks = tasks
        self.taskSummary = taskSummary
    }

    private enum CodingKeys: String, CodingKey {
        case pid, time, elapsed, maxDepth, threads, tasks, taskSummary
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        pid = try container.decode(Int32.self, forKey: .pid)
        time = try container.decode(Double.self, forKey: .time)
        elapsed = try container.decode(Double.self, forKey: .elapsed)
        maxDepth = try container.decode(Int.self, forKey: .maxDepth)
        threads = try container.decode([ThreadSnapshot].self, forKey: .threads)
        tasks = try container.decodeIfPresent([TaskSnapshot].self, forKey: .tasks) ?? []
        taskSummary = try container.decodeIfPresent(TaskSummary.self, forKey: .taskSummary)
    }

    /// Threads whose stack was captured.
    public var capturedCount: Int { threads.lazy.filter { $0.failure == nil }.count }
}

extension Snapshot {
    /// The snapshot with every frame showing its full name (`--full-names`).
    public var showingFullNames: Snapshot {
        var snapshot = self
        for index in snapshot.threads.indices {
            snapshot.threads[index].frames = snapshot.threads[index].frames.map(\.showingFullName)
        }
        for index in snapshot.tasks.indices {
            snapshot.tasks[index].frames = snapshot.tasks[index].frames.map(\.showingFullName)
        }
        return snapshot
    }
}
