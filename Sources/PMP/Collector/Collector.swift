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
    /// CPU nanoseconds a thread may gain between two samples and still count as idle: answering the capture
    /// signal itself costs it some.
    static let idleSlack: UInt64 = 50_000

    private init(options: CollectorOptions) {
        self.options = options
        state = Mutex(State(counter: StackCounter(limit: options.maxStacks)))
    }

    /// Starts sampling on a new thread. Throws when the capture engine cannot be installed.
    public static func start(_ options: CollectorOptions = CollectorOptions()) throws -> Collector {
        guard options.rate > 0, options.rate.isFinite else { throw CollectorError.badRate(options.rate) }
        if ThreadList.currentThreadID() != CaptureThread.shared.tid {
            _ = try CaptureThread.shared.sync { context in try context.captureEngine().configuration }
        }
        let collector = Collector(options: options)
        collector.state.withLock {
            $0.startWall = Clock.wallSeconds()
            $0.startMono = Clock.monotonicNanoseconds()
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
            statistics.elapsed = Double((state.endMono ?? Clock.monotonicNanoseconds()) &- state.startMono) / 1e9
            return statistics
        }
    }

    /// The profile so far (while sampling goes on) or the final one.
    public func profile() -> Profile {
        let (keys, counts, dropped, statistics, startWall) = state.withLock { state in
            var statistics = state.statistics
            statistics.elapsed = Double((state.endMono ?? Clock.monotonicNanoseconds()) &- state.startMono) / 1e9
            return (state.counter.keys, state.counter.counts, state.counter.droppedSamples, statistics, state.startWall)
        }
        var builder = ProfileBuilder(maxStacks: Int.max, keepThreadNames: options.keepThreadNames)
        for (key, count) in zip(keys, counts) {
            let frames = key.addresses.isEmpty ? [] : Symbolizer.shared.symbolize(key.addresses)
            let reason = WaitReasonClassifier.classify(kernelState: String(key.state), functions: frames.lazy.map(\.fullFunction))
            builder.add(frames: frames, count: count, waitReason: reason, threadName: key.threadName)
        }
        builder.addDropped(dropped)
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

    private func run() {
        BackgroundSignalMask.apply()
        let ownTid = ThreadList.currentThreadID()
        let captureTid = CaptureThread.shared.tid
        let interval = UInt64((1e9 / options.rate).rounded())
        let start = state.withLock { $0.startMono }
        let end = options.duration.map { start &+ UInt64(max(0, $0.nanoseconds)) }
        // New threads are found when the list is read again; exited ones drop out at once (their clock is gone).
        let listRefresh: UInt64 = options.idleBatching ? 1_000_000_000 : 100_000_000
        var tick: UInt64 = 0
        var tracked: [Tracked] = []
        var listedAt: UInt64 = 0
        var captures = 0
        var watch = ProcessCPUWatch(ownTid: ownTid, captureTid: captureTid)

        while true {
            let now = Clock.monotonicNanoseconds()
            if state.withLock({ $0.stopRequested }) { break }
            if let end, now >= end { break }
            if let limit = options.maxCaptures, captures >= limit { break }

            var relisted = false
            switch options.threads {
            case .all:
                if tracked.isEmpty || now &- listedAt >= listRefresh {
                    // Unreadable (out of descriptors): the threads known so far, sampled again.
                    if let tids = try? ThreadList.threadIDs() { tracked = Self.merge(tids, into: tracked) }
                    listedAt = now
                    relisted = true
                }
            case .registered: tracked = Self.merge(ThreadRegistry.shared.registered.keys.sorted(), into: tracked)
            case .threads(let list): tracked = Self.merge(list, into: tracked)
            }

            // Idle batching: threads without CPU progress keep their previous stack. When the process's CPU
            // clock moved no more than the threads active last time account for, every other thread is idle
            // and one system call replaces one per thread.
            var batched: [Int?] = []
            var toSignal: [Int32] = []
            var signalledIndex: [Int] = []
            if options.idleBatching {
                let othersIdle = !relisted && watch.othersWereIdle()
                batched.reserveCapacity(tracked.count)
                for index in tracked.indices {
                    let tid = tracked[index].tid
                    if tid == ownTid || tid == captureTid || tracked[index].gone { continue }
                    guard let previous = tracked[index].cpu, !tracked[index].lastSeenRunning else {
                        toSignal.append(tid)
                        signalledIndex.append(index)
                        continue
                    }
                    let current: UInt64?
                    if othersIdle, !watch.isWatched(tid) {
                        current = previous
                    } else {
                        current = watch.reading(of: tid) ?? ThreadStat.cpuClockNanoseconds(tid: tid)
                    }
                    guard let current else {
                        tracked[index].gone = true
                        continue
                    }
                    if current >= previous, current - previous <= Self.idleSlack {
                        batched.append(tracked[index].entry)
                    } else {
                        toSignal.append(tid)
                        signalledIndex.append(index)
                    }
                }
            } else {
                for index in tracked.indices
                where tracked[index].tid != ownTid && tracked[index].tid != captureTid && !tracked[index].gone {
                    toSignal.append(tracked[index].tid)
                    signalledIndex.append(index)
                }
            }

            var raw: RawCapture?
            if !toSignal.isEmpty {
                let options = CaptureOptions(threads: .threads(toSignal), timeout: options.timeout,
                                             maxDepth: options.maxDepth)
                raw = try? CaptureThread.shared.sync { context in try context.captureEngine().capture(options) }
            }
            captures += 1

            var entries: [Int32: Int?] = [:]
            var stackCPU: [Int32: UInt64] = [:]
            var running: Set<Int32> = []
            var exited: Set<Int32> = []
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
                        exited.insert(thread.tid)  // ended between the listing and the signal: not a sample
                        continue
                    }
                    if thread.failure != nil {
                        state.statistics.unansweredSamples += 1
                        continue
                    }
                    state.statistics.signalledSamples += 1
                    let key = RawKey(addresses: thread.addresses, state: thread.kernelState,
                                     threadName: options.keepThreadNames ? ThreadNamePattern.of(thread.name) : nil)
                    entries[thread.tid] = state.counter.add(key)
                    if let cpu = thread.stackCPUNanoseconds { stackCPU[thread.tid] = cpu }
                    if thread.kernelState == "R" { running.insert(thread.tid) }
                }
            }
            if !options.idleBatching {
                for index in signalledIndex where exited.contains(tracked[index].tid) { tracked[index].gone = true }
            } else {
                // The process and watched threads' clocks after the capture, so that the next comparison spans
                // the same interval; each thread's own baseline is its clock at its stack (read after the handler's
                // walk, so that the walk's cost does not look like progress next time).
                watch.startInterval(watching: toSignal)
                for index in signalledIndex {
                    let tid = tracked[index].tid
                    if let entry = entries[tid] {
                        tracked[index].entry = entry
                        tracked[index].cpu = stackCPU[tid] ?? watch.reading(of: tid)
                        tracked[index].lastSeenRunning = running.contains(tid)
                    } else if exited.contains(tid) {
                        tracked[index].gone = true
                    } else {
                        tracked[index].cpu = nil  // no answer: signal it again next time
                    }
                }
            }

            // The fixed schedule: the next tick after now; ticks a slow capture overran are skipped and counted.
            tick += 1
            var next = start &+ tick &* interval
            let done = Clock.monotonicNanoseconds()
            if done >= next {
                let skipped = (done - next) / interval + 1
                tick += skipped
                next = start &+ tick &* interval
                state.withLock { $0.statistics.missedTicks += Int(skipped) }
            }
            if let end, next > end { next = end }
            wakeup.sleep(until: next) { self.state.withLock { $0.stopRequested } }
        }

        let waiters = state.withLock { state -> [@Sendable () -> Void] in
            state.endMono = Clock.monotonicNanoseconds()
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
