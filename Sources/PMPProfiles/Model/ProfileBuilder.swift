/// Folds symbolized stacks into a profile: identical stacks (same frames, wait reason, thread-name pattern and
/// process) become one entry with a count. Bounded: past `maxStacks` distinct entries, samples are counted as
/// dropped.
public struct ProfileBuilder: Sendable {
    private struct Key: Hashable, Sendable {
        var frames: [Frame]
        var waitReason: WaitReason?
        var threadName: String?
        var process: String?
    }

    private var counter: StackCounter<Key>
    /// Snapshots added with `add(_:)`.
    public private(set) var captures = 0
    public private(set) var unansweredSamples = 0
    private var firstTime: Double?
    private var lastTime: Double?
    /// Keep thread-name patterns apart (otherwise `Stack.threadName` is nil).
    public var keepThreadNames: Bool

    public init(maxStacks: Int = 10_000, keepThreadNames: Bool = true) {
        counter = StackCounter(limit: maxStacks)
        self.keepThreadNames = keepThreadNames
    }

    /// Adds `count` samples of one stack (frames leaf first).
    public mutating func add(frames: [Frame], count: Int = 1, waitReason: WaitReason?, threadName: String?,
                             process: String? = nil) {
        counter.add(Key(frames: frames, waitReason: waitReason,
                        threadName: keepThreadNames ? threadName.map(ThreadNamePattern.of) : nil, process: process),
                    count: count)
    }

    /// Adds every thread and every task of a snapshot (those of `kinds`) as one sample each. A task's stack is
    /// its async backtrace, its wait reason its state as `TaskState.foldedText` says it.
    public mutating func add(_ snapshot: Snapshot, kinds: StackKinds = .all) {
        captures += 1
        firstTime = min(firstTime ?? snapshot.time, snapshot.time)
        lastTime = max(lastTime ?? snapshot.time, snapshot.time + snapshot.elapsed)
        if kinds.includesThreads {
            for thread in snapshot.threads {
                if thread.failure == .captureThread { continue }
                if thread.failure != nil {
                    unansweredSamples += 1
                    continue
                }
                add(frames: thread.frames, waitReason: thread.waitReason, threadName: thread.name)
            }
        }
        if kinds.includesTasks {
            // A task not started yet has no frames: nothing to place in a profile.
            for task in snapshot.tasks where !task.frames.isEmpty {
                add(frames: task.frames, waitReason: WaitReason(task.state.foldedText), threadName: nil)
            }
        }
    }

    /// Samples counted as dropped elsewhere (an upstream limit).
    public mutating func addDropped(_ count: Int) { counter.drop(count: count) }
    public mutating func addUnanswered(_ count: Int) { unansweredSamples += count }
    public mutating func addCaptures(_ count: Int) { captures += count }

    /// The profile so far, most frequent stacks first (ties in a stable order: by the leaf-first names).
    public func build(startTime: Double? = nil, duration: Double? = nil, requestedRate: Double? = nil,
                      achievedRate: Double? = nil, source: String? = nil) -> Profile {
        var stacks: [Profile.Stack] = []
        stacks.reserveCapacity(counter.keys.count)
        for (key, count) in zip(counter.keys, counter.counts) {
            stacks.append(Profile.Stack(frames: key.frames, count: count, waitReason: key.waitReason,
                                        threadName: key.threadName, process: key.process))
        }
        stacks.sort(by: Profile.Stack.isMoreFrequent)
        return Profile(stacks: stacks, startTime: startTime ?? firstTime,
                       duration: duration ?? ((lastTime ?? 0) - (firstTime ?? 0)), captures: captures,
                       requestedRate: requestedRate, achievedRate: achievedRate,
                       droppedSamples: counter.droppedSamples, unansweredSamples: unansweredSamples, source: source)
    }
}

extension Profile.Stack {
    /// Sort order of profiles: higher count first, then a deterministic order of the stacks themselves.
    public static func isMoreFrequent(_ a: Profile.Stack, _ b: Profile.Stack) -> Bool {
        if a.count != b.count { return a.count > b.count }
        let n = min(a.frames.count, b.frames.count)
        for i in 0..<n where a.frames[i].function != b.frames[i].function {
            return a.frames[i].function < b.frames[i].function
        }
        if a.frames.count != b.frames.count { return a.frames.count < b.frames.count }
        if a.waitReason != b.waitReason { return (a.waitReason?.rawValue ?? "") < (b.waitReason?.rawValue ?? "") }
        if a.threadName != b.threadName { return (a.threadName ?? "") < (b.threadName ?? "") }
        return (a.process ?? "") < (b.process ?? "")
    }
}
