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

    func submit(_ job: @escaping Job) {
        let needsStart = state.withLock { state -> Bool in
            state.jobs.append(job)
            defer { state.started = true }
            return !state.started
        }
        if needsStart { startThread() }
        wake()
    }

    /// Runs `body` on the capture thread and waits for its result.
    func sync<T: Sendable>(_ body: @escaping @Sendable (Context) throws -> T) throws -> T {
        let box = ResultBox<T>()
        submit { context in box.set(Result { try body(context) }) }
        return try box.wait().get()
    }

    /// Runs `body` on the capture thread; the caller suspends without blocking a pool thread.
    func run<T: Sendable>(_ body: @escaping @Sendable (Context) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submit { context in continuation.resume(with: Result { try body(context) }) }
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
            for job in jobs { job(context) }
            if !jobs.isEmpty { continue }

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
}
