#if canImport(Glibc)
import Glibc
#endif
import CPMPCapture
import PMP

/// A dump of another process from outside: every thread's stack, in the same model as the in-process dump.
public struct ExternalDump: Sendable {
    public struct Options: Sendable {
        /// Stop every thread together for one coherent picture (the process is frozen meanwhile).
        public var consistent = false
        /// How long to wait for one thread to stop, in seconds.
        public var stopTimeout: Double = 0.1
        /// At most this many bytes of each stack are copied.
        public var maxStackBytes = 1 << 20
        public var maxDepth = 128

        public init() {}
    }

    /// Where the time went, in nanoseconds unless named otherwise (monotonic clock).
    public struct Timings: Sendable {
        public var threads = 0
        public var copied = 0
        /// Each copied thread's stop, interrupt to detach.
        public var stopNanoseconds: [Int64] = []
        public var stopPhaseStart: Int64 = 0
        public var stopPhaseEnd: Int64 = 0
        /// With `consistent`: from the last thread stopped to the first let go, nothing of the process ran.
        public var allStoppedStart: Int64?
        public var allStoppedEnd: Int64?
        public var factsNanoseconds: Int64 = 0
        public var unwindNanoseconds: Int64 = 0
        public var symbolNanoseconds: Int64 = 0
        public var totalNanoseconds: Int64 = 0
        /// Reads of the live process while unwinding (outside the copied stacks).
        public var liveReads = 0

        public var medianStopNanoseconds: Int64? {
            guard !stopNanoseconds.isEmpty else { return nil }
            return stopNanoseconds.sorted()[stopNanoseconds.count / 2]
        }

        /// One line: `timings threads=… copied=… stop-median-us=… frozen-ms=… …`.
        public var line: String {
            func ms(_ ns: Int64) -> String { Self.decimal(Double(ns) / 1e6) }
            var text = "timings threads=\(threads) copied=\(copied)"
            if let median = medianStopNanoseconds {
                text += " stop-median-us=\(Self.decimal(Double(median) / 1e3))"
                text += " stop-max-us=\(Self.decimal(Double(stopNanoseconds.max() ?? 0) / 1e3))"
            }
            text += " stop-phase=\(stopPhaseStart)-\(stopPhaseEnd) stop-phase-ms=\(ms(stopPhaseEnd - stopPhaseStart))"
            if let start = allStoppedStart, let end = allStoppedEnd {
                text += " frozen=\(start)-\(end) frozen-ms=\(ms(end - start))"
            }
            text += " facts-ms=\(ms(factsNanoseconds)) unwind-ms=\(ms(unwindNanoseconds)) symbols-ms=\(ms(symbolNanoseconds))"
            text += " total-ms=\(ms(totalNanoseconds)) live-reads=\(liveReads)"
            return text
        }

        static func decimal(_ value: Double) -> String {
            let scaled = (value * 1000).rounded() / 1000
            return "\(scaled)"
        }
    }

    public var snapshot: Snapshot
    public var timings: Timings

    /// Dumps process `pid`. Throws when it cannot be attached to, with what to do about it.
    public static func capture(pid: Int32, options: Options = Options(),
                               symbolizer: Symbolizer? = nil) throws(AttachError) -> ExternalDump {
        let began = pmp_attach_now_ns()
        let wallTime = Self.wallClock()
        let process = try TargetProcess(pid: pid)
        var timings = Timings()

        // The kernel's view first: an interrupt would wake every sleeper and reset its scheduling data.
        var facts: [Int32: ThreadFacts] = [:]
        let tids = process.threadIDs()
        for tid in tids { facts[tid] = ThreadFacts.read(pid: pid, tid: tid) }
        let schedulerNow = ThreadFacts.schedulerNowMilliseconds()
        timings.factsNanoseconds = pmp_attach_now_ns() - began

        let stopper = ThreadStopper(pid: pid, options: ThreadStopper.Options(
            stopTimeoutNanoseconds: Int64(options.stopTimeout * 1e9), maxStackBytes: options.maxStackBytes))
        var outcome: ThreadStopper.Outcome
        if options.consistent {
            outcome = try stopper.copyAllTogether(tids, rescan: { process.threadIDs() })
        } else {
            outcome = try stopper.copyOneAtATime(tids)
            // Threads born during the pass: once more for those.
            let born = process.threadIDs().filter { facts[$0] == nil }
            for tid in born { facts[tid] = ThreadFacts.read(pid: pid, tid: tid) }
            if !born.isEmpty, let more = try? stopper.copyOneAtATime(born) {
                outcome.copies += more.copies
                outcome.missed += more.missed
                outcome.stopPhaseEnd = more.stopPhaseEnd
            }
        }
        // Late stoppers get a last chance to be let go now; the kernel lets go the rest when this process ends.
        stopper.releasePending(waitNanoseconds: 1_000_000)
        timings.stopPhaseStart = outcome.stopPhaseStart
        timings.stopPhaseEnd = outcome.stopPhaseEnd
        timings.allStoppedStart = outcome.allStopped?.start
        timings.allStoppedEnd = outcome.allStopped?.end
        timings.stopNanoseconds = outcome.copies.map(\.stopNanoseconds)
        timings.copied = outcome.copies.count

        // Every thread runs again: now the slow part, from the copies.
        let unwindStart = pmp_attach_now_ns()
        let unwinder = CopyUnwinder(pid: pid, maxFrames: options.maxDepth)
        var stacks: [Int32: (addresses: [UInt64], truncated: Bool)] = [:]
        for copy in outcome.copies { stacks[copy.tid] = unwinder.unwind(copy) }
        timings.liveReads = unwinder.liveReads
        timings.unwindNanoseconds = pmp_attach_now_ns() - unwindStart

        let symbolStart = pmp_attach_now_ns()
        let symbols = symbolizer ?? Symbolizer(pid: pid)
        var symbolized: [[UInt64]: (frames: [Frame], reason: WaitReason)] = [:]
        var threads: [ThreadSnapshot] = []
        let copies = Dictionary(outcome.copies.map { ($0.tid, $0) }, uniquingKeysWith: { first, _ in first })
        let missed = Dictionary(outcome.missed.map { ($0.tid, $0.failure) }, uniquingKeysWith: { first, _ in first })
        var order = tids
        for tid in copies.keys.sorted() where !tids.contains(tid) { order.append(tid) }
        for tid in order {
            guard let fact = facts[tid] ?? ThreadFacts.read(pid: pid, tid: tid) else { continue }
            let state = String(fact.state)
            var thread = ThreadSnapshot(tid: tid, name: fact.name, kernelState: state, waitReason: .noAnswer,
                                        cpuTime: (Double(fact.cpuNanoseconds) / 1e6).rounded() / 1e3, frames: [])
            if let copy = copies[tid], let stack = stacks[tid] {
                let known = symbolized[stack.addresses]
                let frames = known?.frames ?? symbols.symbolize(stack.addresses)
                let framesReason = known?.reason
                    ?? WaitReasonClassifier.classify(kernelState: state, functions: frames.lazy.map(\.fullFunction))
                if known == nil { symbolized[stack.addresses] = (frames, framesReason) }
                thread.frames = frames
                thread.truncated = stack.truncated
                thread.waitReason = SystemCallWait.reason(framesReason: framesReason, copy: copy, pid: pid)
                if copy.groupStopped { thread.waitReason = .stopped }
                if thread.waitReason != .running, fact.state != "R", let schedulerNow {
                    thread.blockedFor = fact.blockedSeconds(nowMilliseconds: schedulerNow).map { ($0 * 1000).rounded() / 1000 }
                }
            } else {
                thread.failure = missed[tid] ?? .exited
                if fact.state == "D" { thread.waitReason = .diskWait }
            }
            threads.append(thread)
        }
        timings.symbolNanoseconds = pmp_attach_now_ns() - symbolStart
        timings.threads = threads.count
        timings.totalNanoseconds = pmp_attach_now_ns() - began
        let snapshot = Snapshot(pid: pid, time: wallTime,
                                elapsed: (Double(outcome.stopPhaseEnd - outcome.stopPhaseStart) / 1e3).rounded() / 1e6,
                                maxDepth: options.maxDepth, threads: threads)
        return ExternalDump(snapshot: snapshot, timings: timings)
    }

    static func wallClock() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return (Double(now.tv_sec) * 1000 + Double(now.tv_nsec / 1_000_000)) / 1000
    }
}
