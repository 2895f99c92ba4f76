#if canImport(Glibc)
import Glibc
#endif
import CPMPCapture
import Synchronization
import PMPProfiles

/// Samples threads at a fixed rate on a thread of its own and folds their stacks: the in-process blocking
/// profiler. Stacks are folded by address while sampling; symbols are looked up once per distinct stack when a
/// profile is asked for.
///
///     let collector = try Collector.start(CollectorOptions(rate: 100, duration: .seconds(5)))
///     let profile = collector.wait()
public final class Collector: Sendable {
    /// A stack as sampled: addresses, kernel state (part of the wait reason) and thread-name pattern.
    private struct RawKey: Hashable {
        var addresses: [UInt64]
        var state: Character
        var threadName: String?
    }

    private struct State {
        var counter: StackCounter<RawKey>
        /// The tasks' async backtraces, symbolized when sampled (`CollectorOptions.tasks`).
        var taskStacks: ProfileBuilder
        var statistics = CollectorStatistics()
        var startWall: Double = 0
        var startMono: UInt64 = 0
        var endMono: UInt64?
        var stopRequested = false
        var waiters: [@Sendable () -> Void] = []
    }

    public let options: CollectorOptions
    private let state: Mutex<State>
    private let wakeup = Wakeup()
    private let clock: any CollectorClock
    /// CPU nanoseconds a thread may gain between two samples and still count as idle: answering the capture
    /// signal itself costs it some.
    static let idleSlack: UInt64 = 50_000

    private init(options: CollectorOptions, clock: any CollectorClock) {
        self.options = options
        self.clock = clock
        state = Mutex(State(counter: StackCounter(limit: options.maxStacks),
                            taskStacks: ProfileBuilder(maxStacks: options.maxStacks, keepThreadNames: false)))
    }

    /// Starts sampling on a new thread. Throws when the capture engine cannot be installed.
    public static func start(_ options: CollectorOptions = CollectorOptions()) throws -> Collector {
        try start(options, clock: MonotonicCollectorClock())
    }

    /// Starts sampling on the schedule of `clock`.
    static func start(_ options: CollectorOptions, clock: any CollectorClock) throws -> Collector {
        guard options.rate > 0, options.rate.isFinite else { throw CollectorError.badRate(options.rate) }
        if ThreadList.currentThreadID() != CaptureThread.shared.tid {
            _ = try CaptureThread.shared.sync { context in try context.captureEngine().configuration }
        }
        let collector = Collector(options: options, clock: clock)
        collector.state.withLock {
            $0.startWall = Clock.wallSeconds()
            $0.startMono = clock.now()
        }
        try startDetachedThread(name: "pmp-sampler") { collector.run() }
        return collector
    }

    /// Stops sampling (the current capture completes) and returns the profile.
    @discardableResult
    public func stop() -> Profile {
        requestStop()
        return wait()
    }

    /// Asks sampling to end without waiting for it.
    public func requestStop() {
        state.withLock { $0.stopRequested = true }
        wakeup.signal()
    }

    /// Waits until sampling ends (duration, capture limit or `stop()`) and returns the profile.
    public func wait() -> Profile {
        let done = ResultBox<Bool>()
        whenFinished { done.set(.success(true)) }
        _ = done.wait()
        return profile()
    }

    /// Suspends until sampling ends, without blocking a thread, and returns the profile.
    public func finished() async -> Profile {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            whenFinished { continuation.resume() }
        }
        return profile()
    }

    /// Calls `body` once sampling has ended (at once if it has).
    public func whenFinished(_ body: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            if state.endMono != nil { return true }
            state.waiters.append(body)
            return false
        }
        if now { body() }
    }

    public var isRunning: Bool { state.withLock { $0.endMono == nil } }

    public var statistics: CollectorStatistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.elapsed = Double((state.endMono ?? clock.now()) &- state.startMono) / 1e9
            return statistics
        }
    }

    /// The profile so far (while sampling goes on) or the final one.
    public func profile() -> Profile {
        let (keys, counts, dropped, statistics, startWall, taskStacks) = state.withLock { state in
            var statistics = state.statistics
            statistics.elapsed = Double((state.endMono ?? clock.now()) &- state.startMono) / 1e9
            return (state.counter.keys, state.counter.counts, state.counter.droppedSamples, statistics, state.startWall,
                    state.taskStacks.build())
        }
        var builder = ProfileBuilder(maxStacks: Int.max, keepThreadNames: options.keepThreadNames)
        for (key, count) in zip(keys, counts) {
            let frames = key.addresses.isEmpty ? [] : Symbolizer.shared.symbolize(key.addresses)
            let reason = WaitReasonClassifier.classify(kernelState: String(key.state), functions: frames.lazy.map(\.fullFunction))
            builder.add(frames: frames, count: count, waitReason: reason, threadName: key.threadName)
        }
        for stack in taskStacks.stacks {
            builder.add(frames: stack.frames, count: stack.count, waitReason: stack.waitReason, threadName: nil)
        }
        builder.addDropped(dropped + taskStacks.droppedSamples)
        builder.addUnanswered(statistics.unansweredSamples)
        builder.addCaptures(statistics.captures)
        return builder.build(startTime: startWall, duration: statistics.elapsed, requestedRate: options.rate,
                             achievedRate: (statistics.achievedRate * 100).rounded() / 100,
                             source: "pid \(getpid())")
    }

    // MARK: - The sampler thread

    /// What the sampler remembers of a thread between captures.
    private struct Tracked {
        var tid: Int32
        /// CPU time when its last stack was taken, read by the signal handler (nil: never captured, or its last
        /// capture failed). Read any later, a thread caught just before it blocked would look idle with the stack
        /// it had while running.
        var cpu: UInt64?
        /// The kernel said it was running when last sampled: it is signalled again until it is seen blocked, since
        /// a thread caught on its way into a wait (inside the wake-up call before it) moves too little to tell.
        var lastSeenRunning = false
        /// Its last stack's entry; nil when that stack was dropped (the distinct-stack limit).
        var entry: Int?
        /// It exited: skipped until the list is read again.
        var gone = false
    }

    /// The new thread list, keeping what was known of threads still there.
    private static func merge(_ tids: [Int32], into old: [Tracked]) -> [Tracked] {
        if old.count == tids.count, zip(old, tids).allSatisfy({ $0.tid == $1 }) { return old }
        var known: [Int32: Tracked] = [:]
        for entry in old { known[entry.tid] = entry }
        return tids.map { tid in
            guard var entry = known[tid] else { return Tracked(tid: tid) }
            entry.gone = false  // listed again (or the id was reused): look again
            return entry
        }
    }

    /// What the sampler thread keeps from one tick to the next.
    private struct Sampler {
        let ownTid: Int32
        let captureTid: Int32
        var tracked: [Tracked] = []
        var listedAt: UInt64 = 0
        var captures = 0
        var watch: ProcessCPUWatch

        /// Itself and the capture thread are never sampled; threads known to have exited wait for the next list.
        func isSampled(_ entry: Tracked) -> Bool { entry.tid != ownTid && entry.tid != captureTid && !entry.gone }
    }

    /// One tick's choice: the previous stacks of threads counted again without a signal, and the threads to signal.
    private struct TickPlan {
        var batched: [Int?] = []
        var toSignal: [Int32] = []
        /// Each signalled thread's index into `tracked`.
        var signalledIndex: [Int] = []

        mutating func signal(_ tid: Int32, at index: Int) {
            toSignal.append(tid)
            signalledIndex.append(index)
        }
    }

    /// What the answers of one capture say about the signalled threads.
    private struct TickAnswers {
        /// Each answering thread's stack entry (nil: dropped at the distinct-stack limit).
        var entries: [Int32: Int?] = [:]
        var stackCPU: [Int32: UInt64] = [:]
        var running: Set<Int32> = []
        var exited: Set<Int32> = []
    }

    private func run() {
        BackgroundSignalMask.apply()
        let captureTid = CaptureThread.shared.tid
        let ownTid = ThreadList.currentThreadID()
        var sampler = Sampler(ownTid: ownTid, captureTid: captureTid,
                              watch: ProcessCPUWatch(ownTid: ownTid, captureTid: captureTid))
        let start = state.withLock { $0.startMono }
        var schedule = TickSchedule(start: start, interval: UInt64((1e9 / options.rate).rounded()),
                                    end: options.duration.map { start &+ UInt64(max(0, $0.nanoseconds)) })
        while true {
            let now = clock.now()
            if isDone(at: now, schedule: schedule, captures: sampler.captures) { break }
            let relisted = refreshThreadList(&sampler, now: now)
            let plan = options.idleBatching ? planWithIdleBatching(&sampler, relisted: relisted)
                                            : planSignallingAll(sampler)
            let raw = capture(plan.toSignal)
            sampler.captures += 1
            let answers = account(raw, batched: plan.batched)
            remember(answers, of: plan, in: &sampler)
            let taskEvery = options.ticksPerTaskSample
            if taskEvery > 0, (sampler.captures - 1) % taskEvery == 0 { sampleTasks(weight: taskEvery) }
            sleepUntilNextTick(&schedule)
        }
        finish()
    }

    /// Stop requested, the duration over, or the capture limit reached.
    private func isDone(at now: UInt64, schedule: TickSchedule, captures: Int) -> Bool {
        if state.withLock({ $0.stopRequested }) { return true }
        if let end = schedule.end, now >= end { return true }
        if let limit = options.maxCaptures, captures >= limit { return true }
        return false
    }

    /// Reads which threads to sample (the whole list only now and then); returns whether the list was read again.
    private func refreshThreadList(_ sampler: inout Sampler, now: UInt64) -> Bool {
        switch options.threads {
        case .all:
            // New threads are found when the list is read again; exited ones drop out at once (their clock is gone).
            let listRefresh: UInt64 = options.idleBatching ? 1_000_000_000 : 100_000_000
            guard sampler.tracked.isEmpty || now &- sampler.listedAt >= listRefresh else { return false }
            // Unreadable (out of descriptors): the threads known so far, sampled again.
            if let tids = try? ThreadList.threadIDs() { sampler.tracked = Self.merge(tids, into: sampler.tracked) }
            sampler.listedAt = now
            return true
        case .registered:
            sampler.tracked = Self.merge(ThreadRegistry.shared.registered.keys.sorted(), into: sampler.tracked)
        case .threads(let list):
            sampler.tracked = Self.merge(list, into: sampler.tracked)
        }
        return false
    }

    /// Without idle batching every sampled thread is signalled.
    private func planSignallingAll(_ sampler: Sampler) -> TickPlan {
        var plan = TickPlan()
        for index in sampler.tracked.indices where sampler.isSampled(sampler.tracked[index]) {
            plan.signal(sampler.tracked[index].tid, at: index)
        }
        return plan
    }

    /// Idle batching: threads without CPU progress keep their previous stack. When the process's CPU clock moved
    /// no more than the threads active last time account for, every other thread is idle and one system call
    /// replaces one per thread.
    private func planWithIdleBatching(_ sampler: inout Sampler, relisted: Bool) -> TickPlan {
        var plan = TickPlan()
        let othersIdle = !relisted && sampler.watch.othersWereIdle()
        plan.batched.reserveCapacity(sampler.tracked.count)
        for index in sampler.tracked.indices where sampler.isSampled(sampler.tracked[index]) {
            let tid = sampler.tracked[index].tid
            guard let previous = sampler.tracked[index].cpu, !sampler.tracked[index].lastSeenRunning else {
                plan.signal(tid, at: index)
                continue
            }
            let current: UInt64?
            if othersIdle, !sampler.watch.isWatched(tid) {
                current = previous
            } else {
                current = sampler.watch.reading(of: tid) ?? ThreadStat.cpuClockNanoseconds(tid: tid)
            }
            guard let current else {
                sampler.tracked[index].gone = true
                continue
            }
            if current >= previous, current - previous <= Self.idleSlack {
                plan.batched.append(sampler.tracked[index].entry)
            } else {
                plan.signal(tid, at: index)
            }
        }
        return plan
    }

    /// Signals the chosen threads on the capture thread (nil: none to signal, or the capture failed).
    private func capture(_ tids: [Int32]) -> RawCapture? {
        guard !tids.isEmpty else { return nil }
        let options = CaptureOptions(threads: .threads(tids), timeout: options.timeout, maxDepth: options.maxDepth)
        return try? CaptureThread.shared.sync { context in try context.captureEngine().capture(options) }
    }

    /// Counts the tick's samples, the batched ones and the answers, under one lock.
    private func account(_ raw: RawCapture?, batched: [Int?]) -> TickAnswers {
        var answers = TickAnswers()
        state.withLock { state in
            state.statistics.captures += 1
            for entry in batched {
                if let entry { state.counter.add(toEntry: entry) } else { state.counter.drop() }
            }
            state.statistics.batchedSamples += batched.count
            guard let raw else { return }
            for thread in raw.threads {
                if thread.failure == .captureThread { continue }
                if thread.failure == .exited {
                    answers.exited.insert(thread.tid)  // ended between the listing and the signal: not a sample
                    continue
                }
                if thread.failure != nil {
                    state.statistics.unansweredSamples += 1
                    continue
                }
                state.statistics.signalledSamples += 1
                let key = RawKey(addresses: thread.addresses, state: thread.kernelState,
                                 threadName: options.keepThreadNames ? ThreadNamePattern.of(thread.name) : nil)
                answers.entries[thread.tid] = state.counter.add(key)
                if let cpu = thread.stackCPUNanoseconds { answers.stackCPU[thread.tid] = cpu }
                if thread.kernelState == "R" { answers.running.insert(thread.tid) }
            }
        }
        return answers
    }

    /// One task capture (no thread captured), each task's async backtrace counted `weight` times.
    private func sampleTasks(weight: Int) {
        let started = clock.now()
        // The search for tasks stops at its own time limit; a stuck capture thread holds sampling up no longer.
        let snapshot = try? PMP.snapshot(.tasksOnly(waitLimit: .seconds(5)))
        let seconds = Double(clock.now() &- started) / 1e9
        state.withLock { state in
            state.statistics.taskCaptures += 1
            state.statistics.taskCaptureSeconds += seconds
            guard let snapshot, snapshot.taskSummary != nil else {
                state.statistics.failedTaskCaptures += 1
                return
            }
            for task in snapshot.tasks where !task.frames.isEmpty {
                state.taskStacks.add(frames: task.frames, count: weight, waitReason: WaitReason(task.state.foldedText),
                                     threadName: nil)
            }
        }
    }

    /// Keeps what the answers say of each signalled thread for the next tick's plan.
    private func remember(_ answers: TickAnswers, of plan: TickPlan, in sampler: inout Sampler) {
        guard options.idleBatching else {
            for index in plan.signalledIndex where answers.exited.contains(sampler.tracked[index].tid) {
                sampler.tracked[index].gone = true
            }
            return
        }
        // The process and watched threads' clocks after the capture, so that the next comparison spans the same
        // interval; each thread's own baseline is its clock at its stack (read after the handler's walk, so that
        // the walk's cost does not look like progress next time).
        sampler.watch.startInterval(watching: plan.toSignal)
        for index in plan.signalledIndex {
            let tid = sampler.tracked[index].tid
            if let entry = answers.entries[tid] {
                sampler.tracked[index].entry = entry
                sampler.tracked[index].cpu = answers.stackCPU[tid] ?? sampler.watch.reading(of: tid)
                sampler.tracked[index].lastSeenRunning = answers.running.contains(tid)
            } else if answers.exited.contains(tid) {
                sampler.tracked[index].gone = true
            } else {
                sampler.tracked[index].cpu = nil  // no answer: signal it again next time
            }
        }
    }

    /// Sleeps until the next tick of the fixed schedule; ticks the capture overran are counted as missed.
    private func sleepUntilNextTick(_ schedule: inout TickSchedule) {
        let (deadline, skipped) = schedule.next(finishedAt: clock.now())
        if skipped > 0 { state.withLock { $0.statistics.missedTicks += skipped } }
        clock.sleep(until: deadline, wakeup: wakeup) { self.state.withLock { $0.stopRequested } }
    }

    /// Marks sampling ended and calls whoever waits for it.
    private func finish() {
        let waiters = state.withLock { state -> [@Sendable () -> Void] in
            state.endMono = clock.now()
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter() }
    }
}

public enum CollectorError: Error, CustomStringConvertible, Sendable {
    case badRate(Double)

    public var description: String {
        switch self {
        case .badRate(let rate): return "the sampling rate must be a positive number of Hz, not \(rate)"
        }
    }
}

/// A sleep on a monotonic deadline that `signal()` cuts short.
final class Wakeup: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var signalled = false

    init() {
        pthread_mutex_init(&mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(&condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    func signal() {
        pthread_mutex_lock(&mutex)
        signalled = true
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
    }

    /// Sleeps until the monotonic time `deadline` (ns), or until signalled and `stop()` is true.
    func sleep(until deadline: UInt64, stop: () -> Bool) {
        var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        pthread_mutex_lock(&mutex)
        while !stop(), Clock.monotonicNanoseconds() < deadline {
            if signalled { signalled = false; continue }
            _ = pthread_cond_timedwait(&condition, &mutex, &time)
        }
        pthread_mutex_unlock(&mutex)
    }
}
