import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPServer
import PMPTestSupport
import Testing

/// Headers every answer carries, whatever its endpoint, format or status: a browser must never sniff a JSON,
/// text or pprof answer (which may echo request data) into a script, a style sheet or a page.
/// Serialized: these tests wait on sockets synchronously, and the cooperative pool may be two threads wide.
@Suite("PMPServer answer headers", .serialized) struct ServerAnswerHeadersTests {
    @Test("X-Content-Type-Options: nosniff on every answer: each endpoint and format, errors, preflights and refusals")
    func nosniffEverywhere() throws {
        let server = try TestServer()
        let requests: [(request: String, status: Int)] = [
            ("GET / HTTP/1.1", 200),
            ("GET /debug/pprof HTTP/1.1", 200),
            ("GET /health HTTP/1.1", 200),
            ("GET /stacks HTTP/1.1", 200),
            ("GET /stacks?format=text HTTP/1.1", 200),
            ("GET /stacks?format=folded HTTP/1.1", 200),
            ("GET /debug/pprof/goroutine HTTP/1.1", 200),
            ("GET /debug/pprof/goroutine?debug=1 HTTP/1.1", 200),
            ("GET /debug/pprof/goroutine?debug=2 HTTP/1.1", 200),
            ("GET /procs HTTP/1.1", 200),
            ("GET /procs/none/history HTTP/1.1", 404),
            ("GET /profile?seconds=0.1&format=text HTTP/1.1", 200),
            ("GET /profile?seconds=0.1&format=folded HTTP/1.1", 200),
            ("GET /profile?seconds=0.1&format=json HTTP/1.1", 200),
            ("GET /profile?seconds=0.1&format=pprof HTTP/1.1", 200),
            ("GET /profile?seconds=0.1&format=speedscope HTTP/1.1", 200),
            ("GET /profile?seconds=0.1&format=svg HTTP/1.1", 200),
            ("GET /debug/pprof/profile?seconds=0.1 HTTP/1.1", 200),
            ("GET /stacks?format=nonsense HTTP/1.1", 400),
            ("GET /nowhere HTTP/1.1", 404),
            ("PUT /stacks HTTP/1.1", 405),
            ("OPTIONS /stacks HTTP/1.1", 204),
        ]
        for (line, status) in requests {
            let connection = try RawConnection(port: server.port)
            try connection.send("\(line)\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n")
            let response = try connection.readResponse(timeout: 60)
            #expect(response.status == status, "\(line)")
            #expect(response.headers["x-content-type-options"] == "nosniff", "\(line): \(response.headers)")
        }

        // Refused by the request reader: a malformed request, a head too large.
        for (raw, status) in [("GARBAGE\r\n\r\n", 400),
                              ("GET /health HTTP/1.1\r\nHost: localhost\r\nX-Filler: " + String(repeating: "f", count: 20_000) + "\r\n\r\n", 431)] {
            let connection = try RawConnection(port: server.port)
            try connection.send(raw)
            let response = try connection.readResponse(timeout: 60)
            #expect(response.status == status, "\(raw.prefix(12))")
            #expect(response.headers["x-content-type-options"] == "nosniff", "\(raw.prefix(12)): \(response.headers)")
        }

        // Refused by the token check.
        let guarded = try TestServer(token: "secret")
        let unauthorized = try RawConnection(port: guarded.port)
        try unauthorized.send("GET /stacks HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let refused = try unauthorized.readResponse(timeout: 60)
        #expect(refused.status == 401)
        #expect(refused.headers["x-content-type-options"] == "nosniff", "\(refused.headers)")
    }

    @Test("X-Content-Type-Options: nosniff on the 503 of a connection over the limit")
    func nosniffOverTheLimit() throws {
        let server = try TestServer(limits: PMPServerLimits(maxConnections: 1))
        let held = try RawConnection(port: server.port)
        try held.send("GET /profile?seconds=3&format=folded HTTP/1.1\r\nHost: localhost\r\n\r\n")
        try pollUntil { server.server.runningProfileCount == 1 }
        let over = try RawConnection(port: server.port)
        try over.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let response = try over.readResponse(timeout: 60)
        #expect(response.status == 503)
        #expect(response.headers["x-content-type-options"] == "nosniff", "\(response.headers)")
        withExtendedLifetime(held) {}
    }
}
