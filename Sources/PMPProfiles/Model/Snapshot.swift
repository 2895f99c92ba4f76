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

    public init(pid: Int32, time: Double, elapsed: Double, maxDepth: Int, threads: [ThreadSnapshot]) {
        self.pid = pid
        self.time = time
        self.elapsed = elapsed
        self.maxDepth = maxDepth
        self.threads = threads
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
        return snapshot
    }
}
