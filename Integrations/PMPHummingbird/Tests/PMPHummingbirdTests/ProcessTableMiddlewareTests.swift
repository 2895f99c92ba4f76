import Foundation
import Hummingbird
import NIOCore
import PMPProcessTable
import PMPHummingbird
import PMPIntegrationTesting
import PMPServer
import Testing

/// A context that knows the client's address, as `RemoteAddressRequestContext` asks.
struct AddressContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// A Hummingbird server on a loopback port, with the middleware in front of every route, and PMPServer on the
/// same table.
struct RunningApp {
    let base: String
    let pmpBase: String
}

func withApp(table: ProcessTable, gate: Gate, _ body: (RunningApp) async throws -> Void) async throws {
    let router = Router(context: AddressContext.self)
    router.add(middleware: ProcessTableMiddleware(table: table))
    router.get("/slow") { request, _ -> String in
        try ProcessHandle.current?.setStatus("waiting for the gate")
        await gate.wait()
        // A cancellation point: throws when a cancel reached this request.
        try ProcessHandle.current?.setStatus("answering")
        return "done"
    }
    router.get("/teapot") { _, _ -> Response in Response(status: .init(code: 418)) }
    router.get("/refused") { _, _ -> String in throw HTTPError(.forbidden) }

    let ports = AsyncStream.makeStream(of: Int.self)
    let app = Application(
        router: router,
        configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in ports.continuation.yield(channel.localAddress?.port ?? 0) })
    let pmp = try PMPServer.start(PMPServerConfiguration(listen: .tcp(host: "127.0.0.1", port: 0), processTable: table))
    defer { pmp.stop() }
    guard case .tcp(_, let pmpPort) = pmp.localAddress else { throw TestFailure("PMPServer has no TCP port") }

    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await app.run() }
        var iterator = ports.stream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestFailure("the server did not start") }
        do {
            try await body(RunningApp(base: "http://127.0.0.1:\(port)", pmpBase: "http://127.0.0.1:\(pmpPort)"))
        } catch {
            gate.open()
            group.cancelAll()
            throw error
        }
        gate.open()
        group.cancelAll()
    }
}

@Suite("Hummingbird: ProcessTableMiddleware", .timeLimit(.minutes(3)))
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
                #expect(history == ["init", "handler", "waiting for the gate"])

                // The same through PMPServer's /procs.
                let listing = try await LoopbackClient.request(app.pmpBase + "/procs")
                #expect(listing.status == 200)
                let json = try JSONSerialization.jsonObject(with: Data(listing.body.utf8)) as? [String: Any]
                let procs = try #require(json?["procs"] as? [[String: Any]])
                #expect(procs.count == requestCount)
                #expect(procs.allSatisfy { $0["status"] as? String == "waiting for the gate" })

                // Cancel one through DELETE /procs/{id}.
                let victim = try #require(records.first { $0.attributes["request-id"] == "client-7" })
                let cancel = try await LoopbackClient.request(
                    app.pmpBase + "/procs/\(victim.id)", method: "DELETE", body: Data(#"{"message":"too slow"}"#.utf8))
                #expect(cancel.status == 200)

                var answers: [Int: LoopbackClient.Answer] = [:]
                // The cancelled one answers while the others still wait.
                let (first, firstAnswer) = try #require(try await clients.next())
                answers[first] = firstAnswer
                #expect(first == 7)
                #expect(firstAnswer.status == 503)
                #expect(firstAnswer.body == "cancelled: too slow\n")
                #expect(table.processes().count == requestCount - 1)

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
            #expect(endedHistory == ["init", "handler", "waiting for the gate", "answering", "writing response", "ended"])
        }
    }

    @Test("an answer's status is recorded whether the handler returned it or threw it")
    func statusesRecorded() async throws {
        let table = ProcessTable()
        try await withApp(table: table, gate: Gate()) { app in
            #expect(try await LoopbackClient.request(app.base + "/teapot").status == 418)
            #expect(try await LoopbackClient.request(app.base + "/refused").status == 403)
            #expect(try await LoopbackClient.request(app.base + "/nowhere").status == 404)
            try await waitUntil("every entry finished") { table.processes(includingFinished: true).count == 3 }
            let byPath = Dictionary(uniqueKeysWithValues: table.processes(includingFinished: true).map {
                ($0.attributes["path"] ?? nil, $0)
            })
            #expect(byPath["/teapot"]?.attributes["http-status"] == 418)
            #expect(byPath["/teapot"]?.status == "ended")
            #expect(byPath["/refused"]?.attributes["http-status"] == 403)
            #expect(byPath["/refused"]?.status.hasPrefix("failed: ") == true)
            #expect(byPath["/nowhere"]?.attributes["http-status"] == 404)
            #expect(table.processes().isEmpty)
        }
    }
}
