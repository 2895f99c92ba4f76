#if canImport(Glibc)
import Glibc
#endif
import CPMPCapture
import PMPProfiles

/// Errors of setting the capture engine up.
public enum CaptureError: Error, CustomStringConvertible, Sendable {
    case signalInUse(Int32)
    case installFailed(Int32, errno: Int32)
    case alreadyInstalled(Int32)
    case unwinderUnavailable(String)
    /// The threads could not be listed or read in /proc: no capture, rather than an empty one.
    case procUnreadable(ProcReadError)

    public var description: String {
        switch self {
        case .signalInUse(let signal):
            return "the capture signal \(SignalName.describe(signal)) already has a handler; choose another with PMP_CAPTURE_SIGNAL or force it"
        case .installFailed(let signal, let code):
            return "installing the capture handler on \(SignalName.describe(signal)) failed: \(String(cString: strerror(code)))"
        case .unwinderUnavailable(let reason):
            return "libunwind could not be loaded (install libunwind8): \(reason)"
        case .alreadyInstalled(let signal):
            return "the capture engine is already installed on \(SignalName.describe(signal))"
        case .procUnreadable(let error):
            return "the threads could not be read: \(error)"
        }
    }
}

/// Drives captures: signals the selected threads at once, waits for their handlers with a timeout, and reads
/// the slots back. Runs on the capture thread only (which never signals itself).
final class CaptureEngine {
    let configuration: EngineConfiguration
    private var tracker = BlockedTimeTracker()
    /// Threads found blocking the capture signal: checked before they are signalled again, so that pending
    /// signals do not pile up in their queue.
    private var knownBlocking: Set<Int32> = []
    private let ownPid = getpid()
    private lazy var taskCapture = TaskCapture()
    private var suspensions = SuspensionTracker()

    init(configuration: EngineConfiguration) throws {
        var configuration = configuration
        var result: Int32 = 0
        for signal in [configuration.captureSignal] + configuration.fallbackSignals {
            var options = pmp_capture_options(signo: signal, slot_count: Int32(configuration.slotCount),
                                              max_depth: Int32(configuration.maxDepth), force: configuration.force ? 1 : 0,
                                              local_unwind: configuration.localUnwind ? 1 : 0,
                                              memory_reads_allowed: configuration.memoryReadsAllowed ? 1 : 0)
            result = pmp_capture_install(&options)
            if result != -EBUSY {
                configuration.captureSignal = signal
                break
            }
        }
        self.configuration = configuration
        switch result {
        case 0: break
        case -EBUSY: throw CaptureError.signalInUse(configuration.captureSignal)
        case -EALREADY: throw CaptureError.alreadyInstalled(pmp_capture_signal())
        case -ELIBACC, -ELIBBAD: throw CaptureError.unwinderUnavailable(String(cString: pmp_capture_load_error()))
        default: throw CaptureError.installFailed(configuration.captureSignal, errno: -result)
        }
    }

    /// A signalled thread whose answer is awaited.
    private struct Pending {
        var index: Int  // into threads
        var slot: Int32
        var generation: UInt64
    }

    /// What one capture has learnt so far: every thread (in tid order), which of them to signal, and the
    /// registered threads found gone.
    private struct Round {
        var threads: [RawCapture.Thread] = []
        var toSignal: [Int] = []  // indexes into threads
        var gone: [Int32] = []
    }

    /// Why a signalled thread has not answered: gone, blocking the signal, or nil (no reason known yet).
    private func silence(of tid: Int32) -> CaptureFailure? {
        switch ThreadStat.blocksSignal(tid: tid, signal: configuration.captureSignal) {
        case nil: return .exited
        case true?: return .signalBlocked
        case false?: return nil
        }
    }

    func capture(_ options: CaptureOptions) throws(CaptureError) -> RawCapture {
        let tids = try threadIDs(selectedBy: options.threads)
        let depth = max(1, min(options.maxDepth, configuration.maxDepth))
        let wallTime = Clock.wallSeconds()
        var round = try observeBeforeSignals(tids)
        // Images loaded or unloaded since the last capture: the handlers' map of code must know them first.
        _ = pmp_capture_refresh_images()
        let start = Clock.monotonicNanoseconds()
        let completionsBefore = pmp_completions()
        let pending = signal(&round)
        let deadline = start + UInt64(max(0, options.timeout.nanoseconds))
        let silent = awaitAnswers(pending, threads: round.threads, completionsBefore: completionsBefore,
                                  deadline: deadline)
        var end = Clock.monotonicNanoseconds()
        if let graceEnd = collectStacks(pending, silent: silent, depth: depth, into: &round.threads) {
            end = max(end, graceEnd)
        }
        forgetThreadsGone(round, selection: options.threads)
        var raw = RawCapture(pid: ownPid, time: (wallTime * 1000).rounded() / 1000,
                             elapsed: Double(end &- start) / 1e9, maxDepth: depth, threads: round.threads)
        if options.tasks { raw.tasks = captureTasks(threads: round.threads, timeLimit: options.taskTimeLimit) }
        return raw
    }

    /// Verifies the task layout with the probe task now rather than at the first dump.
    func prepareTasks() { taskCapture.prepare() }

    private func captureTasks(threads: [RawCapture.Thread], timeLimit: Duration) -> RawTasks {
        var running: [UInt64: TaskCapture.RunningTask] = [:]
        for thread in threads where thread.currentTask != 0 {
            running[thread.currentTask] = TaskCapture.RunningTask(tid: thread.tid, asyncContext: thread.asyncContext)
        }
        var tasks = taskCapture.capture(running: running, timeLimit: timeLimit)
        let now = Clock.monotonicNanoseconds()
        for index in tasks.tasks.indices {
            let thread = running[tasks.tasks[index].address]?.tid
            tasks.tasks[index].thread = thread
            let isRunning = thread != nil || tasks.tasks[index].statusFlags & RawTask.statusRunning != 0
            tasks.tasks[index].suspendedFor = suspensions.observe(tasks.tasks[index], running: isRunning, now: now)
        }
        suspensions.retain(only: Set(tasks.tasks.map(\.address)))
        return tasks
    }

    /// The threads a capture is about.
    private func threadIDs(selectedBy selection: ThreadSelection) throws(CaptureError) -> [Int32] {
        switch selection {
        case .all:
            do { return try ThreadList.threadIDs() } catch { throw .procUnreadable(error) }
        case .registered: return ThreadRegistry.shared.registered.keys.sorted()
        case .threads(let list): return list
        }
    }

    /// What the kernel says of every thread, before our signal wakes it: name, state, CPU clock and so the
    /// time without CPU progress; and which threads to signal (not this one, not those still blocking it).
    private func observeBeforeSignals(_ tids: [Int32]) throws(CaptureError) -> Round {
        let registry = ThreadRegistry.shared.registered
        let selfTid = ThreadList.currentThreadID()
        let observed = Clock.monotonicNanoseconds()
        var round = Round()
        round.threads.reserveCapacity(tids.count)
        round.toSignal.reserveCapacity(tids.count)
        let reader: TaskStatReader
        do { reader = try TaskStatReader() } catch { throw .procUnreadable(error) }
        for tid in tids {
            let read: ThreadStat?
            do { read = try reader.read(tid: tid) } catch { throw .procUnreadable(error) }
            guard let stat = read else {
                if registry[tid] != nil { round.gone.append(tid) }
                continue
            }
            var thread = RawCapture.Thread(tid: tid, name: registry[tid] ?? stat.name, kernelState: stat.state,
                                           cpuNanoseconds: stat.cpuNanoseconds, addresses: [], truncated: false,
                                           failure: nil, blockedFor: nil)
            thread.blockedFor = tracker.observe(tid: tid, cpu: stat.cpuNanoseconds, now: observed)
            if tid == selfTid {
                thread.failure = .captureThread
            } else if knownBlocking.contains(tid), let failure = silence(of: tid) {
                thread.failure = failure
            } else {
                knownBlocking.remove(tid)
                round.toSignal.append(round.threads.count)
            }
            round.threads.append(thread)
        }
        return round
    }

    /// Arms a slot for each thread to signal and signals it; the threads that could not be signalled get
    /// their failure. Returns the answers to wait for.
    private func signal(_ round: inout Round) -> [Pending] {
        var pending: [Pending] = []
        pending.reserveCapacity(round.toSignal.count)
        var nextSlot: Int32 = 0
        let slotCount = Int32(configuration.slotCount)
        for index in round.toSignal {
            // Arm a free slot (one still written by a late handler is skipped).
            var generation: UInt64 = 0
            var slot: Int32 = -1
            while nextSlot < slotCount {
                let candidate = nextSlot
                nextSlot += 1
                generation = pmp_slot_arm(candidate)
                if generation != 0 { slot = candidate; break }
            }
            if slot < 0 {
                round.threads[index].failure = .noSlot
                continue
            }
            let result = pmp_signal_thread(round.threads[index].tid, slot, generation)
            if result != 0 {
                _ = pmp_slot_abandon(slot, generation)
                round.threads[index].failure = result == ESRCH ? .exited : (result == EAGAIN ? .signalQueueFull : .timedOut)
                continue
            }
            pending.append(Pending(index: index, slot: slot, generation: generation))
        }
        return pending
    }

    /// Waits for the handlers until all answered or `deadline`: the futex wakes us when the completion count
    /// reaches the target. Returns the threads found silent for a reason (by index into threads), whose slots
    /// were given up.
    ///
    /// When answers stop coming for a while, the threads still silent are checked for a blocked signal or an
    /// exit, so that one such thread does not make every capture last the whole timeout. While answers keep
    /// coming (a thousand threads on two cores take a while) the check waits: it costs a /proc read per thread.
    private func awaitAnswers(_ pending: [Pending], threads: [RawCapture.Thread], completionsBefore: UInt32,
                              deadline: UInt64) -> [Int: CaptureFailure] {
        let stallInterval: UInt64 = 5_000_000
        var checkpoint = min(deadline, Clock.monotonicNanoseconds() + stallInterval)
        var silenceChecked = false
        var remaining = pending
        var silent: [Int: CaptureFailure] = [:]
        var seen = completionsBefore
        while true {
            // Count first, then drop the answered: an answer landing in between is then waited for at most once
            // too few, never once too many. Late handlers of earlier captures count too, which only wakes us early.
            let counted = pmp_completions()
            remaining.removeAll { pmp_slot_state($0.slot, $0.generation) == Int32(PMP_SLOT_DONE) }
            let now = Clock.monotonicNanoseconds()
            if remaining.isEmpty || now >= deadline { break }
            // The checkpoint may already have passed (the last wait ended just short of it): then do not wait.
            let waitEnd = min(deadline, checkpoint)
            if waitEnd > now {
                _ = pmp_wait_completions(counted &+ UInt32(remaining.count), Int64(waitEnd - now))
            }
            guard Clock.monotonicNanoseconds() >= checkpoint else { continue }
            let current = pmp_completions()
            let progressed = current != seen
            seen = current
            checkpoint = min(deadline, Clock.monotonicNanoseconds() + stallInterval)
            if progressed || silenceChecked { continue }
            silenceChecked = true
            remaining.removeAll { entry in
                guard let failure = silence(of: threads[entry.index].tid),
                      pmp_slot_abandon(entry.slot, entry.generation) == Int32(PMP_SLOT_REQUESTED)
                else { return false }
                silent[entry.index] = failure
                return true
            }
        }
        return silent
    }

    /// Reads every answered slot back into its thread, and gives a failure to those without an answer. A
    /// handler still mid-walk is given a moment; returns when that moment ended, if one was given.
    private func collectStacks(_ pending: [Pending], silent: [Int: CaptureFailure], depth: Int,
                               into threads: inout [RawCapture.Thread]) -> UInt64? {
        var graceEnded: UInt64?
        var buffer = [UInt64](repeating: 0, count: depth + 1)
        for entry in pending {
            var state = pmp_slot_state(entry.slot, entry.generation)
            if state != Int32(PMP_SLOT_DONE) {
                state = pmp_slot_abandon(entry.slot, entry.generation)
                if state == Int32(PMP_SLOT_WRITING) {
                    state = awaitHandlerMidWalk(entry)
                    graceEnded = Clock.monotonicNanoseconds()
                }
            }
            if state == Int32(PMP_SLOT_DONE) {
                readSlot(entry, depth: depth, buffer: &buffer, into: &threads[entry.index])
                continue
            }
            // No answer: find out why.
            let tid = threads[entry.index].tid
            let failure = silent[entry.index] ?? silence(of: tid) ?? .timedOut
            threads[entry.index].failure = failure
            if failure == .signalBlocked { knownBlocking.insert(tid) }
        }
        return graceEnded
    }

    /// A handler is mid-walk: give it a moment rather than lose a stack it is about to publish. The slot's state.
    private func awaitHandlerMidWalk(_ entry: Pending) -> Int32 {
        let graceEnd = Clock.monotonicNanoseconds() + 20_000_000
        while pmp_slot_state(entry.slot, entry.generation) == Int32(PMP_SLOT_WRITING),
              Clock.monotonicNanoseconds() < graceEnd {
            sched_yield()
        }
        return pmp_slot_state(entry.slot, entry.generation)
    }

    /// Copies a DONE slot's frames and context into its thread (and what its walk cost to the blocked-time
    /// tracker), and releases the slot.
    private func readSlot(_ entry: Pending, depth: Int, buffer: inout [UInt64], into thread: inout RawCapture.Thread) {
        var truncated: Int32 = 0
        let count = buffer.withUnsafeMutableBufferPointer {
            pmp_slot_read(entry.slot, entry.generation, $0.baseAddress, Int32(depth), &truncated)
        }
        var context = pmp_slot_context()
        if pmp_slot_read_context(entry.slot, entry.generation, &context) == 0 {
            thread.stackCPUNanoseconds = context.cpu_ns == 0 ? nil : context.cpu_ns
            if context.walk_cpu_ns > 0 { tracker.answered(tid: thread.tid, walkCost: context.walk_cpu_ns) }
            thread.registers = RawCapture.Registers(arg0: context.arg0, arg1: context.arg1, number: context.number)
            thread.currentTask = context.current_task
            thread.asyncContext = context.async_context
        }
        pmp_slot_release(entry.slot, entry.generation)
        if count >= 0 {
            thread.addresses = Array(buffer[0..<Int(count)])
            thread.truncated = truncated != 0
        } else {
            thread.failure = .exited  // the slot was taken back meanwhile
        }
    }

    /// Registered threads that are gone leave the registry; a capture of every thread also tells the trackers
    /// which threads are left.
    private func forgetThreadsGone(_ round: Round, selection: ThreadSelection) {
        ThreadRegistry.shared.forget(round.gone)
        if case .all = selection {
            tracker.retain(only: Set(round.threads.map(\.tid)))
            knownBlocking.formIntersection(round.threads.map(\.tid))
        }
    }

    /// A cheap observation of every thread's CPU clock (no signals), so that a later capture knows how long
    /// threads have been blocked.
    func observeCPU() {
        let now = Clock.monotonicNanoseconds()
        guard let tids = try? ThreadList.threadIDs() else { return }
        for tid in tids {
            if let cpu = ThreadStat.cpuClockNanoseconds(tid: tid) { _ = tracker.observe(tid: tid, cpu: cpu, now: now) }
        }
        tracker.retain(only: Set(tids))
    }
}
