import CPMPCapture
import PMP

/// What was copied of one thread while it was stopped: its registers and its live stack, `[rsp, top)`.
struct ThreadCopy: Sendable {
    var tid: Int32
    var registers: pmp_attach_registers
    /// The address of `stack[0]` (the stack pointer when stopped).
    var stackBase: UInt64
    var stack: [UInt8]
    /// The copy stopped at the cap, before the top of the stack mapping.
    var stackCut: Bool
    /// How long the thread was stopped, interrupt to detach, in nanoseconds.
    var stopNanoseconds: Int64
    /// The stop was a job-control stop: the process was stopped before the dump and stays so.
    var groupStopped: Bool

    /// The system call the thread was in (or is restarting), when it was in one.
    var systemCall: Int64? {
        let number = Int64(bitPattern: registers.orig_rax)
        return number >= 0 ? number : nil
    }
}

/// A thread that could not be copied, and why.
struct MissedThread: Sendable {
    var tid: Int32
    var failure: CaptureFailure
}
