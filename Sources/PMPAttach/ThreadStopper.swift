#if canImport(Glibc)
import Glibc
#endif
import CPMPCapture
import PMP

/// Stops the threads of another process with ptrace, copies each one's registers and live stack, and lets it
/// go: one thread at a time (each stopped for tens of microseconds, the others running on), or all together
/// for one coherent picture. Every ptrace call comes from the thread that made the stopper (ptrace belongs to
/// the tracing thread). Nothing is ever left stopped: waits have deadlines, the job-control signals that could
/// stop this tracer are blocked, and the kernel lets every tracee go when a tracer dies.
final class ThreadStopper {
    struct Options {
        /// How long to wait for one thread to stop.
        var stopTimeoutNanoseconds: Int64 = 100_000_000
        /// At most this much of a stack is copied.
        var maxStackBytes: Int = 1 << 20
    }

    struct Outcome {
        var copies: [ThreadCopy] = []
        var missed: [MissedThread] = []
        /// Monotonic nanoseconds: the first interrupt and the last detach.
        var stopPhaseStart: Int64 = 0
        var stopPhaseEnd: Int64 = 0
        /// With all threads stopped together: from the moment the last one stopped to the first detach, the
        /// whole process was frozen; nil one thread at a time.
        var allStopped: (start: Int64, end: Int64)?
    }

    let pid: Int32
    let options: Options
    private let signalFD: Int32
    private var map: MemoryMap
    private var scratch: UnsafeMutableRawBufferPointer
    /// Threads that did not stop in time: still traced, detached as soon as they stop.
    private(set) var pending: Set<Int32> = []

    init(pid: Int32, options: Options) {
        self.pid = pid
        self.options = options
        let fd = pmp_attach_prepare_tracer()
        signalFD = fd >= 0 ? fd : -1
        map = MemoryMap(pid: pid)
        scratch = .allocate(byteCount: max(4096, options.maxStackBytes), alignment: 16)
        // Touch every page now so the copy in the stop window takes no page faults.
        scratch.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit {
        releasePending(waitNanoseconds: 0)
        scratch.deallocate()
        if signalFD >= 0 { close(signalFD) }
    }

    /// Seizes `tid` (no stop, no signal). Throws the explanation when the very first attach is refused.
    private func seize(_ tid: Int32) -> Int32 {
        pmp_attach_seize(tid)
    }

    /// One thread at a time: seize, interrupt, wait, copy, detach, next. `first` explains a refusal of the
    /// process's first thread (later refusals are threads that exited or were taken by another tracer).
    func copyOneAtATime(_ tids: [Int32]) throws(AttachError) -> Outcome {
        var outcome = Outcome()
        outcome.stopPhaseStart = pmp_attach_now_ns()
        var refusedFirst = true
        for tid in tids {
            let seized = seize(tid)
            if seized != 0 {
                if refusedFirst { throw TargetProcess.diagnose(pid: pid, seizeError: seized) }
                outcome.missed.append(MissedThread(tid: tid, failure: seized == ESRCH ? .exited : .signalBlocked))
                continue
            }
            refusedFirst = false
            switch stopAndCopy(tid, detach: true) {
            case .copied(let copy): outcome.copies.append(copy)
            case .missed(let failure): outcome.missed.append(MissedThread(tid: tid, failure: failure))
            }
        }
        outcome.stopPhaseEnd = pmp_attach_now_ns()
        return outcome
    }

    /// All threads together: seize and interrupt every one (again for threads that appear meanwhile), copy
    /// each, then let them all go.
    func copyAllTogether(_ initial: [Int32], rescan: () -> [Int32]) throws(AttachError) -> Outcome {
        var outcome = Outcome()
        var seized: [Int32] = []
        var known = Set<Int32>()
        var refusedFirst = true
        outcome.stopPhaseStart = pmp_attach_now_ns()
        var batch = initial
        for _ in 0..<8 {
            var interrupted: [Int32] = []
            for tid in batch where !known.contains(tid) {
                known.insert(tid)
                let result = seize(tid)
                if result != 0 {
                    if refusedFirst { throw TargetProcess.diagnose(pid: pid, seizeError: result) }
                    outcome.missed.append(MissedThread(tid: tid, failure: result == ESRCH ? .exited : .signalBlocked))
                    continue
                }
                refusedFirst = false
                if pmp_attach_interrupt(tid) == 0 { interrupted.append(tid) }
                seized.append(tid)
            }
            if interrupted.isEmpty { break }
            batch = rescan()
            if batch.allSatisfy({ known.contains($0) }) { break }
        }
        var stopped: [(tid: Int32, signal: Int32, group: Bool, start: Int64)] = []
        for tid in seized {
            switch waitForStop(tid) {
            case .stopped(let signal, let group): stopped.append((tid, signal, group, outcome.stopPhaseStart))
            case .gone: outcome.missed.append(MissedThread(tid: tid, failure: .exited))
            case .timedOut:
                pending.insert(tid)
                outcome.missed.append(MissedThread(tid: tid, failure: .timedOut))
            }
        }
        let frozenStart = pmp_attach_now_ns()
        var copies: [ThreadCopy] = []
        for thread in stopped {
            if var copy = copy(thread.tid, ownBuffer: true) {
                copy.groupStopped = thread.group
                copies.append(copy)
            } else {
                outcome.missed.append(MissedThread(tid: thread.tid, failure: .exited))
            }
        }
        let frozenEnd = pmp_attach_now_ns()
        for thread in stopped { _ = pmp_attach_detach(thread.tid, thread.signal) }
        outcome.stopPhaseEnd = pmp_attach_now_ns()
        for index in copies.indices { copies[index].stopNanoseconds = outcome.stopPhaseEnd - outcome.stopPhaseStart }
        outcome.copies = copies
        outcome.allStopped = (frozenStart, frozenEnd)
        return outcome
    }

    enum CopyResult {
        case copied(ThreadCopy)
        case missed(CaptureFailure)
    }

    private enum StopResult {
        case stopped(signal: Int32, group: Bool)
        case gone
        case timedOut
    }

    /// Interrupts a seized thread, copies it and detaches it.
    func stopAndCopy(_ tid: Int32, detach: Bool) -> CopyResult {
        let start = pmp_attach_now_ns()
        guard pmp_attach_interrupt(tid) == 0 else { return .missed(.exited) }
        switch waitForStop(tid) {
        case .gone: return .missed(.exited)
        case .timedOut:
            pending.insert(tid)
            return .missed(.timedOut)
        case .stopped(let signal, let group):
            let copied = copyInPlace(tid)
            _ = pmp_attach_detach(tid, signal)
            let end = pmp_attach_now_ns()
            guard let copied else { return .missed(.exited) }
            // Out of the stop window: the stack leaves the scratch buffer for its own.
            return .copied(ThreadCopy(tid: tid, registers: copied.registers, stackBase: copied.registers.rsp,
                                      stack: Array(UnsafeRawBufferPointer(rebasing: scratch[0..<copied.length])),
                                      stackCut: copied.cut, stopNanoseconds: end - start, groupStopped: group))
        }
    }

    private func waitForStop(_ tid: Int32) -> StopResult {
        var status: Int32 = 0
        let result = pmp_attach_wait_stop(tid, signalFD, options.stopTimeoutNanoseconds, &status)
        if result == ETIMEDOUT { return .timedOut }
        guard result == 0, Self.isStopped(status) else { return .gone }
        let event = (status >> 16) & 0xff
        let signal = (status >> 8) & 0xff
        // PTRACE_EVENT_STOP: our interrupt, or a group stop (the process was stopped by job control) when the
        // stop signal is one of the four; anything else is a signal on its way in, delivered again at detach.
        if event == 128 {
            let group = signal == SIGSTOP || signal == SIGTSTP || signal == SIGTTIN || signal == SIGTTOU
            return .stopped(signal: 0, group: group)
        }
        return .stopped(signal: signal == SIGTRAP ? 0 : signal, group: false)
    }

    private static func isStopped(_ status: Int32) -> Bool { status & 0xff == 0x7f }

    /// Registers and one read of the live stack into the scratch buffer: nothing allocated while stopped.
    private func copyInPlace(_ tid: Int32) -> (registers: pmp_attach_registers, length: Int, cut: Bool)? {
        var registers = pmp_attach_registers()
        guard pmp_attach_registers_of(tid, &registers) == 0 else { return nil }
        let sp = registers.rsp
        var region = map.region(containing: sp)
        if region == nil {
            map = MemoryMap(pid: pid)  // a thread newer than the map
            region = map.region(containing: sp)
        }
        let top = region?.end ?? (sp &+ 65536)
        let wanted = Int(min(UInt64(options.maxStackBytes), top &- sp))
        let got = wanted > 0 ? pmp_attach_read(pid, sp, scratch.baseAddress, wanted) : 0
        let length = max(0, got)
        return (registers, length, wanted < Int(top &- sp) || length < wanted)
    }

    /// The same, keeping a copy of its own (all threads are stopped together, the scratch buffer is reused).
    private func copy(_ tid: Int32, ownBuffer: Bool) -> ThreadCopy? {
        guard let copied = copyInPlace(tid) else { return nil }
        return ThreadCopy(tid: tid, registers: copied.registers, stackBase: copied.registers.rsp,
                          stack: Array(UnsafeRawBufferPointer(rebasing: scratch[0..<copied.length])),
                          stackCut: copied.cut, stopNanoseconds: 0, groupStopped: false)
    }

    /// Detaches the threads that stopped late; with `waitNanoseconds` 0, only those that have stopped by now.
    func releasePending(waitNanoseconds: Int64) {
        for tid in pending {
            var status: Int32 = 0
            let result = pmp_attach_wait_stop(tid, signalFD, waitNanoseconds, &status)
            if result == 0, Self.isStopped(status) {
                let signal = (status >> 16) & 0xff == 128 ? 0 : (status >> 8) & 0xff
                _ = pmp_attach_detach(tid, signal == SIGTRAP ? 0 : signal)
                pending.remove(tid)
            } else if result != ETIMEDOUT {
                pending.remove(tid)
            }
        }
    }
}
