/// Why a thread's stack is missing from a capture.
public enum CaptureFailure: String, Sendable, Hashable, Codable {
    /// The thread blocks the capture signal.
    case signalBlocked = "signal blocked"
    /// The thread ended before it could answer.
    case exited = "exited"
    /// The thread did not answer within the capture timeout (stopped, in uninterruptible sleep, or starved).
    case timedOut = "timed out"
    /// The kernel refused to queue another signal for it.
    case signalQueueFull = "signal queue full"
    /// No free slot (more threads than the configured slot count).
    case noSlot = "no slot"
    /// The capture thread itself: it does not signal itself.
    case captureThread = "capture thread"
}

/// One thread at the moment of a capture.
public struct ThreadSnapshot: Sendable, Hashable, Codable {
    public var tid: Int32
    public var name: String
    /// The one-letter kernel state when the capture began (R, S, D, T, Z, …).
    public var kernelState: String
    public var waitReason: WaitReason
    /// How long the thread has made no CPU progress, in seconds, when that is known.
    public var blockedFor: Double?
    /// CPU time consumed by the thread so far, in seconds.
    public var cpuTime: Double
    /// Frames from the leaf (index 0) to the root.
    public var frames: [Frame]
    /// The stack was deeper than the capture depth and was cut at its root end.
    public var truncated: Bool
    /// Set when the thread's stack could not be captured.
    public var failure: CaptureFailure?
    /// Who holds the lock it waits for, when the lock names its owner (pthread mutexes, PI futexes such as Swift's
    /// `Mutex`).
    public var heldBy: LockHolder?
    /// The id of the Swift task it was running, when it was running one.
    public var task: UInt64?

    public init(tid: Int32, name: String, kernelState: String, waitReason: WaitReason, blockedFor: Double? = nil,
                cpuTime: Double, frames: [Frame], truncated: Bool = false, failure: CaptureFailure? = nil,
                heldBy: LockHolder? = nil, task: UInt64? = nil) {
        self.tid = tid
        self.name = name
        self.kernelState = kernelState
        self.waitReason = waitReason
        self.blockedFor = blockedFor
        self.cpuTime = cpuTime
        self.frames = frames
        self.truncated = truncated
        self.failure = failure
        self.heldBy = heldBy
        self.task = task
    }
}
