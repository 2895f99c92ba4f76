import Dispatch
import Foundation
import NIOCore
import PMPProcessTable
import PMPIntegrationTesting
import PMPServer
import PMPVapor
import Testing
import Vapor

/// A Vapor server on a loopback port with the middleware, and PMPServer on the same table.
struct RunningApp {
    let base: String
    let pmpBase: String
}

func withApp(table: ProcessTable, gate: Gate, _ body: (RunningApp) async throws -> Void) async throws {
    var logger = Logger(label: "vapor-test")
    logger.logLevel = .critical
    let app = try await Application.make(.testing, logger: logger)
    app.middleware.use(ProcessTableMiddleware(table: table))
    app.get("slow") { _ async throws -> String in
        try ProcessHandle.current?.setStatus("waiting for the gate")
        await gate.wait()
        // A cancellation point: throws when a cancel reached this request.
        try ProcessHandle.current?.setStatus("answering")
        return "done"
    }
    app.get("teapot") { _ async throws -> Response in Response(status: .imATeapot) }
    app.get("refused") { _ async throws -> String in throw Abort(.forbidden) }
    app.get("sync") { _ in "sync" }

    let pmp = try PMPServer.start(PMPServerConfiguration(listen: .tcp(host: "127.0.0.1", port: 0), processTable: table))
    defer { pmp.stop() }
    guard case .tcp(_, let pmpPort) = pmp.localAddress else { throw TestFailure("PMPServer has no TCP port") }
    try await app.server.start(address: .hostname("127.0.0.1", port: 0))
    let port = app.http.server.shared.localAddress?.port ?? 0
    do {
        try await body(RunningApp(base: "http://127.0.0.1:\(port)", pmpBase: "http://127.0.0.1:\(pmpPort)"))
    } catch {
        gate.open()
        await app.server.shutdown()
        try await app.asyncShutdown()
        throw error
    }
    gate.open()
    await app.server.shutdown()
    try await app.asyncShutdown()
}

@Suite("Vapor: ProcessTableMiddleware", .serialized, .timeLimit(.minutes(3)))
struct ProcessTableMiddlewareTests {
    @Test("50 concurrent slow requests are in the table and in /procs with their statuses; a cancel answers 503 with its message; finished ones keep their HTTP status")
    func concurrentSlowRequests() async throws {
        let table = ProcessTable()
        let gate = Gate()
        let requestCount = 50
        try await withApp(table: table, gate: gate) { app in
            try await withThrowingTaskGroup(of: (Int, LoopbackClient.Answer).self) { clients in
                for index in 0..<requestCount {
                    clients.addTask {
                        (index, try await LoopbackClient.request(app.base + "/slow?n=\(index)",
                                                                 headers: ["X-Request-ID": "client-\(index)"]))
                    }
                }
                try await waitUntil("all requests waiting for the gate") {
                    table.processes().filter { $0.status == "waiting for the gate" }.count == requestCount
                }

                let records = table.processes()
                #expect(records.count == requestCount)
                #expect(Set(records.compactMap { $0.attributes["request-id"] })
                        == Set((0..<requestCount).map { AttributeValue.string("client-\($0)") }))
                for record in records {
                    #expect(record.attributes["method"] == "GET")
                    #expect(record.attributes["path"] == "/slow", "the path, without the query")
                    #expect(record.attributes["route"] == "/slow")
                    guard case .string(let remote)? = record.attributes["remote"] else {
                        Issue.record("no remote address in \(record.attributes)")
                        continue
                    }
                    #expect(remote.hasPrefix("127.0.0.1:"))
                }
                let history = try #require(table.history(id: records[0].id)).changes.map(\.status)
                #expect(history == ["init", "queued", "handler", "waiting for the gate"])

                let listing = try await LoopbackClient.request(app.pmpBase + "/procs")
                #expect(listing.status == 200)
                let json = try JSONSerialization.jsonObject(with: Data(listing.body.utf8)) as? [String: Any]
                let procs = try #require(json?["procs"] as? [[String: Any]])
                #expect(procs.count == requestCount)
                #expect(procs.allSatisfy { $0["status"] as? String == "waiting for the gate" })

                let victim = try #require(records.first { $0.attributes["request-id"] == "client-7" })
                let cancel = try await LoopbackClient.request(
                    app.pmpBase + "/procs/\(victim.id)", method: "DELETE", body: Data(#"{"message":"too slow"}"#.utf8))
                #expect(cancel.status == 200)

                var answers: [Int: LoopbackClient.Answer] = [:]
                let (first, firstAnswer) = try #require(try await clients.next())
                answers[first] = firstAnswer
                #expect(first == 7)
                #expect(firstAnswer.status == 503)
                #expect(firstAnswer.body == "cancelled: too slow\n")

                gate.open()
                for try await (index, answer) in clients { answers[index] = answer }
                #expect(answers.count == requestCount)
                #expect(answers.filter { $0.value.status == 200 && $0.value.body == "done" }.count == requestCount - 1)
            }

            try await waitUntil("every entry finished") { table.processes().isEmpty }
            let finished = table.processes(includingFinished: true)
            #expect(finished.count == requestCount)
            let cancelled = try #require(finished.first { $0.attributes["request-id"] == "client-7" })
            #expect(cancelled.status == "cancelled")
            #expect(cancelled.attributes["http-status"] == 503)
            #expect(cancelled.cancelMessage == "too slow")
            let ended = finished.filter { $0.attributes["request-id"] != "client-7" }
            #expect(ended.allSatisfy { $0.status == "ended" && $0.attributes["http-status"] == 200 })
            let endedHistory = try #require(table.history(id: ended[0].id)).changes.map(\.status)
            #expect(endedHistory == ["init", "queued", "handler", "waiting for the gate", "answering",
                                     "writing response", "ended"])
        }
    }

    @Test("an answer's status is recorded whether the route returned it or threw it")
    func statusesRecorded() async throws {
        let table = ProcessTable()
        try await withApp(table: table, gate: Gate()) { app in
            #expect(try await LoopbackClient.request(app.base + "/teapot").status == 418)
            #expect(try await LoopbackClient.request(app.base + "/refused").status == 403)
            #expect(try await LoopbackClient.request(app.base + "/sync").status == 200)
            #expect(try await LoopbackClient.request(app.base + "/nowhere").status == 404)
            try await waitUntil("every entry finished") { table.processes(includingFinished: true).count == 4 }
            let byPath = Dictionary(uniqueKeysWithValues: table.processes(includingFinished: true).map {
                ($0.attributes["path"] ?? nil, $0)
            })
            #expect(byPath["/teapot"]?.attributes["http-status"] == 418)
            #expect(byPath["/teapot"]?.status == "ended")
            #expect(byPath["/refused"]?.attributes["http-status"] == 403)
            #expect(byPath["/refused"]?.status.hasPrefix("failed: ") == true)
            #expect(byPath["/sync"]?.attributes["http-status"] == 200)
            #expect(byPath["/nowhere"]?.attributes["http-status"] == 404)
            #expect(table.processes().isEmpty)
        }
    }

    @Test("a request waiting behind a starved concurrency pool is in the table, queued")
    func starvedPool() async throws {
        let table = ProcessTable()
        try await withApp(table: table, gate: Gate()) { app in
            let width = ProcessInfo.processInfo.activeProcessorCount
            let release = DispatchSemaphore(value: 0)
            let blocked = DispatchSemaphore(value: 0)
            let seen = Locked<[String]>([])
            let done = DispatchSemaphore(value: 0)
            // A thread of its own watches, since no task can run while the pool is blocked.
            let watcher = Thread {
                for _ in 0..<width { blocked.wait() }
                Thread.sleep(forTimeInterval: 0.2)  // any further pool thread would have taken a blocker by now
                let requester = Thread { _ = try? LoopbackClient.blockingRequest(app.base + "/sync") }
                requester.start()
                let deadline = Date().addingTimeInterval(30)
                while Date() < deadline {
                    if !table.processes().isEmpty {
                        // Time for it to move on, if anything could move it.
                        Thread.sleep(forTimeInterval: 0.3)
                        seen.value = table.processes().map(\.status)
                        break
                    }
                    Thread.sleep(forTimeInterval: 0.02)
                }
                for _ in 0..<width { release.signal() }
                done.signal()
            }
            watcher.start()
            // Block every thread of the pool (test plumbing: the watcher releases them within 30 s).
            for _ in 0..<width {
                Task.detached {
                    blocked.signal()
                    release.wait()
                }
            }
            await withCheckedContinuation { continuation in
                Thread { done.wait(); continuation.resume() }.start()
            }
            #expect(seen.value == ["queued"], "registered on the event loop while no task could run")
            try await waitUntil("the request finished") { table.processes().isEmpty }
            #expect(table.processes(includingFinished: true).first?.attributes["http-status"] == 200)
        }
    }
}

/// A value shared between threads.
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: Value
    init(_ value: Value) { storage = value }
    var value: Value {
        get { lock.withLock { storage } }
        set { lock.withLock { storage = newValue } }
    }
}
