import PMPSupport
/// Many stacks folded together: where threads spent their samples, most frequent first.
///
/// Made by the in-process `Collector` (from captures) and by `pmp-aggregate` (from dumps found in logs);
/// written by every renderer under Formats/.
public struct Profile: Sendable, Hashable, Codable {
    /// One distinct stack and how many samples landed on it.
    public struct Stack: Sendable, Hashable, Codable {
        /// Frames from the leaf (index 0) to the root.
        public var frames: [Frame]
        /// Samples (thread observations) with this stack.
        public var count: Int
        /// The wait reason shared by those samples; nil when the source does not say or reasons were merged.
        public var waitReason: WaitReason?
        /// The thread-name pattern ("worker-#") of those samples; nil when names were not kept.
        public var threadName: String?
        /// The process the samples came from ("1234" for a pid); nil when processes were merged.
        public var process: String?
        /// When samples with different wait reasons folded together (`waitReason` is nil): the samples of each
        /// reason ("" for samples without one).
        public var waitReasonCounts: [String: Int]?

        public init(frames: [Frame], count: Int, waitReason: WaitReason? = nil, threadName: String? = nil,
                    process: String? = nil, waitReasonCounts: [String: Int]? = nil) {
            self.frames = frames
            self.count = count
            self.waitReason = waitReason
            self.threadName = threadName
            self.process = process
            self.waitReasonCounts = waitReasonCounts
        }
    }

    /// Distinct stacks, most frequent first.
    public var stacks: [Stack]
    /// Wall-clock time of the first sample, seconds since 1970; nil when unknown (dumps without a time).
    public var startTime: Double?
    /// Seconds from the first sample to the end of the last.
    public var duration: Double
    /// Snapshots taken (collector) or dumps read (aggregate).
    public var captures: Int
    /// The sampling rate asked for, in Hz; nil for aggregated dumps.
    public var requestedRate: Double?
    /// Captures per second actually taken.
    public var achievedRate: Double?
    /// Samples not kept because the distinct-stack limit was reached. They are counted, never lost silently.
    public var droppedSamples: Int
    /// Thread observations without a stack (the thread did not answer the capture signal).
    public var unansweredSamples: Int
    /// Where the samples came from: "pid 1234", file names, ….
    public var source: String?

    public init(stacks: [Stack], startTime: Double? = nil, duration: Double = 0, captures: Int = 0,
                requestedRate: Double? = nil, achievedRate: Double? = nil, droppedSamples: Int = 0,
                unansweredSamples: Int = 0, source: String? = nil) {
        self.stacks = stacks
        self.startTime = startTime
        self.duration = duration
        self.captures = captures
        self.requestedRate = requestedRate
        self.achievedRate = achievedRate
        self.droppedSamples = droppedSamples
        self.unansweredSamples = unansweredSamples
        self.source = source
    }

    /// Samples kept in `stacks`.
    /// Saturates at `Int.max`: counts read from a file can be anything.
    public var sampleCount: Int {
        stacks.reduce(0) { $0.addingSaturated($1.count) }
    }

    /// Wall time one sample stands for, in nanoseconds (for pprof's wall-time value): the sampling interval,
    /// or 0 when the samples were not taken at a known rate.
    public var nanosecondsPerSample: Int64 {
        guard let rate = achievedRate ?? requestedRate, rate > 0 else { return 0 }
        return Int64((1e9 / rate).rounded())
    }
}

extension Profile {
    /// The profile with every frame showing its full name (`--full-names`).
    public var showingFullNames: Profile {
        var profile = self
        for index in profile.stacks.indices {
            profile.stacks[index].frames = profile.stacks[index].frames.map(\.showingFullName)
        }
        return profile
    }
}
