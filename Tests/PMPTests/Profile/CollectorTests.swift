import CPMPCapture
import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPTestSupport
import Testing

/// Threads parked in a function of known name, named "pmp-parked-N".
private func parkedThreads(_ count: Int) -> [TestThread] {
    (0..<count).map { index in
        let thread = TestThread { me in
            _ = pmp_set_thread_name("pmp-parked-\(index)")
            me.ready()
            parkedForCollector(me)
        }
        thread.waitUntilReady()
        return thread
    }
}

@inline(never) func parkedForCollector(_ thread: TestThread) {
    thread.park()
    withExtendedLifetime(thread) {}
}

private func stacks(in profile: Profile, containing function: String) -> [Profile.Stack] {
    profile.stacks.filter { $0.frames.contains { $0.function.contains(function) } }
}

@Suite("collector", .serialized, .timeLimit(.minutes(5))) struct CollectorTests {
    @Test("samples on a fixed schedule, folds identical stacks by wait reason and thread-name pattern")
    func foldsParkedThreads() throws {
        let threads = parkedThreads(4)
        defer { threads.forEach { $0.finish() } }
        // On a clock that moves only while the collector sleeps, the schedule is exact however slow the captures.
        let collector = try Collector.start(CollectorOptions(rate: 50, duration: .seconds(1)),
                                            clock: ManualCollectorClock())
        let profile = collector.wait()
        let statistics = collector.statistics

        #expect(statistics.captures == 50, "one capture per tick of 1 s at 50 Hz")
        #expect(statistics.missedTicks == 0)
        #expect(statistics.elapsed == 1)
        #expect(profile.captures == statistics.captures)
        #expect(profile.requestedRate == 50)
        #expect(profile.achievedRate == 50)
        #expect(profile.duration == 1)

        let parked = stacks(in: profile, containing: "parkedForCollector")
        #expect(parked.count == 1, "four threads parked in one place fold into one stack: \(parked.map(\.threadName))")
        #expect(parked.first?.threadName == "pmp-parked-#")
        #expect(parked.first?.waitReason?.isBlocked == true)
        // Every capture counts every parked thread, unless one did not answer in time (a loaded machine).
        let parkedCount = parked.first?.count ?? 0
        #expect(parkedCount <= 4 * statistics.captures)
        #expect(parkedCount + statistics.unansweredSamples >= 4 * statistics.captures)
        #expect(parkedCount > 0)
        #expect(profile.droppedSamples == 0)
    }

    @Test("ticks a late capture overran are skipped and counted; served plus missed covers the duration")
    func overrunTicksAreCounted() throws {
        // Every sleep ends 50 ms after its tick, at 50 Hz (20 ms): each capture but the first overruns two ticks.
        let collector = try Collector.start(CollectorOptions(rate: 50, duration: .seconds(1), threads: .threads([])),
                                            clock: ManualCollectorClock(lateness: .milliseconds(50)))
        _ = collector.wait()
        let statistics = collector.statistics
        #expect(statistics.missedTicks == 2 * (statistics.captures - 1), "\(statistics)")
        // The 50th tick (980 ms) is the one the last sleep was for, and that sleep ends past the end.
        #expect(statistics.captures + statistics.missedTicks == 49, "\(statistics)")
        #expect(statistics.captures == 17)
        #expect(statistics.elapsed == 1.03, "the last sleep ends late too: at the end plus 30 ms")
    }

    @Test("idle batching: parked threads are signalled once, then counted again without a signal")
    func idleBatching() throws {
        let threads = parkedThreads(8)
        defer { threads.forEach { $0.finish() } }
        let batched = try Collector.start(CollectorOptions(rate: 100, maxCaptures: 30, idleBatching: true))
        let withBatching = batched.wait()
        let plain = try Collector.start(CollectorOptions(rate: 100, maxCaptures: 30, idleBatching: false))
        let withoutBatching = plain.wait()

        let on = batched.statistics
        let off = plain.statistics
        #expect(on.batchedSamples > 0)
        #expect(off.batchedSamples == 0)
        #expect(on.signalledSamples < off.signalledSamples / 2,
                "signalled with batching \(on.signalledSamples), without \(off.signalledSamples)")
        // The parked threads count the same either way: once per capture each.
        let a = stacks(in: withBatching, containing: "parkedForCollector").reduce(0) { $0 + $1.count }
        let b = stacks(in: withoutBatching, containing: "parkedForCollector").reduce(0) { $0 + $1.count }
        // Once per capture each, less the samples of a thread that did not answer in time (a loaded machine).
        #expect(a <= 8 * on.captures && a + on.unansweredSamples >= 8 * on.captures, "\(a) of \(8 * on.captures)")
        #expect(b <= 8 * off.captures && b + off.unansweredSamples >= 8 * off.captures, "\(b) of \(8 * off.captures)")
    }

    @Test("a parked thread that starts running is caught running: idle batching does not hide it")
    func wakingThreadIsSampled() throws {
        let threads = parkedThreads(6)
        defer { threads.forEach { $0.finish() } }
        let stop = SharedFlag()
        let worker = TestThread { me in
            _ = pmp_set_thread_name("pmp-waking")
            me.ready()
            parkedForCollector(me)           // phase 1: parked
            while !stop.isSet {              // phase 2: running
                burstOfWork(milliseconds: 1)
            }
            parkedForCollector(me)           // phase 3: parked again
        }
        worker.waitUntilReady()
        let collector = try Collector.start(CollectorOptions(rate: 100))
        // Each phase lasts 20 captures, however long they take on a loaded machine. A thread wrongly taken as
        // idle would keep its parked stack through the running phase.
        try waitForCaptures(collector, more: 20)
        worker.finish()
        try waitForCaptures(collector, more: 20)
        stop.set()
        try waitForCaptures(collector, more: 20)
        let profile = collector.stop()
        worker.finish()
        worker.waitUntilFinished()
        let mine = profile.stacks.filter { $0.threadName == "pmp-waking" }
        let running = mine.filter { $0.frames.contains { $0.function.contains("burstOfWork") } }.reduce(0) { $0 + $1.count }
        let parked = mine.filter { $0.frames.contains { $0.function.contains("parkedForCollector") } }.reduce(0) { $0 + $1.count }
        #expect(running >= 10, "running in \(running) of \(profile.captures) captures")
        #expect(parked >= 10, "parked in \(parked) of \(profile.captures) captures")
        #expect(collector.statistics.batchedSamples > 0)
    }

    @Test("past the distinct-stack limit, samples are counted as dropped, never lost")
    func boundedMemory() throws {
        let threads = parkedThreads(3)
        defer { threads.forEach { $0.finish() } }
        let collector = try Collector.start(CollectorOptions(rate: 100, maxCaptures: 10, maxStacks: 2))
        let profile = collector.wait()
        let statistics = collector.statistics
        #expect(profile.stacks.count <= 2)
        #expect(profile.droppedSamples > 0)
        #expect(profile.sampleCount + profile.droppedSamples
                == statistics.signalledSamples + statistics.batchedSamples)
    }

    @Test("threads created and exiting as fast as possible while sampling: no crash, every sample accounted for")
    func threadChurn() throws {
        let stop = SharedFlag()
        let churn = TestThread { me in
            me.ready()
            while !stop.isSet {
                var thread = pthread_t()
                if pthread_create(&thread, nil, { _ in nil }, nil) == 0 { pthread_join(thread, nil) }
            }
        }
        churn.waitUntilReady()
        let collector = try Collector.start(CollectorOptions(rate: 200, maxCaptures: 200))
        let profile = collector.wait()
        stop.set()
        churn.waitUntilFinished()
        let statistics = collector.statistics
        #expect(statistics.captures == 200)
        #expect(profile.sampleCount + profile.droppedSamples
                == statistics.signalledSamples + statistics.batchedSamples)
    }

    @Test("stop() ends sampling, and the async record suspends without blocking")
    func stopAndAsyncRecord() async throws {
        let collector = try Collector.start(CollectorOptions(rate: 20))
        try waitForCaptures(collector, more: 2)
        let profile = collector.stop()
        #expect(!collector.isRunning)
        #expect(profile.captures >= 2)
        // Nothing samples after stop() returned.
        let captures = collector.statistics.captures
        sleep(seconds: 0.2)
        #expect(collector.statistics.captures == captures)
        #expect(collector.profile().captures == profile.captures)

        let recorded = try await PMP.record(for: .milliseconds(300), rate: 50)
        #expect(recorded.captures >= 1)
        #expect(recorded.sampleCount > 0)
    }

    @Test("idle batching: a thread caught in a short wake-up just before a long sleep is not counted awake for the whole sleep")
    func wakeUpBeforeSleepIsNotStale() throws {
        // The thread wakes, works until a sample has caught it working (the worst case: caught on its very way
        // into the wait), and sleeps long. Batched or not, almost all its samples are of the sleep.
        let current = CurrentCollector()
        let stop = SharedFlag()
        let thread = TestThread { me in
            me.ready()
            while !stop.isSet { wakeUpThenSleepForCollector(current) }
        }
        thread.waitUntilReady()
        defer {
            stop.set()
            thread.waitUntilFinished()
        }
        func awakeShare(idleBatching: Bool) throws -> (share: Double, samples: Int) {
            let collector = try Collector.start(CollectorOptions(rate: 100, maxCaptures: 300,
                                                                 threads: .threads([thread.tid]),
                                                                 idleBatching: idleBatching))
            current.set(collector)
            let profile = collector.wait()
            current.set(nil)
            let samples = stacks(in: profile, containing: "wakeUpThenSleepForCollector").reduce(0) { $0 + $1.count }
            let awake = stacks(in: profile, containing: "briefWakeUpForCollector").reduce(0) { $0 + $1.count }
            return (samples > 0 ? Double(awake) / Double(samples) : 1, samples)
        }
        let batched = try awakeShare(idleBatching: true)
        let plain = try awakeShare(idleBatching: false)
        #expect(batched.samples > 50 && plain.samples > 50, "samples: \(batched.samples) batched, \(plain.samples) plain")
        // Each wake-up is caught once in about 21 samples of a cycle; stale stacks would make it nearly all of them.
        #expect(plain.share < 0.25, "awake in \(plain.share) of the samples without batching")
        #expect(batched.share < 0.25, "awake in \(batched.share) of the samples with batching")
        #expect(abs(batched.share - plain.share) < 0.15, "batched \(batched.share), plain \(plain.share)")
    }

    @Test("a collected profile survives text, folded and JSON round trips")
    func rendersRoundTrip() throws {
        let threads = parkedThreads(2)
        defer { threads.forEach { $0.finish() } }
        let profile = try PMP.record(for: .milliseconds(300), rate: 50)

        let json = try ProfileJSON.parse(ProfileJSON.render(profile))
        #expect(json == profile)

        let text = try ProfileTextParser.parse(ProfileTextRenderer.render(profile))
        #expect(text.stacks.map(\.count) == profile.stacks.map(\.count))
        #expect(text.stacks.map { $0.frames.map(\.function) } == profile.stacks.map { $0.frames.map(\.function) })
        #expect(text.stacks.map(\.waitReason) == profile.stacks.map(\.waitReason))
        #expect(text.stacks.map(\.threadName) == profile.stacks.map(\.threadName))
        #expect(text.captures == profile.captures)

        let rootFirst = try ProfileTextParser.parse(ProfileTextRenderer.render(profile, options: RenderOptions(rootFirst: true)))
        #expect(rootFirst.stacks.map { $0.frames.map(\.function) } == profile.stacks.map { $0.frames.map(\.function) })

        let foldedText = FoldedRenderer.render(profile, options: RenderOptions(byState: true, byThread: true))
        let folded = try FoldedParser.parse(foldedText)
        #expect(FoldedRenderer.render(folded, options: RenderOptions(byState: true, byThread: true)) == foldedText)
        #expect(folded.sampleCount == profile.sampleCount)
    }
}

/// Waits until `collector` has taken `more` captures than now, however slowly (bounded: a minute).
func waitForCaptures(_ collector: Collector, more: Int) throws {
    let target = collector.statistics.captures + more
    let deadline = ContinuousClock.now + .seconds(60)
    while collector.statistics.captures < target {
        guard ContinuousClock.now < deadline, collector.isRunning else {
            throw TestFailure("\(collector.statistics.captures) of \(target) captures")
        }
        usleep(5_000)
    }
}

/// Sleeps the whole time: the capture signal cuts nanosleep short (EINTR, whatever SA_RESTART says).
func sleep(seconds: Double) {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end { usleep(UInt32(max(1000, end.timeIntervalSinceNow * 1e6))) }
}

@inline(never) func burstOfWork(milliseconds: Int) {
    let end = Date().addingTimeInterval(Double(milliseconds) / 1000)
    var x = 0
    while Date() < end { for i in 0..<1000 { x &+= i } }
    withExtendedLifetime(x) {}
}

/// A flag shared with a raw thread.
final class SharedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}

/// The collector a test thread watches, to know when it has been sampled.
final class CurrentCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var collector: Collector?
    func set(_ value: Collector?) { lock.lock(); collector = value; lock.unlock() }
    var signalledSamples: Int? {
        lock.lock()
        let collector = self.collector
        lock.unlock()
        return collector?.statistics.signalledSamples
    }
}

@inline(never) func wakeUpThenSleepForCollector(_ current: CurrentCollector) {
    briefWakeUpForCollector(current)
    sleepsLongForCollector()
}

/// Works until the collector has taken a sample (at most 100 ms).
@inline(never) func briefWakeUpForCollector(_ current: CurrentCollector) {
    let before = current.signalledSamples
    let end = Date().addingTimeInterval(0.1)
    var x = 0
    while Date() < end, before != nil, current.signalledSamples == before { for i in 0..<100 { x &+= i } }
    withExtendedLifetime(x) {}
}

@inline(never) func sleepsLongForCollector() {
    sleep(seconds: 0.2)
}
