import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPServer
import PMPTestSupport
import Testing

/// /procs over a real socket with a real `ProcessTable`: listings, history, cancel of a long `run` body, the
/// 403 and 404 answers, and the token.
@Suite("PMPServer process table endpoints") struct ServerProcessTableTests {
    /// A `run` body that reports a status every millisecond until cancelled (bounded, so a failure cannot hang).
    static func startLongRun(in table: ProcessTable, attributes: [String: AttributeValue] = ["method": "GET", "uri": "/slow"],
                             forbidsCancel: Bool = false) async throws -> (id: String, runner: Task<String, any Error>) {
        let arrivals = Arrivals()
        let steps = Observed(0)
        let runner = Task {
            try await table.run(attributes: attributes, forbidsCancel: forbidsCancel) { process in
                try process.setStatus("reading")
                arrivals.arrive(process.id)
                for step in 1...60_000 {
                    try process.setStatus(step.isMultiple(of: 2) ? "querying" : "rendering")
                    steps.value = step
                    await pauseIgnoringCancellation()
                }
                return "never cancelled"
            }
        }
        var iterator = arrivals.stream.makeAsyncIterator()
        let id = try #require(await iterator.next())
        try await waitUntil { steps.value >= 3 }
        return (id, runner)
    }

    @Test("GET /procs and /procs/: the entry in flight, key for key as pm writes it; its history")
    func listAndHistory() async throws {
        let server = try TestServer()
        let (id, runner) = try await Self.startLongRun(in: server.table)
        defer { runner.cancel() }

        for path in ["/procs", "/procs/"] {
            let answer = try await HTTPClient.get(server.url(path))
            #expect(answer.status == 200)
            #expect(answer.headers["content-type"] == "application/json")
            expectCORS(answer.headers)
            let json = try answer.json()
            #expect(Set(json.keys) == ["procs", "serverTime"])
            #expect(nanosecondsSinceEpoch(goTime: json["serverTime"] as? String ?? "") != nil)
            let procs = try #require(json["procs"] as? [[String: Any]])
            try #require(procs.count == 1)
            #expect(Set(procs[0].keys) == ["id", "attrs", "procTime", "statusTime", "status"])
            #expect(procs[0]["id"] as? String == id)
            let attributes = procs[0]["attrs"] as? [[String: String]] ?? []
            #expect(attributes == [["name": "method", "value": "GET"], ["name": "uri", "value": "/slow"]])
            #expect(["querying", "rendering"].contains(procs[0]["status"] as? String ?? ""))
            #expect(nanosecondsSinceEpoch(goTime: procs[0]["procTime"] as? String ?? "") != nil)
        }

        let history = try await HTTPClient.get(server.url("/procs/\(id)/history"))
        #expect(history.status == 200)
        let json = try history.json()
        #expect(Set(json.keys) == ["history", "serverTime"])
        let changes = try #require(json["history"] as? [[String: String]])
        #expect(changes.allSatisfy { Set($0.keys) == ["ts", "status"] })
        #expect(changes.first?["status"] == "init")
        #expect(changes.contains { $0["status"] == "reading" })
        #expect(changes.count <= server.table.historyLimit + 1)

        let unknown = try await HTTPClient.get(server.url("/procs/no-such-id/history"))
        #expect(unknown.status == 404)
        try expectErrorBody(unknown.body, status: 404, containing: "no-such-id")
    }

    @Test("DELETE /procs/{id} cancels a long run: it ends with CancellationError, status `cancelled`")
    func cancel() async throws {
        let server = try TestServer()
        let (id, runner) = try await Self.startLongRun(in: server.table)
        let answer = try await HTTPClient.request(server.url("/procs/\(id)"), method: "DELETE",
                                                  headers: ["Content-Type": "application/json"],
                                                  body: Data(#"{"message": "too slow"}"#.utf8))
        #expect(answer.status == 200)
        expectCORS(answer.headers)
        let json = try answer.json()
        #expect(json["id"] as? String == id)
        #expect(json["cancelled"] as? Bool == true)

        let result = await runner.result
        #expect(throws: CancellationError.self) { try result.get() }
        let record = try #require(server.table.process(id: id))
        #expect(record.status == ProcessStatus.cancelled)
        #expect(record.cancelMessage == "too slow")

        let listing = try await HTTPClient.get(server.url("/procs?all=1")).json()
        let finished = (listing["procs"] as? [[String: Any]] ?? []).first { $0["id"] as? String == id }
        #expect(finished?["status"] as? String == "cancelled")
        let inFlight = try await HTTPClient.get(server.url("/procs")).json()
        #expect((inFlight["procs"] as? [Any])?.isEmpty == true)
        let history = try await HTTPClient.get(server.url("/procs/\(id)/history")).json()
        #expect((history["history"] as? [[String: String]])?.last?["status"] == "cancelled")

        let again = try await HTTPClient.request(server.url("/procs/\(id)"), method: "DELETE")
        #expect(again.status == 404, "finished: no longer in flight")
    }

    @Test("DELETE: 403 when the entry forbids cancel, 404 for an unknown id, 400 for a body that is not {\"message\"}")
    func refusals() async throws {
        let server = try TestServer()
        let (id, runner) = try await Self.startLongRun(in: server.table, forbidsCancel: true)
        defer { runner.cancel() }

        let forbidden = try await HTTPClient.request(server.url("/procs/\(id)"), method: "DELETE")
        #expect(forbidden.status == 403)
        try expectErrorBody(forbidden.body, status: 403, containing: "may not be cancelled")
        #expect(server.table.process(id: id)?.isCancelRequested == false)

        let unknown = try await HTTPClient.request(server.url("/procs/xyz-42"), method: "DELETE")
        #expect(unknown.status == 404)
        try expectErrorBody(unknown.body, status: 404, containing: "xyz-42")

        for body in ["not json", "[1, 2]", #"{"message": 42}"#] {
            let bad = try await HTTPClient.request(server.url("/procs/\(id)"), method: "DELETE", body: Data(body.utf8))
            #expect(bad.status == 400, "\(body)")
            expectCORS(bad.headers)
        }
    }

    @Test("with a token: 401 without it or with a wrong one, 200 with Bearer or ?token=; preflight needs none")
    func token() async throws {
        let server = try TestServer(token: "s3cret-Token")
        for path in ["/stacks", "/health", "/procs", "/debug/pprof"] {
            let refused = try await HTTPClient.get(server.url(path))
            #expect(refused.status == 401, "\(path)")
            #expect(refused.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
            expectCORS(refused.headers)
            try expectErrorBody(refused.body, status: 401, containing: "token")
        }
        // The web UI's page holds no data: it loads without the token, then asks for it.
        #expect(try await HTTPClient.get(server.url("/")).status == 200)
        let wrong = try await HTTPClient.get(server.url("/health"), headers: ["Authorization": "Bearer s3cret-Tokem"])
        #expect(wrong.status == 401)
        let prefix = try await HTTPClient.get(server.url("/health"), headers: ["Authorization": "Bearer s3cret"])
        #expect(prefix.status == 401)
        let bearer = try await HTTPClient.get(server.url("/health"), headers: ["Authorization": "Bearer s3cret-Token"])
        #expect(bearer.status == 200)
        let query = try await HTTPClient.get(server.url("/procs?token=s3cret-Token"))
        #expect(query.status == 200)
        let preflight = try await HTTPClient.request(server.url("/procs/x"), method: "OPTIONS")
        #expect(preflight.status == 204)

        let (id, runner) = try await Self.startLongRun(in: server.table)
        let unauthorized = try await HTTPClient.request(server.url("/procs/\(id)"), method: "DELETE")
        #expect(unauthorized.status == 401)
        #expect(server.table.process(id: id)?.isCancelRequested == false)
        let cancelled = try await HTTPClient.request(server.url("/procs/\(id)"), method: "DELETE",
                                                     headers: ["Authorization": "Bearer s3cret-Token"])
        #expect(cancelled.status == 200)
        let result = await runner.result
        #expect(throws: CancellationError.self) { try result.get() }
    }
}
