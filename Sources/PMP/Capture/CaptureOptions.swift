#if canImport(Glibc)
import Glibc
#endif
import CPMPCapture

/// Which threads a capture signals.
public enum ThreadSelection: Sendable, Hashable {
    /// Every thread in /proc/self/task (the default).
    case all
    /// Only threads registered with `PMP.registerCurrentThread(name:)`.
    case registered
    /// These thread ids.
    case threads([Int32])
}

/// How one capture is taken.
public struct CaptureOptions: Sendable, Hashable {
    public var threads: ThreadSelection
    /// How long to wait for threads to answer before reporting them as not answering.
    public var timeout: Duration
    /// Frames kept per stack (at most the engine's configured depth); deeper stacks are marked truncated.
    public var maxDepth: Int
    /// How long the caller waits for the capture thread (busy with other captures, or stuck) before it gets
    /// `CaptureThreadError.notResponding` instead of a capture.
    public var waitLimit: Duration
    /// Whether to list Swift concurrency tasks too. Default: when every thread is captured.
    public var tasks: Bool
    /// The longest the search for tasks may take; the tasks not reached by then are left out, and the dump
    /// says so.
    public var taskTimeLimit: Duration

    public init(threads: ThreadSelection = .all, timeout: Duration = .milliseconds(100), maxDepth: Int = 128,
                waitLimit: Duration = .seconds(15), tasks: Bool? = nil, taskTimeLimit: Duration = .seconds(2)) {
        self.threads = threads
        self.timeout = timeout
        self.maxDepth = maxDepth
        self.waitLimit = waitLimit
        self.tasks = tasks ?? (threads == .all)
        self.taskTimeLimit = taskTimeLimit
    }

    /// The Swift tasks alone, no thread signalled: what a task profile's sample and `/procs?tasks=1` need.
    public static func tasksOnly(waitLimit: Duration = .seconds(15)) -> CaptureOptions {
        CaptureOptions(threads: .threads([]), waitLimit: waitLimit, tasks: true)
    }
}

/// Process-wide settings of the capture engine, fixed at its first use.
public struct EngineConfiguration: Sendable, Hashable {
    /// The signal the capture handler is installed on. Default: `PMP_CAPTURE_SIGNAL`, else SIGPROF, else (when
    /// SIGPROF already has a handler) SIGRTMIN+5. SIGPROF is the default because libdispatch's worker threads
    /// (which run Swift concurrency's cooperative pool on Linux) block every asynchronous signal but SIGPROF.
    public var captureSignal: Int32
    /// Tried in order when `captureSignal` already has a handler and `force` is false.
    public var fallbackSignals: [Int32]
    /// Preallocated slots: the most threads one capture can signal.
    public var slotCount: Int
    /// The deepest stack a slot holds.
    public var maxDepth: Int
    /// Install over an existing handler of the capture signal.
    public var force: Bool
    /// Unwind through libunwind's local address space instead of swift-pmp's own: slower, for comparisons and
    /// as an escape hatch. Default: whether `PMP_LOCAL_UNWIND` is set.
    public var localUnwind: Bool
    /// Whether process_vm_readv may be called (handlers probe pages with it; lock owners are read with it).
    /// Default: no seccomp filter is on, which might kill the process for a call it does not expect.
    var memoryReadsAllowed: Bool

    public init(captureSignal: Int32? = nil, slotCount: Int = 8192, maxDepth: Int = 256, force: Bool = false,
                localUnwind: Bool? = nil) {
        if let chosen = captureSignal ?? EngineConfiguration.environmentCaptureSignal() {
            self.captureSignal = chosen
            self.fallbackSignals = []
        } else {
            self.captureSignal = SIGPROF
            self.fallbackSignals = [pmp_sigrtmin() + 5]
        }
        self.slotCount = slotCount
        self.maxDepth = maxDepth
        self.force = force
        self.localUnwind = localUnwind ?? (getenvString("PMP_LOCAL_UNWIND") != nil)
        self.memoryReadsAllowed = !SeccompFilter.isOn()
    }

    static func environmentCaptureSignal() -> Int32? {
        getenvString("PMP_CAPTURE_SIGNAL").flatMap { SignalName.parse($0) }
    }
}
