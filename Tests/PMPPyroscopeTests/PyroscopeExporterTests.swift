import Foundation
import InMemoryLogging
import Logging
@testable import PMP
@testable import PMPPyroscope
import PMPTestSupport
import Testing

/// The exporter against the stand-in Pyroscope on loopback: real sockets, real profiles, real failures.
@Suite("Pyroscope exporter", .serialized) struct PyroscopeExporterTests {
    static func configuration(_ fake: FakePyroscope, interval: Duration = .milliseconds(300),
                              _ change: (inout PyroscopeConfiguration) throws -> Void = { _ in }) throws -> PyroscopeConfiguration {
        var configuration = try PyroscopeConfiguration(url: fake.url, applicationName: "checkout",
                                                       labels: try PyroscopeLabels.parse("env=test,region=eu-1"),
                                                       interval: interval)
        configuration.rate = 50
        configuration.initialBackoff = .milliseconds(20)
        configuration.maxBackoff = .milliseconds(200)
        configuration.flushTimeout = .seconds(20)
        try change(&configuration)
        return configuration
    }

    /// Threads with names and a known wait: what the samples' `thread` and `state` labels should show.
    static func startSleepers() -> [TestThread] {
        let threads = (0..<2).map { index in
            TestThread { me in
                try? "sleeper-\(index)".write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
                me.ready()
                me.park()
            }
        }
        threads.forEach { $0.waitUntilReady() }
        return threads
    }

    @Test("each interval pushes one wall profile, which the rules accept, labelled by thread pattern and state")
    func pushesProfiles() throws {
        let fake = try FakePyroscope()
        let sleepers = Self.startSleepers()
        defer { sleepers.forEach { $0.finish() } }
        let exporter = try PyroscopeExporter.start(try Self.configuration(fake))
        #expect(FakePyroscope.waitUntil { fake.accepted.count >= 4 }, "\(exporter.statistics)")
        exporter.stop()
        let statistics = exporter.statistics
        let requests = fake.requests
        // Every profile made was sent once and accepted: nothing lost, nothing sent twice.
        #expect(requests.count == statistics.profiled, "\(statistics)")
        #expect(statistics.sent == statistics.profiled && statistics.retries == 0 && statistics.dropped == 0)
        #expect(requests.allSatisfy { $0["status"] as? Int == 200 }, "\(requests.compactMap { $0["error"] })")
        for request in requests {
            #expect(request["path"] as? String == "/push.v1.PusherService/Push")
            let headers = try #require(request["headers"] as? [String: String])
            #expect(headers["content-type"] == "application/proto")
            #expect(headers["content-encoding"] == "gzip")
            let series = FakeSeries.of(request)
            #expect(series.count == 1)
            let labels = try #require(series.first).labelDictionary
            #expect(labels["__name__"] == "wall")
            #expect(labels["service_name"] == "checkout")
            #expect(labels["env"] == "test" && labels["region"] == "eu-1")
            #expect(labels["otel.scope.name"] == "swift-pmp")
            #expect(Set(series[0].profileTypeIDs) == ["wall:samples:count:wall:nanoseconds",
                                                      "wall:wall:nanoseconds:wall:nanoseconds"])
        }
        // Sample labels: the thread-name pattern (never a raw id or a raw name) and the wait reason.
        let values = requests.flatMap(FakeSeries.of).flatMap(\.profiles).compactMap { $0["label_values"] as? [String: [String]] }
        let keys = Set(values.flatMap(\.keys))
        #expect(keys.isSubset(of: ["thread", "state"]) && keys.contains("thread") && keys.contains("state"), "\(keys)")
        let threads = Set(values.flatMap { $0["thread"] ?? [] })
        #expect(threads.contains("sleeper-#"), "\(threads)")
        #expect(!threads.contains("sleeper-0"), "thread names are patterns")
        #expect(!threads.contains { $0.allSatisfy(\.isNumber) }, "no thread ids: \(threads)")
        #expect(!Set(values.flatMap { $0["state"] ?? [] }).isEmpty)
    }

    @Test("a server answering 503 gets the profile again after a backoff, and nothing is lost")
    func retriesUnavailable() throws {
        let fake = try FakePyroscope(["--fail-first", "3", "--fail-status", "503"])
        let exporter = try PyroscopeExporter.start(try Self.configuration(fake))
        #expect(FakePyroscope.waitUntil { fake.accepted.count >= 3 }, "\(exporter.statistics)")
        exporter.stop()
        let statistics = exporter.statistics
        let requests = fake.requests
        #expect(requests.prefix(3).allSatisfy { $0["status"] as? Int == 503 })
        #expect(statistics.retries >= 3, "\(statistics)")
        #expect(statistics.failed == 0 && statistics.dropped == 0 && statistics.rejected == 0, "\(statistics)")
        #expect(statistics.sent == statistics.profiled, "every profile arrived: \(statistics)")
        #expect(fake.accepted.count == statistics.profiled)
        // The windows arrive in order, each once.
        let starts = fake.accepted.flatMap(FakeSeries.of).flatMap(\.profiles).compactMap { $0["time_nanos"] as? Int }
        #expect(starts == starts.sorted() && Set(starts).count == starts.count)
    }

    @Test("429 and 408 are retried too; a Retry-After is honoured within the backoff limit")
    func retriesTooManyRequests() throws {
        #expect(RetryPolicy.outcome(status: 429) == .retry)
        #expect(RetryPolicy.outcome(status: 408) == .retry)
        #expect(RetryPolicy.outcome(status: 502) == .retry)
        #expect(RetryPolicy.outcome(status: 400) == .refused)
        #expect(RetryPolicy.outcome(status: 401) == .refused)
        #expect(RetryPolicy.outcome(status: 413) == .refused)
        #expect(RetryPolicy.outcome(status: 204) == .accepted)
        #expect(RetryPolicy.backoff(afterAttempt: 1, initial: .seconds(1), maximum: .seconds(30), retryAfter: nil) == .seconds(1))
        #expect(RetryPolicy.backoff(afterAttempt: 4, initial: .seconds(1), maximum: .seconds(30), retryAfter: nil) == .seconds(8))
        #expect(RetryPolicy.backoff(afterAttempt: 20, initial: .seconds(1), maximum: .seconds(30), retryAfter: nil) == .seconds(30))
        #expect(RetryPolicy.backoff(afterAttempt: 1, initial: .seconds(1), maximum: .seconds(30), retryAfter: "7") == .seconds(7))
        #expect(RetryPolicy.backoff(afterAttempt: 1, initial: .seconds(1), maximum: .seconds(30), retryAfter: "900") == .seconds(30))

        let fake = try FakePyroscope(["--fail-first", "2", "--fail-status", "429"])
        let exporter = try PyroscopeExporter.start(try Self.configuration(fake))
        #expect(FakePyroscope.waitUntil { fake.accepted.count >= 2 }, "\(exporter.statistics)")
        exporter.stop()
        #expect(exporter.statistics.retries >= 2 && exporter.statistics.sent == exporter.statistics.profiled)
    }

    @Test("a server answering 400 gets each profile once, and the refusal is logged with the server's message")
    func noRetryOnBadRequest() throws {
        let fake = try FakePyroscope(["--status", "400"])
        let log = InMemoryLogHandler()
        let exporter = try PyroscopeExporter.start(try Self.configuration(fake), logger: Logger(label: "test") { _ in log })
        #expect(FakePyroscope.waitUntil { fake.requests.count >= 3 }, "\(exporter.statistics)")
        exporter.stop()
        let statistics = exporter.statistics
        #expect(statistics.retries == 0, "\(statistics)")
        #expect(statistics.rejected == statistics.profiled && statistics.sent == 0, "\(statistics)")
        #expect(fake.requests.count == statistics.profiled, "each profile was sent exactly once")
        let errors = log.entries.filter { $0.level == .error }.map { "\($0.message)" }
        #expect(errors.count == statistics.profiled, "\(errors)")
        #expect(errors.first?.contains("HTTP 400: injected") == true, "\(errors)")
        #expect(errors.first?.contains("not sent again") == true)
    }

    @Test("a server that never answers never holds up the application: the queue stays bounded and drops are counted")
    func blackhole() throws {
        let fake = try FakePyroscope(["--blackhole"])
        let exporter = try PyroscopeExporter.start(try Self.configuration(fake, interval: .milliseconds(50)) {
            $0.maxQueuedProfiles = 3
            $0.timeout = .seconds(600)
            $0.flushTimeout = .milliseconds(300)
        })
        #expect(FakePyroscope.waitUntil { exporter.statistics.profiled >= 12 }, "\(exporter.statistics)")
        // Meanwhile the application's own work goes on: a capture from this thread is answered.
        let snapshot = try PMP.snapshot()
        #expect(!snapshot.threads.isEmpty)
        let during = exporter.statistics
        #expect(during.maxQueued <= 3, "\(during)")
        #expect(during.queued <= 3)
        // One in flight, at most three waiting: every other one was dropped, oldest first, and counted.
        #expect(during.dropped >= during.profiled - 4, "\(during)")
        #expect(during.sent == 0)
        exporter.stop()
        let after = exporter.statistics
        #expect(after.queued == 0)
        #expect(after.dropped + after.sent + after.failed + 1 >= after.profiled, "\(after)")
    }

    @Test("the /ingest API: a multipart pprof named by its sample types, labels in the name")
    func ingest() throws {
        let fake = try FakePyroscope()
        let exporter = try PyroscopeExporter.start(try Self.configuration(fake) { $0.api = .ingest })
        #expect(FakePyroscope.waitUntil { fake.accepted.count >= 2 }, "\(exporter.statistics) \(fake.requests)")
        exporter.stop()
        #expect(fake.requests.allSatisfy { $0["status"] as? Int == 200 }, "\(fake.requests.compactMap { $0["error"] })")
        let request = try #require(fake.accepted.first)
        #expect((request["path"] as? String)?.hasPrefix("/ingest?") == true)
        let query = try #require(request["query"] as? [String: String])
        #expect(query["name"] == "checkout{env=test,region=eu-1}")
        #expect(query["format"] == "pprof")
        #expect(query["spyName"] == "swift-pmp")
        let series = try #require(FakeSeries.of(request).first)
        #expect(series.profileTypeIDs.contains("wall:wall:nanoseconds:wall:nanoseconds"))
    }

    @Test("basic auth, bearer tokens and the tenant header reach the server")
    func authentication() throws {
        let basic = try FakePyroscope(["--basic", "123456:s3cr:et", "--tenant", "team-a"])
        var exporter = try PyroscopeExporter.start(try Self.configuration(basic) {
            $0.authorization = .basic(user: "123456", password: "s3cr:et")
            $0.tenantID = "team-a"
        })
        #expect(FakePyroscope.waitUntil { !basic.requests.isEmpty })
        exporter.stop()
        #expect(basic.requests.allSatisfy { $0["status"] as? Int == 200 }, "\(basic.requests.compactMap { $0["error"] })")

        let bearer = try FakePyroscope(["--bearer", "tok-123"])
        exporter = try PyroscopeExporter.start(try Self.configuration(bearer) { $0.authorization = .bearer("tok-123") })
        #expect(FakePyroscope.waitUntil { !bearer.requests.isEmpty })
        exporter.stop()
        #expect(bearer.requests.allSatisfy { $0["status"] as? Int == 200 }, "\(bearer.requests.compactMap { $0["error"] })")

        // Without the tenant, the server refuses, and the exporter does not insist.
        let strict = try FakePyroscope(["--tenant", "team-a"])
        exporter = try PyroscopeExporter.start(try Self.configuration(strict))
        #expect(FakePyroscope.waitUntil { !strict.requests.isEmpty })
        exporter.stop()
        #expect(exporter.statistics.rejected >= 1 && exporter.statistics.retries == 0)
    }

    @Test("every profile pushed parses with Google's pprof library")
    func pushedProfilesParseWithGooglePprof() throws {
        let fake = try FakePyroscope()
        let sleepers = Self.startSleepers()
        defer { sleepers.forEach { $0.finish() } }
        let exporter = try PyroscopeExporter.start(try Self.configuration(fake))
        #expect(FakePyroscope.waitUntil { fake.accepted.count >= 2 })
        exporter.stop()
        let files = fake.profileFiles
        #expect(files.count == fake.accepted.count)
        let summaries = try PprofCheck.check(files.map(\.path))
        #expect(summaries.count == files.count)
        for summary in summaries {
            #expect(summary["ok"] as? Bool == true, "\(summary)")
            #expect(summary["sample_types"] as? [String] == ["samples/count", "wall/nanoseconds"])
            #expect(summary["period_type"] as? String == "wall/nanoseconds")
            #expect((summary["samples"] as? Int ?? 0) > 0)
            #expect((summary["time_nanos"] as? Int ?? 0) > 1_700_000_000_000_000_000)
        }
    }
}

/// `PMPServer.startFromEnvironment()` starts the exporter in a real service process.
@Suite("Pyroscope exporter from the environment", .serialized) struct PyroscopeEnvironmentTests {
    @Test("pmp-demo with PMP_LISTEN and PMP_PYROSCOPE_* pushes its profiles, named and labelled as configured")
    func demoPushes() throws {
        let fake = try FakePyroscope(["--tenant", "t1"])
        let demo = try DemoProcess([], environment: [
            "PMP_LISTEN": "127.0.0.1:0", "PMP_PYROSCOPE_URL": fake.url, "PMP_PYROSCOPE_APP": "demo-service",
            "PMP_PYROSCOPE_LABELS": "env=ci", "PMP_PYROSCOPE_INTERVAL": "1s", "PMP_PYROSCOPE_TENANT": "t1",
        ])
        defer { demo.stop() }
        #expect(FakePyroscope.waitUntil(90) { fake.accepted.count >= 2 }, "\(fake.requests)")
        let first = try #require(fake.accepted.first)
        let labels = try #require(FakeSeries.of(first).first).labelDictionary
        #expect(labels["service_name"] == "demo-service" && labels["env"] == "ci" && labels["__name__"] == "wall")
        #expect(fake.requests.allSatisfy { $0["status"] as? Int == 200 })
    }

    @Test("a bad PMP_PYROSCOPE_URL stops start-up with a sentence naming the variable")
    func badURL() throws {
        let run = try ToolRun.run(DemoProcess.executable, [], environment: ["PMP_LISTEN": "127.0.0.1:0",
                                                                            "PMP_PYROSCOPE_URL": "pyroscope:4040"], timeout: 60)
        #expect(run.status != 0)
        #expect(run.stderr.contains("PMP_PYROSCOPE_URL \"pyroscope:4040\" is not usable: the scheme must be http:// or https://"),
                "\(run.stderr)")
    }
}
