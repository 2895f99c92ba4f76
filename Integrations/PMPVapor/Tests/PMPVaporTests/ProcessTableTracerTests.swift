import AsyncHTTPClient
import Foundation
import NIOCore
import PMPIntegrationTesting
import PMPProcessTable
import PMPTracing
import Testing
import Tracing

/// AsyncHTTPClient traces its requests through the tracer of its configuration: with `ProcessTableTracer`, a real
/// request to a real Vapor server on loopback is an entry while it waits for its answer, and leaves when it ends.
@Suite("AsyncHTTPClient spans as process-table entries", .serialized, .timeLimit(.minutes(3)))
struct ProcessTableTracerTests {
    @Test("a client request is an entry, child of the span it runs in, with AsyncHTTPClient's attributes; it leaves when the answer comes")
    func clientSpanInFlight() async throws {
        let table = ProcessTable()
        let gate = Gate()
        try await withApp(table: table, gate: gate) { app in
            let tracer = ProcessTableTracer(table: table)
            var configuration = HTTPClient.Configuration()
            configuration.tracing.tracer = tracer
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            do {
                let call = Task {
                    try await tracer.withSpan("checkout") { _ in
                        let response = try await client.execute(HTTPClientRequest(url: app.base + "/slow"),
                                                                timeout: .seconds(60))
                        let body = try await response.body.collect(upTo: 1 << 16)
                        return (Int(response.status.code), String(buffer: body))
                    }
                }
                // The server's own entry (its middleware) waits at the gate, so the client's span is in flight.
                try await waitUntil("the client's span and the server's request in the table") {
                    table.processes().contains { $0.attributes["operation"] == "GET" }
                        && table.processes().contains { $0.status == "waiting for the gate" }
                }
                let inFlight = table.processes()
                let checkout = try #require(inFlight.first { $0.attributes["operation"] == "checkout" })
                let get = try #require(inFlight.first { $0.attributes["operation"] == "GET" })
                #expect(get.parentID == checkout.id)
                #expect(get.attributes["http.request.method"] == "GET")
                #expect(get.attributes["url.path"] == "/slow")
                #expect(get.attributes["server.address"] == "127.0.0.1")
                let port = try #require(URLComponents(string: app.base)?.port)
                #expect(get.attributes["server.port"] == .number(Double(port)))

                let listing = try await LoopbackClient.request(app.pmpBase + "/procs")
                let json = try JSONSerialization.jsonObject(with: Data(listing.body.utf8)) as? [String: Any]
                let procs = try #require(json?["procs"] as? [[String: Any]])
                #expect(procs.count == 3, "the checkout span, the client's span, the server's request")
                #expect(procs.first { $0["id"] as? String == get.id }?["parent"] as? String == checkout.id)

                gate.open()
                let (status, body) = try await call.value
                #expect(status == 200)
                #expect(body == "done")
                try await waitUntil("every entry finished") { table.processes().isEmpty }
                let finished = table.processes(includingFinished: true)
                let ended = try #require(finished.first { $0.id == get.id })
                #expect(ended.status == "ended")
                #expect(ended.attributes["http.status_code"] == 200, "\(ended.attributes)")
                #expect(tracer.inFlightSpanCount == 0)

                // An answer of 400 and above sets the span's status to error: the entry fails.
                let teapot = try await client.execute(HTTPClientRequest(url: app.base + "/teapot"), timeout: .seconds(60))
                #expect(teapot.status == .imATeapot)
                _ = try await teapot.body.collect(upTo: 1 << 16)
                let refused = try #require(table.processes(includingFinished: true).last {
                    $0.attributes["operation"] == "GET" && $0.id != get.id
                })
                #expect(refused.status.hasPrefix("failed: "))
                #expect(refused.attributes["http.status_code"] == 418)
                #expect(refused.parentID == nil)
            } catch {
                gate.open()
                try await client.shutdown()
                throw error
            }
            try await client.shutdown()
        }
    }
}
