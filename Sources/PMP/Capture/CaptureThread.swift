#if canImport(Glibc)
import Glibc
#endif
import CPMPCapture
import Synchronization

/// The dedicated thread that drives every capture: not a Swift task, not an event loop, so it runs while
/// they are all stuck. It blocks the asynchronous signals (the trigger among them; see `BackgroundSignalMask`),
/// runs submitted jobs one at a time, and wakes on the trigger's eventfd.
final class CaptureThread: Sendable {
    static let shared = CaptureThread()

    typealias Job = @Sendable (CaptureThread.Context) -> Void

    /// What jobs get: the engine (installed on first use) and the thread's own state.
    final class Context: @unchecked Sendable {
        fileprivate var engine: CaptureEngine?
        var configuration = EngineConfiguration()

        /// The engine, installed with `configuration` on first use.
        func captureEngine() throws -> CaptureEngine {
            if let engine { return engine }
            let engine = try CaptureEngine(configuration: configuration)
            self.engine = engine
            return engine
        }

        var isEngineInstalled: Bool { engine != nil }
    }

    private struct State {
        var jobs: [Job] = []
        var started = false
        var tid: Int32 = 0
        var trigger: (fd: Int32, action: Job)?
        /// Interval of the CPU watch that measures blocked time between captures; nil: off.
        var watchInterval: Duration?
    }

    private let state = Mutex(State())
    private let wakeFD: Int32

    private init() {
        wakeFD = pmp_eventfd()
    }

    /// The capture thread's kernel id (0 before it started).
    var tid: Int32 { state.withLock { $0.tid } }

    /// How long a caller waits for the capture thread unless told otherwise: long enough for a cold first
    /// capture (symbol tables of every image) behind a dump or two, short enough for a client still waiting.
    static let defaultWaitLimit: Duration = .seconds(15)
    /// Jobs waiting at most; past that, the thread is taken to be stuck and callers are answered at once.
    static let maxQueuedJobs = 256

    /// Queues `job` for the capture thread. Returns false (the job is dropped) when too many are waiting.
    @discardableResult
    func submit(_ job: @escaping Job) -> Bool {
        let (accepted, needsStart) = state.withLock { state -> (Bool, Bool) in
            if state.jobs.count >= Self.maxQueuedJobs { return (false, false) }
            state.jobs.append(job)
            defer { state.started = true }
            return (true, !state.started)
        }
        if needsStart { startThread() }
        if accepted { wake() }
        return accepted
    }

    /// Runs `body` on the capture thread and hands its result to `completion` (on the capture thread), or
    /// `CaptureThreadError` (on another thread) when the capture thread does not get it done within
    /// `waitLimit`. `completion` is called exactly once.
    func submit<T: Sendable>(waitLimit: Duration, _ body: @escaping @Sendable (Context) throws -> T,
                             completion: @escaping @Sendable (Result<T, Error>) -> Void) {
        let once = OnceFlag()
        let accepted = submit { context in
            guard !once.isDone else { return }  // given up already: do not pay for it
            let result = Result { try body(context) }
            if once.claim() { completion(result) }
        }
        guard accepted else {
            if once.claim() { completion(.failure(CaptureThreadError.overloaded(queued: Self.maxQueuedJobs))) }
            return
        }
        Watchdog.shared.schedule(after: waitLimit) {
            if once.claim() { completion(.failure(CaptureThreadError.notResponding(waited: waitLimit))) }
        }
    }

    /// Runs `body` on the capture thread and waits for its result, at most `waitLimit`.
    func sync<T: Sendable>(waitLimit: Duration = CaptureThread.defaultWaitLimit,
                           _ body: @escaping @Sendable (Context) throws -> T) throws -> T {
        let box = ResultBox<T>()
        let once = OnceFlag()
        let accepted = submit { context in
            guard !once.isDone else { return }
            let result = Result { try body(context) }
            if once.claim() { box.set(result) }
        }
        guard accepted else { throw CaptureThreadError.overloaded(queued: Self.maxQueuedJobs) }
        if let result = box.wait(timeout: waitLimit) { return try result.get() }
        if once.claim() { throw CaptureThreadError.notResponding(waited: waitLimit) }
        return try box.wait().get()  // it finished just now
    }

    /// Runs `body` on the capture thread; the caller suspends without blocking a pool thread, at most
    /// `waitLimit`.
    func run<T: Sendable>(waitLimit: Duration = CaptureThread.defaultWaitLimit,
                          _ body: @escaping @Sendable (Context) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submit(waitLimit: waitLimit, body) { continuation.resume(with: $0) }
        }
    }

    func setTrigger(fd: Int32, action: @escaping Job) {
        state.withLock { $0.trigger = (fd, action) }
        submit { _ in }
    }

    func clearTrigger() {
        state.withLock { $0.trigger = nil }
        wake()
    }

    func setWatch(interval: Duration?) {
        state.withLock { $0.watchInterval = interval }
        submit { _ in }
    }

    private func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    private func startThread() {
        do {
            try startDetachedThread(name: "pmp-capture") { [self] in self.main() }
        } catch {
            fatalError("swift-pmp: cannot start the capture thread: \(error)")
        }
    }

    private func main() {
        BackgroundSignalMask.apply()
        let tid = ThreadList.currentThreadID()
        state.withLock { $0.tid = tid }
        let context = Context()
        var lastWatch = Clock.monotonicNanoseconds()
        while true {
            let (jobs, trigger, watch) = state.withLock { state -> ([Job], (fd: Int32, action: Job)?, Duration?) in
                defer { state.jobs.removeAll() }
                return (state.jobs, state.trigger, state.watchInterval)
            }
            // Then the trigger and the watch, even while jobs keep coming: new jobs make the poll return at once.
            for job in jobs { job(context) }

            var fds = [pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
            if let trigger { fds.append(pollfd(fd: trigger.fd, events: Int16(POLLIN), revents: 0)) }
            var timeout: Int32 = -1
            if let watch {
                let interval = UInt64(max(1_000_000, watch.nanoseconds))
                let now = Clock.monotonicNanoseconds()
                timeout = now >= lastWatch + interval ? 0 : Int32((lastWatch + interval - now) / 1_000_000) + 1
            }
            let ready = poll(&fds, nfds_t(fds.count), timeout)
            if ready < 0 { continue }
            var counter: UInt64 = 0
            if fds[0].revents & Int16(POLLIN) != 0 { _ = read(wakeFD, &counter, 8) }
            if let trigger, fds.count > 1, fds[1].revents & Int16(POLLIN) != 0 {
                // One read takes every signal that arrived so far: a storm becomes one dump.
                if read(trigger.fd, &counter, 8) == 8 { trigger.action(context) }
            }
            if let watch {
                let now = Clock.monotonicNanoseconds()
                if now >= lastWatch + UInt64(max(1_000_000, watch.nanoseconds)) {
                    if let engine = try? context.captureEngine() { engine.observeCPU() }
                    lastWatch = now
                }
            }
        }
    }
}

/// A one-shot result handed from the capture thread to a waiting caller.
final class ResultBox<T: Sendable>: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var value: Result<T, Error>?

    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    func set(_ result: Result<T, Error>) {
        pthread_mutex_lock(&mutex)
        value = result
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
    }

    func wait() -> Result<T, Error> {
        pthread_mutex_lock(&mutex)
        while value == nil { pthread_cond_wait(&condition, &mutex) }
        let result = value!
        pthread_mutex_unlock(&mutex)
        return result
    }

    /// The result, or nil when none came within `timeout`.
    func wait(timeout: Duration) -> Result<T, Error>? {
        let deadline = Clock.monotonicNanoseconds() &+ UInt64(max(0, timeout.nanoseconds))
        pthread_mutex_lock(&mutex)
        while value == nil {
            let now = Clock.monotonicNanoseconds()
            if now >= deadline { break }
            // The condition runs on CLOCK_REALTIME: wait in slices, re-checking the monotonic deadline.
            let slice = min(deadline - now, 100_000_000)
            var real = timespec()
            clock_gettime(CLOCK_REALTIME, &real)
            let end = UInt64(real.tv_sec) * 1_000_000_000 + UInt64(real.tv_nsec) + slice
            var time = timespec(tv_sec: Int(end / 1_000_000_000), tv_nsec: Int(end % 1_000_000_000))
            _ = pthread_cond_timedwait(&condition, &mutex, &time)
        }
        let result = value
        pthread_mutex_unlock(&mutex)
        return result
    }
}

/// Claimed once: by the job that produced a result, or by the timeout that gave up on it.
final class OnceFlag: Sendable {
    private let done = Atomic<Bool>(false)

    /// True for the first caller only.
    func claim() -> Bool { done.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged }

    var isDone: Bool { done.load(ordering: .acquiring) }
}
