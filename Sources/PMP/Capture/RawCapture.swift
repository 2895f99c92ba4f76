import PMPProfiles

/// A capture before symbols: what the signal handlers wrote, plus what the kernel said of each thread.
public struct RawCapture: Sendable {
    public struct Thread: Sendable {
        public var tid: Int32
        public var name: String
        public var kernelState: Character
        public var cpuNanoseconds: UInt64
        /// Leaf first. Empty when `failure` is set.
        public var addresses: [UInt64]
        public var truncated: Bool
        public var failure: CaptureFailure?
        /// Seconds without CPU progress, when known.
        public var blockedFor: Double?
        /// The thread's CPU clock right after its stack was taken (by the handler); nil without a stack.
        public var stackCPUNanoseconds: UInt64? = nil
        /// Its system-call registers when interrupted; nil without a stack.
        public var registers: Registers? = nil
        /// The Swift task it was running (address), and the async context register then; 0 when none.
        public var currentTask: UInt64 = 0
        public var asyncContext: UInt64 = 0
    }

    /// The registers that name a system call and its first arguments, as the handler found them.
    public struct Registers: Sendable, Hashable {
        public var arg0: UInt64
        public var arg1: UInt64
        /// The call's number when the kernel restarts the call after the handler (a wait the signal interrupted).
        public var number: UInt64
    }

    public var pid: Int32
    /// Wall clock at the start, seconds since 1970.
    public var time: Double
    /// From the first signal to the last answer (or the timeout), in seconds.
    public var elapsed: Double
    public var maxDepth: Int
    public var threads: [Thread]
    /// Every live Swift task, when the capture looked for them.
    public var tasks: RawTasks? = nil
}
