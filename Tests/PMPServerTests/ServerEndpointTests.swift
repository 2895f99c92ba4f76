import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPServer
import PMPTestSupport
import Testing

/// Every endpoint and format over a real socket, read by a real HTTP client (URLSession).
@Suite("PMPServer endpoints") struct ServerEndpointTests {
    static let threadKeys: Set<String> = ["tid", "name", "state", "waitReason", "blockedFor", "cpuTime", "failure",
                                          "heldBy", "task", "truncated", "frames"]
    static let frameKeys: Set<String> = ["address", "function", "fullFunction", "file", "line", "image", "inlined"]
    static let headerKeys: Set<String> = ["pid", "time", "elapsed", "maxDepth", "threadCount", "captured"]

    @Test("GET /health: ok, pid and uptimes; CORS headers")
    func health() async throws {
        let server = try TestServer()
        let answer = try await HTTPClient.get(server.url("/health"))
        #expect(answer.status == 200)
        #expect(answer.headers["content-type"] == "application/json")
        expectCORS(answer.headers)
        let json = try answer.json()
        #expect(Set(json.keys) == ["ok", "pid", "uptime", "serverUptime"])
        #expect(json["ok"] as? Bool == true)
        #expect(json["pid"] as? Int == Int(getpid()))
        let uptime = try #require(json["uptime"] as? Double)
        let serverUptime = try #require(json["serverUptime"] as? Double)
        #expect(uptime >= serverUptime && serverUptime >= 0 && serverUptime < 60)
    }

    @Test("GET /debug/pprof is an HTML page listing the endpoints")
    func index() async throws {
        let server = try TestServer()
        let answer = try await HTTPClient.get(server.url("/debug/pprof"))
        #expect(answer.status == 200)
        #expect(answer.headers["content-type"] == "text/html; charset=utf-8")
        for path in ["/stacks", "/profile", "/debug/pprof/profile", "/debug/pprof/goroutine", "/procs", "/health"] {
            #expect(answer.text.contains(path))
        }
    }

    @Test("GET /stacks (JSON): heldBy names the holder of the lock a thread waits for, null otherwise")
    func stacksJSONHeldBy() async throws {
        let server = try TestServer()
        let locks = HeldLocks()
        defer { locks.release() }
        _ = try locks.snapshot()  // both waiters parked
        let threads = try #require(try await HTTPClient.get(server.url("/stacks")).json()["threads"] as? [[String: Any]])
        func entry(_ tid: Int32) throws -> [String: Any] { try #require(threads.first { $0["tid"] as? Int == Int(tid) }) }
        for (waiter, holder) in [(locks.pthreadWaiter, locks.pthreadHolder), (locks.swiftWaiter, locks.swiftHolder)] {
            let waiting = try entry(waiter.tid)
            let holding = try entry(holder.tid)
            let heldBy = try #require(waiting["heldBy"] as? [String: Any], "\(waiting)")
            #expect(Set(heldBy.keys) == ["tid", "name"])
            #expect(heldBy["tid"] as? Int == Int(holder.tid))
            #expect(heldBy["name"] as? String == holding["name"] as? String)
        }
        let swiftHolder = try entry(locks.swiftHolder.tid)
        #expect(swiftHolder["heldBy"] is NSNull)
    }

    @Test("GET /stacks (JSON): every key of the documented shape, and a parked thread's frames")
    func stacksJSON() async throws {
        let server = try TestServer()
        let thread = TestThread.parkedInKnownFunction()
        defer { thread.finish(); thread.waitUntilFinished() }
        let before = Date().timeIntervalSince1970
        let answer = try await HTTPClient.get(server.url("/stacks"))
        let after = Date().timeIntervalSince1970
        #expect(answer.status == 200)
        #expect(answer.headers["content-type"] == "application/json")
        expectCORS(answer.headers)
        let json = try answer.json()
        #expect(Set(json.keys) == Self.headerKeys.union(["threads", "tasks", "taskSummary"]))
        #expect(json["pid"] as? Int == Int(getpid()))
        let time = try #require(json["time"] as? String)
        let seconds = Double(try #require(nanosecondsSinceEpoch(goTime: time), "RFC 3339 UTC: \(time)")) / 1e9
        #expect(seconds >= before - 0.01 && seconds <= after + 0.01, "taken while the request was answered")
        #expect((json["elapsed"] as? Double ?? -1) >= 0)
        #expect(json["maxDepth"] as? Int == 128)
        let threads = try #require(json["threads"] as? [[String: Any]])
        #expect(json["threadCount"] as? Int == threads.count)
        #expect(json["captured"] as? Int == threads.filter { $0["failure"] is NSNull }.count)
        for entry in threads {
            #expect(Set(entry.keys) == Self.threadKeys)
            #expect(entry["tid"] is Int && entry["name"] is String && entry["waitReason"] is String)
            #expect((entry["state"] as? String)?.count == 1)
            #expect(entry["blockedFor"] is Double || entry["blockedFor"] is Int || entry["blockedFor"] is NSNull)
            #expect(entry["failure"] is String || entry["failure"] is NSNull)
            for frame in entry["frames"] as? [[String: Any]] ?? [] {
                #expect(Set(frame.keys) == Self.frameKeys)
                #expect((frame["address"] as? String)?.wholeMatch(of: #/0x[0-9a-f]{16}/#) != nil)
                #expect(frame["line"] is Int || frame["line"] is NSNull)
                #expect(frame["file"] is String || frame["file"] is NSNull)
                #expect(frame["inlined"] is Bool)
            }
        }
        let parked = try #require(threads.first { $0["tid"] as? Int == Int(thread.tid) })
        let functions = (parked["frames"] as? [[String: Any]] ?? []).compactMap { $0["function"] as? String }
        #expect(functions.contains { $0.contains("parkedInTestFunction") })
        #expect(parked["failure"] is NSNull)
        #expect(threads.contains { $0["name"] as? String == "pmp-http" }, "the server's own thread is named")
    }

    @Test("GET /stacks?group=1: identical stacks fold into groups with counts and their threads")
    func stacksGrouped() async throws {
        let server = try TestServer()
        let parked = [TestThread.parkedInKnownFunction(), TestThread.parkedInKnownFunction(), TestThread.parkedInKnownFunction()]
        defer { for thread in parked { thread.finish(); thread.waitUntilFinished() } }
        let answer = try await HTTPClient.get(server.url("/stacks?group=1"))
        #expect(answer.status == 200)
        let json = try answer.json()
        #expect(Set(json.keys) == Self.headerKeys.union(["groups", "taskGroups", "taskSummary"]))
        let groups = try #require(json["groups"] as? [[String: Any]])
        #expect(groups.map { $0["count"] as? Int ?? 0 }.reduce(0, +) == json["threadCount"] as? Int)
        #expect(groups.map { $0["count"] as? Int ?? 0 } == groups.map { $0["count"] as? Int ?? 0 }.sorted(by: >))
        for group in groups {
            #expect(Set(group.keys) == ["count", "waitReason", "truncated", "threads", "frames"])
            let members = try #require(group["threads"] as? [[String: Any]])
            #expect(members.count == group["count"] as? Int)
            for member in members {
                #expect(Set(member.keys) == ["tid", "name", "state", "blockedFor", "cpuTime", "failure", "heldBy", "task"])
            }
            for frame in group["frames"] as? [[String: Any]] ?? [] { #expect(Set(frame.keys) == Self.frameKeys) }
        }
        let tids = Set(parked.map { Int($0.tid) })
        let ours = try #require(groups.first { group in
            (group["threads"] as? [[String: Any]] ?? []).contains { tids.contains($0["tid"] as? Int ?? 0) }
        })
        let memberTids = Set((ours["threads"] as? [[String: Any]] ?? []).compactMap { $0["tid"] as? Int })
        #expect(tids.isSubset(of: memberTids), "the three parked threads share one group")
    }

    @Test("GET /stacks?format=text is the SIGUSR1 dump, read back by DumpParser; folded and grouped text too")
    func stacksText() async throws {
        let server = try TestServer()
        let thread = TestThread.parkedInKnownFunction()
        defer { thread.finish(); thread.waitUntilFinished() }

        let text = try await HTTPClient.get(server.url("/stacks?format=text"))
        #expect(text.status == 200)
        #expect(text.headers["content-type"] == "text/plain; charset=utf-8")
        let dumps = DumpParser.parse(text.text)
        try #require(dumps.count == 1)
        #expect(dumps[0].complete)
        #expect(dumps[0].snapshot.pid == getpid())
        let captured = try #require(dumps[0].snapshot.threads.first { $0.tid == thread.tid })
        #expect(captured.frames.contains { $0.function.contains("parkedInTestFunction") })

        let folded = try await HTTPClient.get(server.url("/stacks?format=folded&state=1"))
        #expect(folded.status == 200)
        let profile = try FoldedParser.parse(folded.text)
        #expect(profile.sampleCount >= 2)
        #expect(folded.text.split(separator: "\n").allSatisfy { $0.hasPrefix("[") }, "state=1: the wait reason first")
        #expect(folded.text.contains("parkedInTestFunction"))

        let grouped = try await HTTPClient.get(server.url("/stacks?format=text&group=1"))
        #expect(grouped.status == 200)
        let listing = try ProfileTextParser.parse(grouped.text)
        #expect(listing.stacks.contains { $0.frames.contains { $0.function.contains("parkedInTestFunction") } })
    }

    @Test("GET /profile in every format, each read back by its own parser")
    func profileFormats() async throws {
        let server = try TestServer()
        let thread = TestThread.parkedInKnownFunction()
        defer { thread.finish(); thread.waitUntilFinished() }
        for format in ProfileFormat.allCases {
            let answer = try await HTTPClient.get(server.url("/profile?seconds=0.3&hz=50&format=\(format.rawValue)"))
            #expect(answer.status == 200, "\(format): \(answer.text.prefix(200))")
            #expect(answer.headers["content-type"] == format.contentType)
            expectCORS(answer.headers)
            let profile: Profile
            switch format {
            case .text: profile = try ProfileTextParser.parse(answer.text)
            case .folded: profile = try FoldedParser.parse(answer.text)
            case .json: profile = try ProfileJSON.parse(answer.text)
            case .pprof:
                #expect(Array(answer.body.prefix(2)) == [0x1f, 0x8b], "gzip")
                profile = try PprofParser.parse(Array(answer.body))
            case .speedscope: profile = try SpeedscopeParser.parse(answer.text)
            case .svg:
                #expect(answer.text.contains("<svg"))
                #expect(answer.text.contains("parkedInTestFunction"))
                continue
            }
            #expect(profile.sampleCount > 0, "\(format)")
            #expect(profile.stacks.contains { $0.frames.contains { $0.function.contains("parkedInTestFunction") } }, "\(format)")
        }
    }

    @Test("GET /profile: defaults, and bad parameters answered 400 with a message")
    func profileParameters() async throws {
        let server = try TestServer()
        let cases: [(String, String)] = [
            ("seconds=abc", "seconds=abc is not a number"),
            ("seconds=0", "out of range"),
            ("seconds=61", "out of range"),
            ("hz=5000", "out of range"),
            ("format=png", "format=png is not one of"),
            ("threads=some", "threads=some is not one of"),
            ("state=maybe", "is not a switch"),
        ]
        for (query, words) in cases {
            let answer = try await HTTPClient.get(server.url("/profile?" + query))
            #expect(answer.status == 400, "\(query)")
            expectCORS(answer.headers)
            try expectErrorBody(answer.body, status: 400, containing: words)
        }
        let json = try await HTTPClient.get(server.url("/profile?seconds=0.2&format=json"))
        let profile = try ProfileJSON.parse(json.text)
        #expect(profile.requestedRate == 100, "100 Hz by default")
        #expect(profile.duration >= 0.15 && profile.duration < 2)
    }

    @Test("two /profile requests at once run side by side; past the limit the answer is 429 at once")
    func concurrentProfiles() async throws {
        let server = try TestServer()
        async let first = HTTPClient.get(server.url("/profile?seconds=1&format=json"))
        async let second = HTTPClient.get(server.url("/profile?seconds=1&format=json"))
        let answers = try await [first, second]
        #expect(answers.map(\.status) == [200, 200])
        let profiles = try answers.map { try ProfileJSON.parse($0.text) }
        let spans = try profiles.map { profile in
            let start = try #require(profile.startTime)
            return start...(start + profile.duration)
        }
        #expect(profiles.allSatisfy { $0.duration >= 0.9 && $0.captures > 0 })
        #expect(spans[0].overlaps(spans[1]), "sampled side by side, not one after the other: \(spans)")

        let single = try TestServer(limits: PMPServerLimits(maxConcurrentProfiles: 1))
        async let running = HTTPClient.get(single.url("/profile?seconds=1.5&format=folded"))
        try await waitUntil { single.server.runningProfileCount == 1 }
        // Timed on a raw socket, without suspending: how long the server took, not when this task resumed.
        let connection = try RawConnection(port: single.port)
        let refusedAt = Date()
        try connection.send("GET /profile?seconds=1&format=folded HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let refused = try connection.readResponse()
        #expect(Date().timeIntervalSince(refusedAt) < 0.5, "refused at once, not queued")
        #expect(refused.status == 429)
        #expect(Int(refused.headers["retry-after"] ?? "") ?? 0 >= 1)
        try expectErrorBody(Data(refused.body), status: 429, containing: "try again")
        let health = try await HTTPClient.get(single.url("/health"))
        #expect(health.status == 200, "other endpoints answer while a profile runs")
        #expect(try await running.status == 200)
    }

    @Test("go tool pprof reads /debug/pprof/profile from the URL")
    func goToolPprof() async throws {
        let server = try TestServer()
        let thread = TestThread.parkedInKnownFunction()
        defer { thread.finish(); thread.waitUntilFinished() }
        let raw = try await HTTPClient.get(server.url("/debug/pprof/profile?seconds=0.3"))
        #expect(raw.status == 200)
        #expect(raw.headers["content-type"] == "application/octet-stream")
        #expect(Array(raw.body.prefix(2)) == [0x1f, 0x8b])

        let url = server.url("/debug/pprof/profile?seconds=1")
        let run = try GoTool.pprof(["-top", "-nodecount=1000", url])
        #expect(run.status == 0, "go tool pprof: \(run.stderr)")
        #expect(run.stdout.contains("flat%"), "\(run.stdout)")
        #expect(run.stdout.contains("parkedInTestFunction"), "\(run.stdout)")
        #expect(run.stderr.contains("Fetching profile over HTTP from \(url)"))
    }

    @Test("GET /debug/pprof/goroutine: debug=1 and debug=2 read back by the Go readers; default pprof")
    func goroutine() async throws {
        let server = try TestServer()
        let thread = TestThread.parkedInKnownFunction()
        defer { thread.finish(); thread.waitUntilFinished() }

        let debug2 = try await HTTPClient.get(server.url("/debug/pprof/goroutine?debug=2"))
        #expect(debug2.status == 200)
        #expect(debug2.headers["content-type"] == "text/plain; charset=utf-8")
        #expect(debug2.text.contains("goroutine \(thread.tid) ["))
        let tracebacks = ReaderDriver.run(GoTracebackReader.self, text: debug2.text)
        #expect(tracebacks.malformed == 0 && tracebacks.recorder.violations == [])
        #expect(tracebacks.stacks.contains { $0.functions.contains { $0.contains("parkedInTestFunction") } })

        let debug1 = try await HTTPClient.get(server.url("/debug/pprof/goroutine?debug=1"))
        #expect(debug1.status == 200)
        #expect(debug1.text.hasPrefix("goroutine profile: total "))
        let counted = ReaderDriver.run(GoProfileReader.self, text: debug1.text)
        #expect(counted.malformed == 0 && counted.recorder.violations == [])
        #expect(counted.stacks.contains { $0.functions.contains { $0.contains("parkedInTestFunction") } })
        // Short names, so the tab-padded columns stay narrow; names=full gives the complete ones.
        #expect(debug1.text.contains("\tparkedInTestFunction(_:)\t"), "\(debug1.text.prefix(2000))")
        #expect(!debug1.text.contains("PMPTestSupport.parkedInTestFunction(PMPTestSupport.TestThread) -> ()"))
        let block = try #require(debug1.text.split(separator: "\n\n").first { $0.contains("\tparkedInTestFunction(_:)\t") })
        let widestName = block.split(separator: "\n").filter { $0.hasPrefix("#\t") }
            .map { $0.split(separator: "\t", omittingEmptySubsequences: true).dropFirst(2).first?.count ?? 0 }.max() ?? 0
        #expect(!block.contains(String(repeating: "\t", count: widestName / 8 + 3)), "padding follows the widest name")
        let full = try await HTTPClient.get(server.url("/debug/pprof/goroutine?debug=1&names=full"))
        #expect(full.text.contains("\tPMPTestSupport.parkedInTestFunction(PMPTestSupport.TestThread) -> ()\t"))

        let url = server.url("/debug/pprof/goroutine")
        let run = try GoTool.pprof(["-top", "-nodecount=1000", url])
        #expect(run.status == 0, "go tool pprof: \(run.stderr)")
        #expect(run.stdout.contains("parkedInTestFunction"))

        let bad = try await HTTPClient.get(server.url("/debug/pprof/goroutine?debug=3"))
        #expect(bad.status == 400)
    }

    @Test("CORS on every answer; OPTIONS preflight 204; unknown path 404; wrong method 405 with Allow; HEAD")
    func protocolAnswers() async throws {
        let server = try TestServer()
        let preflight = try await HTTPClient.request(server.url("/procs/abc"), method: "OPTIONS",
                                                     headers: ["Origin": "http://ui.example",
                                                               "Access-Control-Request-Method": "DELETE"])
        #expect(preflight.status == 204)
        expectCORS(preflight.headers)
        #expect(preflight.body.isEmpty)

        let missing = try await HTTPClient.get(server.url("/nothing/here"))
        #expect(missing.status == 404)
        expectCORS(missing.headers)
        try expectErrorBody(missing.body, status: 404, containing: "/nothing/here")

        for (method, path, allowed) in [("POST", "/stacks", "GET, OPTIONS"), ("DELETE", "/health", "GET, OPTIONS"),
                                        ("GET", "/procs/abc", "DELETE, OPTIONS"), ("PUT", "/procs", "GET, OPTIONS")] {
            let answer = try await HTTPClient.request(server.url(path), method: method)
            #expect(answer.status == 405, "\(method) \(path)")
            #expect(answer.headers["allow"] == allowed)
            expectCORS(answer.headers)
            try expectErrorBody(answer.body, status: 405, containing: "not allowed")
        }

        let head = try await HTTPClient.request(server.url("/health"), method: "HEAD")
        #expect(head.status == 200)
        #expect(head.body.isEmpty)
        #expect(Int(head.headers["content-length"] ?? "") ?? 0 > 0)
    }
}
