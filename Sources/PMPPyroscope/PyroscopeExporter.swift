#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import PMP
import Synchronization

/// Pushes wall-clock profiles to Grafana Pyroscope: samples every thread for `interval`, then sends that window
/// as pprof (`__name__=wall`, samples labelled `thread` with the thread-name pattern and `state` with the wait
/// reason) while the next window is sampled.
///
///     let exporter = try PyroscopeExporter.start(try PyroscopeConfiguration(url: "http://pyroscope:4040",
///                                                                          applicationName: "checkout"))
///     // …
///     exporter.stop()  // sends the last partial window, waits up to `flushTimeout`
///
/// Sampling runs on PMP's sampler thread and sending on an event loop of its own: no thread of the application
/// waits for the server. Profiles the server cannot take yet wait in a bounded queue (the oldest is dropped
/// when it is full, and counted); 408, 429, 5xx and unanswered requests are retried with a doubling backoff,
/// other 4xx answers are logged and never retried.
public final class PyroscopeExporter: Sendable {
    public static let version = "1.0"

    private struct Item: Sendable {
        var request: PushHTTPRequest
        /// Wall-clock start of the window, seconds since 1970.
        var from: Double
        var attempts = 0
    }

    private struct State {
        var queue: [Item] = []
        var sending = false
        var stopping = false
        var sampling = false
        var collector: Collector?
        var statistics = PyroscopeExporterStatistics()
    }

    public let configuration: PyroscopeConfiguration
    private let transport: PushTransport
    private let logger: Logger
    private let state = Mutex(State())
    /// Profiles older than this are not sent: Pyroscope refuses those more than an hour old.
    static let maxProfileAge: Double = 55 * 60

    private init(configuration: PyroscopeConfiguration, transport: PushTransport, logger: Logger) {
        self.configuration = configuration
        self.transport = transport
        self.logger = logger
    }

    /// Starts sampling and pushing. Throws when the configuration cannot work (see `PyroscopeError`).
    public static func start(_ configuration: PyroscopeConfiguration,
                             logger: Logger = Logger(label: "swift-pmp.pyroscope")) throws(PyroscopeError) -> PyroscopeExporter {
        guard configuration.interval >= .milliseconds(10), configuration.rate > 0, configuration.rate.isFinite,
              configuration.maxQueuedProfiles >= 1, configuration.maxAttempts >= 1 else {
            throw .badSetting(name: "configuration", value: "interval \(configuration.interval), rate \(configuration.rate)",
                              reason: "the interval must be at least 10 ms, the rate positive, the queue and tries at least 1")
        }
        let transport = try PushTransport(url: configuration.url)
        let exporter = PyroscopeExporter(configuration: configuration, transport: transport, logger: logger)
        transport.loop.execute { Self.nameCurrentThread("pmp-push") }
        exporter.state.withLock { $0.sampling = true }
        exporter.startWindow()
        logger.info("pushing wall-clock profiles", metadata: [
            "url": "\(configuration.url)", "api": "\(configuration.api.rawValue)",
            "service_name": "\(configuration.applicationName)", "interval": "\(configuration.interval)",
        ])
        return exporter
    }

    public var statistics: PyroscopeExporterStatistics { state.withLock { $0.statistics } }

    /// Stops sampling, sends the last partial window and what is queued, waiting at most `flushTimeout`;
    /// profiles still unsent then are dropped (and counted). Call it from any thread but the exporter's own.
    public func stop() {
        let collector = beginStop()
        collector?.requestStop()
        let deadline = ContinuousClock.now + configuration.flushTimeout
        while !isDrained, ContinuousClock.now < deadline {
            var pause = timespec(tv_sec: 0, tv_nsec: 5_000_000)
            nanosleep(&pause, nil)
        }
        finishStop()
    }

    /// `stop()` without blocking a thread: for async callers (a `ServiceGroup`'s shutdown).
    public func stop() async {
        let collector = beginStop()
        collector?.requestStop()
        let deadline = ContinuousClock.now + configuration.flushTimeout
        // A cancelled task's sleep returns at once: the wait ends instead of spinning.
        while !isDrained, ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(5))
        }
        finishStop()
    }

    private func beginStop() -> Collector? {
        state.withLock { state in
            state.stopping = true
            return state.collector
        }
    }

    private var isDrained: Bool {
        state.withLock { !$0.sampling && !$0.sending && $0.queue.isEmpty }
    }

    private func finishStop() {
        let unsent = state.withLock { state -> Int in
            let count = state.queue.count
            state.statistics.dropped += count
            state.queue.removeAll()
            state.statistics.queued = 0
            return count
        }
        if unsent > 0 { logger.warning("stopped with \(unsent) profile(s) unsent") }
        transport.shutdown()
    }

    // MARK: - Sampling

    private func startWindow() {
        let options = CollectorOptions(rate: configuration.rate, duration: configuration.interval,
                                       maxStacks: configuration.maxStacks, keepThreadNames: true)
        PMP.startCollector(options) { [self] result in
            switch result {
            case .failure(let error):
                record(error: "sampling could not start: \(error)")
                let stopping = state.withLock { state -> Bool in
                    if state.stopping { state.sampling = false }
                    return state.stopping
                }
                if !stopping {
                    transport.loop.scheduleTask(in: TimeAmount(configuration.interval)) { self.startWindow() }
                }
            case .success(let collector):
                let stopNow = state.withLock { state -> Bool in
                    state.collector = collector
                    return state.stopping
                }
                if stopNow { collector.requestStop() }
                collector.whenFinished { self.windowFinished(collector) }
            }
        }
    }

    /// On the sampler thread: the window's profile, rendered and queued; then the next window.
    private func windowFinished(_ collector: Collector) {
        let profile = collector.profile()
        let from = profile.startTime ?? Double(time(nil))
        enqueue(Item(request: makeRequest(profile, from: from), from: from))
        let again = state.withLock { state -> Bool in
            state.collector = nil
            if state.stopping { state.sampling = false }
            return !state.stopping
        }
        if again { startWindow() }
    }

    func makeRequest(_ profile: Profile, from: Double) -> PushHTTPRequest {
        let pprof = PprofRenderer.encode(profile)
        var headers: [(String, String)] = []
        switch configuration.authorization {
        case .none: break
        case .basic(let user, let password):
            headers.append(("Authorization", "Basic " + Base64.encode(Array("\(user):\(password)".utf8))))
        case .bearer(let token): headers.append(("Authorization", "Bearer " + token))
        }
        if let tenant = configuration.tenantID { headers.append(("X-Scope-OrgID", tenant)) }
        headers += configuration.headers.map { ($0.name, $0.value) }
        switch configuration.api {
        case .push:
            let body = PushRequestEncoder.pushBody(pprof: pprof, labels: PushRequestEncoder.seriesLabels(configuration))
            if let compressed = try? Gzip.compress(body) {
                headers += [("Content-Type", "application/proto"), ("Content-Encoding", "gzip")]
                return PushHTTPRequest(path: "/push.v1.PusherService/Push", headers: headers, body: compressed)
            }
            headers.append(("Content-Type", "application/proto"))
            return PushHTTPRequest(path: "/push.v1.PusherService/Push", headers: headers, body: body)
        case .ingest:
            let boundary = "swift-pmp-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
            headers.append(("Content-Type", "multipart/form-data; boundary=\(boundary)"))
            let until = from + profile.duration
            return PushHTTPRequest(path: "/ingest?" + PushRequestEncoder.ingestQuery(configuration, from: from, until: until),
                                   headers: headers, body: PushRequestEncoder.ingestBody(pprof: pprof, boundary: boundary))
        }
    }

    // MARK: - Sending (on the transport's event loop)

    private func enqueue(_ item: Item) {
        let dropped = state.withLock { state -> Bool in
            state.statistics.profiled += 1
            var dropped = false
            if state.queue.count >= configuration.maxQueuedProfiles {
                state.queue.removeFirst()
                state.statistics.dropped += 1
                dropped = true
            }
            state.queue.append(item)
            state.statistics.queued = state.queue.count
            state.statistics.maxQueued = max(state.statistics.maxQueued, state.queue.count)
            return dropped
        }
        if dropped {
            let total = statistics.dropped
            // Once, then every hundredth: a server away for hours must not flood the log.
            if total == 1 || total % 100 == 0 {
                logger.warning("the queue of \(configuration.maxQueuedProfiles) profiles is full: the oldest was dropped (\(total) so far)")
            }
        }
        transport.loop.execute { self.sendNext() }
    }

    private func sendNext() {
        let next = state.withLock { state -> Item? in
            guard !state.sending else { return nil }
            while !state.queue.isEmpty {
                let item = state.queue.removeFirst()
                state.statistics.queued = state.queue.count
                if Double(time(nil)) - item.from > Self.maxProfileAge {
                    state.statistics.expired += 1
                    continue
                }
                state.sending = true
                return item
            }
            return nil
        }
        if let next { send(next) }
    }

    private func send(_ item: Item) {
        var next = item
        next.attempts += 1
        let item = next
        transport.post(item.request, timeout: configuration.timeout).whenComplete { [self] result in
            let outcome: RetryPolicy.Outcome
            var retryAfter: String?
            var reason = ""
            switch result {
            case .success(let response):
                outcome = RetryPolicy.outcome(status: response.status)
                retryAfter = response.header("Retry-After")
                reason = "HTTP \(response.status)" + Self.message(in: response.body)
            case .failure(let error):
                outcome = .retry
                reason = "\(error)"
            }
            switch outcome {
            case .accepted:
                finished { $0.sent += 1 }
            case .refused:
                record(error: "\(configuration.url) refused a profile, not sent again: \(reason)")
                finished { $0.rejected += 1 }
            case .retry where item.attempts >= configuration.maxAttempts:
                record(error: "\(configuration.url) did not take a profile after \(item.attempts) tries: \(reason)")
                finished { $0.failed += 1 }
            case .retry:
                let wait = RetryPolicy.backoff(afterAttempt: item.attempts, initial: configuration.initialBackoff,
                                               maximum: configuration.maxBackoff, retryAfter: retryAfter)
                state.withLock { $0.statistics.retries += 1 }
                logger.debug("retrying a profile", metadata: ["reason": "\(reason)", "wait": "\(wait)"])
                let stopping = state.withLock { $0.stopping }
                // When stopping, retries go on within the flush time only: `stop()` drops what is left.
                transport.loop.scheduleTask(in: TimeAmount(stopping ? min(wait, .milliseconds(200)) : wait)) {
                    self.send(item)
                }
            }
        }
    }

    private func finished(_ count: (inout PyroscopeExporterStatistics) -> Void) {
        state.withLock { state in
            count(&state.statistics)
            state.sending = false
        }
        sendNext()
    }

    private func record(error: String) {
        state.withLock { $0.statistics.lastError = error }
        logger.error("\(error)")
    }

    /// The `message` of a Connect error body, or the first line of a text one.
    static func message(in body: [UInt8]) -> String {
        guard !body.isEmpty else { return "" }
        let text = String(decoding: body.prefix(512), as: UTF8.self)
        let key = Array("\"message\"".utf8)
        let bytes = Array(text.utf8)
        if bytes.count >= key.count,
           let start = (0...(bytes.count - key.count)).first(where: { bytes[$0..<$0 + key.count].elementsEqual(key) }) {
            // "message" : "…", with or without spaces around the colon.
            var rest = bytes[(start + key.count)...].drop { $0 == UInt8(ascii: " ") }
            if rest.first == UInt8(ascii: ":") {
                rest = rest.dropFirst().drop { $0 == UInt8(ascii: " ") }
                if rest.first == UInt8(ascii: "\"") {
                    return ": " + String(decoding: rest.dropFirst().prefix { $0 != UInt8(ascii: "\"") }, as: UTF8.self)
                }
            }
        }
        let line = text.split(separator: "\n").first.map(String.init) ?? ""
        return line.isEmpty ? "" : ": " + line.filter { !$0.isASCII || $0.asciiValue! >= 0x20 }
    }

    private static func nameCurrentThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}
