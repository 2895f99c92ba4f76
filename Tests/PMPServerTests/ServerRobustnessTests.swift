import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPServer
import PMPTestSupport
import Testing

/// Clients that misbehave, over raw sockets: each is refused or cut off on its own connection while the server
/// goes on answering everyone else.
/// Serialized: these tests wait on sockets synchronously, and the cooperative pool may be two threads wide.
@Suite("PMPServer limits and misbehaving clients", .serialized) struct ServerRobustnessTests {
    @Test("a malformed request: 400 with a message, its connection closed, others served")
    func malformed() throws {
        let server = try TestServer()
        for garbage in ["GARBAGE\r\n\r\n", "GET /health HTTP/9.Z\r\n\r\n", "GET /health HTTP/1.1\r\nBad Header\r\n\r\n",
                        "\u{1}\u{2}\u{3}\r\n\r\n"] {
            let connection = try RawConnection(port: server.port)
            try connection.send(garbage)
            let (bytes, closed) = connection.readUntilClosed(timeout: 5)
            let response = try #require(RawResponse.parse(bytes), "\(garbage.debugDescription): \(String(decoding: bytes, as: UTF8.self))")
            #expect(response.status == 400, "\(garbage.debugDescription)")
            #expect(response.headers["access-control-allow-origin"] == "*")
            #expect(response.text.contains("malformed request"))
            #expect(closed, "the connection is closed")
            try expectServing(server)
        }
    }

    @Test("an oversized head (headers or URL): 431, connection closed, others served")
    func oversizedHead() throws {
        let server = try TestServer(limits: PMPServerLimits(maxHeadBytes: 16 * 1024))
        let bigHeader = "GET /health HTTP/1.1\r\nHost: localhost\r\nX-Filler: " + String(repeating: "a", count: 20_000) + "\r\n\r\n"
        let bigURL = "GET /health?" + String(repeating: "q", count: 20_000) + " HTTP/1.1\r\nHost: localhost\r\n\r\n"
        let manyHeaders = "GET /health HTTP/1.1\r\n" + (0..<2000).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        for request in [bigHeader, bigURL, manyHeaders] {
            let connection = try RawConnection(port: server.port)
            try? connection.send(request)  // the server may close before it has read everything
            let (bytes, closed) = connection.readUntilClosed(timeout: 5)
            let response = try #require(RawResponse.parse(bytes))
            #expect(response.status == 431, "\(request.prefix(40).debugDescription)")
            #expect(closed)
            try expectServing(server)
        }
        // Just under the limit is fine.
        let connection = try RawConnection(port: server.port)
        try connection.send("GET /health HTTP/1.1\r\nHost: localhost\r\nX-Filler: " + String(repeating: "a", count: 15_000) + "\r\n\r\n")
        #expect(try connection.readResponse().status == 200)
    }

    @Test("an oversized body (Content-Length or chunked): 413, connection closed, others served")
    func oversizedBody() throws {
        let server = try TestServer(limits: PMPServerLimits(maxBodyBytes: 64 * 1024))
        let declared = try RawConnection(port: server.port)
        try declared.send("DELETE /procs/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n{\"message\":\"")
        let (bytes, closed) = declared.readUntilClosed(timeout: 5)
        let response = try #require(RawResponse.parse(bytes))
        #expect(response.status == 413)
        #expect(response.text.contains("65536 bytes"))
        #expect(closed)
        try expectServing(server)

        let chunked = try RawConnection(port: server.port)
        try chunked.send("DELETE /procs/x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n")
        let chunk = String(repeating: "x", count: 16_384)
        for _ in 0..<5 { try? chunked.send(String(16_384, radix: 16) + "\r\n" + chunk + "\r\n") }
        let (chunkedBytes, chunkedClosed) = chunked.readUntilClosed(timeout: 5)
        #expect(RawResponse.parse(chunkedBytes)?.status == 413)
        #expect(chunkedClosed)
        try expectServing(server)
    }

    @Test("a slow client that sends half a request gets 408 after the timeout; others are served meanwhile")
    func slowClient() throws {
        let server = try TestServer(limits: PMPServerLimits(requestTimeout: .seconds(1)))
        let slow = try RawConnection(port: server.port)
        let started = Date()
        try slow.send("GET /stacks HTTP/1.1\r\nHost: localhost\r\n")
        // Another client is served at once, several times, while the slow one holds its connection.
        for _ in 0..<3 {
            try expectServing(server)
            usleep(100_000)
        }
        let (bytes, closed) = slow.readUntilClosed(timeout: 30)
        let elapsed = Date().timeIntervalSince(started)
        #expect(RawResponse.parse(bytes)?.status == 408)
        #expect(closed)
        // Never before its deadline (a loaded machine only makes it later).
        #expect(elapsed >= 0.9, "\(elapsed) s")

        // Dripping a byte at a time does not extend the deadline: the connection is cut off while the drip goes
        // on. The whole drip would last twelve deadlines.
        let drip = try RawConnection(port: server.port)
        let header = Array("GET /health HTTP/1.1\r\nHost: localhost\r\nX: ".utf8) + [UInt8](repeating: 0x61, count: 200)
        var dripped = 0
        for byte in header {
            if drip.hasAnswerOrClosed() { break }
            try? drip.send([byte])
            dripped += 1
            usleep(50_000)
        }
        let (dripBytes, dripClosed) = drip.readUntilClosed(timeout: 30)
        #expect(RawResponse.parse(dripBytes)?.status == 408)
        #expect(dripClosed)
        #expect(dripped < header.count, "cut off after \(dripped) of \(header.count) bytes")
    }

    @Test("an idle connection is closed after the idle timeout, also after a keep-alive response")
    func idleTimeout() throws {
        let server = try TestServer(limits: PMPServerLimits(idleTimeout: .milliseconds(500)))
        let silent = try RawConnection(port: server.port)
        let started = Date()
        let (bytes, closed) = silent.readUntilClosed(timeout: 5)
        #expect(bytes.isEmpty && closed)
        // Never before the idle timeout (a loaded machine only makes it later).
        #expect(Date().timeIntervalSince(started) >= 0.4)

        let kept = try RawConnection(port: server.port)
        try kept.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let response = try kept.readResponse()
        #expect(response.status == 200 && response.headers["connection"] == "keep-alive")
        let (_, keptClosed) = kept.readUntilClosed(timeout: 5)
        #expect(keptClosed)
    }

    @Test("keep-alive and pipelining: requests on one connection are answered in order")
    func pipelining() throws {
        let server = try TestServer()
        let connection = try RawConnection(port: server.port)
        try connection.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\nGET /nothing HTTP/1.1\r\nHost: localhost\r\n\r\n"
                            + "GET /procs HTTP/1.1\r\nHost: localhost\r\n\r\n")
        var statuses: [Int] = []
        var buffered: [UInt8] = []
        let (bytes, _) = connection.readUntilClosed(timeout: 1.5)
        buffered = bytes
        while let response = RawResponse.parse(buffered) {
            statuses.append(response.status)
            buffered = response.rest
        }
        #expect(statuses == [200, 404, 200])

        let oneZero = try RawConnection(port: server.port)
        try oneZero.send("GET /health HTTP/1.0\r\n\r\n")
        let (oneZeroBytes, closed) = oneZero.readUntilClosed(timeout: 5)
        #expect(RawResponse.parse(oneZeroBytes)?.status == 200)
        #expect(closed, "HTTP/1.0 without keep-alive: closed after the answer")
    }

    @Test("Expect: 100-continue is answered before the body is sent (curl asks for bodies over 1 KiB)")
    func expectContinue() throws {
        let server = try TestServer()
        let body = #"{"message": "stop"}"#
        let connection = try RawConnection(port: server.port)
        try connection.send("DELETE /procs/unknown HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n"
                            + "Content-Length: \(body.utf8.count)\r\n\r\n")
        let interim = try connection.readResponse(timeout: 2)
        #expect(interim.status == 100)
        try connection.send(body)
        let final = try connection.readResponse()
        #expect(final.status == 404)
        #expect(final.text.contains("unknown"))
    }

    @Test("connections beyond the limit, with every connection busy, are answered 503 and closed")
    func connectionLimit() throws {
        let server = try TestServer(limits: PMPServerLimits(maxConnections: 2))
        let held = [try RawConnection(port: server.port), try RawConnection(port: server.port)]
        // Busy: each has a request being answered (a profile), so neither may be evicted for a newcomer.
        for connection in held {
            try connection.send("GET /profile?seconds=2&format=folded HTTP/1.1\r\nHost: localhost\r\n\r\n")
        }
        try pollUntil { server.server.runningProfileCount == 2 }
        let extra = try RawConnection(port: server.port)
        let (bytes, closed) = extra.readUntilClosed(timeout: 5)
        #expect(RawResponse.parse(bytes)?.status == 503)
        #expect(closed)
        for connection in held { #expect(try connection.readResponse().status == 200) }
    }

    @Test("a non-loopback address without a token is refused; with a token or explicitly allowed it starts")
    func insecureBind() throws {
        for host in ["0.0.0.0", "::", "192.0.2.1", "example.com"] {
            #expect(throws: PMPServerError.insecureAddress(.tcp(host: host, port: 0))) {
                try PMPServer.start(PMPServerConfiguration(listen: .tcp(host: host, port: 0), processTable: ProcessTable()))
            }
        }
        let message = PMPServerError.insecureAddress(.tcp(host: "0.0.0.0", port: 9084)).description
        #expect(message.contains("PMP_TOKEN") && message.contains("PMP_ALLOW_INSECURE=1"))

        let withToken = try PMPServer.start(PMPServerConfiguration(listen: .tcp(host: "0.0.0.0", port: 0), token: "t",
                                                                   processTable: ProcessTable()))
        withToken.stop()
        let allowed = try PMPServer.start(PMPServerConfiguration(listen: .tcp(host: "0.0.0.0", port: 0),
                                                                 allowInsecureNonLoopback: true, processTable: ProcessTable()))
        allowed.stop()
        #expect(throws: PMPServerError.emptyToken) {
            try PMPServer.start(PMPServerConfiguration(listen: .tcp(host: "127.0.0.1", port: 0), token: "",
                                                       processTable: ProcessTable()))
        }
    }

    @Test("a port in use: one plain sentence naming the address and the reason")
    func portInUse() throws {
        let first = try PMPServer.start(PMPServerConfiguration(listen: .tcp(host: "127.0.0.1", port: 0), processTable: ProcessTable()))
        defer { first.stop() }
        guard case .tcp(_, let port) = first.localAddress else { throw TestFailure("not tcp") }
        do {
            let second = try PMPServer.start(PMPServerConfiguration(listen: .tcp(host: "127.0.0.1", port: port),
                                                                    processTable: ProcessTable()))
            second.stop()
            Issue.record("a second server bound the same port")
        } catch {
            let message = "\(error)"
            #expect(message == "cannot listen on 127.0.0.1:\(port): address already in use", "\(message)")
        }
    }

    @Test("without a token, cancel from another machine or another origin's page is refused (403); locally it works")
    func cancelNeedsLocalPeerWithoutToken() async throws {
        let table = ProcessTable()
        let server = try PMPServer.start(PMPServerConfiguration(listen: .tcp(host: "0.0.0.0", port: 0),
                                                                allowInsecureNonLoopback: true, processTable: table))
        defer { server.stop() }
        guard case .tcp(_, let port) = server.localAddress else { throw TestFailure("not tcp") }
        let (id, runner) = try await ServerProcessTableTests.startLongRun(in: table)
        defer { runner.cancel() }
        // A non-loopback address of this machine, when it has one.
        if let address = Self.nonLoopbackIPv4() {
            let remote = try await HTTPClient.request("http://\(address):\(port)/procs/\(id)", method: "DELETE")
            #expect(remote.status == 403)
            try expectErrorBody(remote.body, status: 403, containing: "needs a token")
            let read = try await HTTPClient.get("http://\(address):\(port)/procs")
            #expect(read.status == 200, "reading stays open")
        }
        // A page of another origin open in a browser here (or a DNS-rebound name) cannot cancel without a token.
        for (origin, host) in [("http://evil.example", "127.0.0.1:\(port)"), ("http://evil.example:\(port)", "evil.example:\(port)")] {
            let page = try await HTTPClient.request("http://127.0.0.1:\(port)/procs/\(id)", method: "DELETE",
                                                    headers: ["Origin": origin, "Host": host])
            #expect(page.status == 403, "\(origin)")
            try expectErrorBody(page.body, status: 403, containing: "another origin")
        }
        #expect(table.process(id: id)?.isCancelRequested == false)
        let ownPage = try await HTTPClient.request("http://127.0.0.1:\(port)/procs/\(id)", method: "DELETE",
                                                   headers: ["Origin": "http://127.0.0.1:\(port)"])
        #expect(ownPage.status == 200, "a page this server served may cancel")
    }

    @Test("a unix socket: every kind of answer over it, owner-only permissions, removed on stop")
    func unixSocket() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock").path
        let server = try TestServer(listen: .unix(path: path))
        #expect(server.server.localAddress == .unix(path: path))
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)

        let connection = try RawConnection(unixPath: path)
        try connection.send("GET /health HTTP/1.1\r\nHost: pmp\r\n\r\n")
        let health = try connection.readResponse()
        #expect(health.status == 200)
        #expect(health.text.contains("\"pid\":\(getpid())"))
        try connection.send("GET /stacks?format=text HTTP/1.1\r\nHost: pmp\r\n\r\n")
        let stacks = try connection.readResponse()
        #expect(stacks.status == 200)
        #expect(DumpParser.parse(stacks.text).first?.snapshot.pid == getpid())
        try connection.send("DELETE /procs/none HTTP/1.1\r\nHost: pmp\r\nContent-Length: 0\r\n\r\n")
        #expect(try connection.readResponse().status == 404, "a unix client is local: cancel is allowed without a token")
        try connection.send("GET /profile?seconds=0.2&format=folded HTTP/1.1\r\nHost: pmp\r\n\r\n")
        let profile = try connection.readResponse()
        #expect(profile.status == 200)
        #expect(try FoldedParser.parse(profile.text).sampleCount > 0)

        server.server.stop()
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    static func nonLoopbackIPv4() -> String? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return nil }
        defer { freeifaddrs(list) }
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) else { continue }
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            guard getnameinfo(address, socklen_t(MemoryLayout<sockaddr_in>.size), &host, socklen_t(host.count), nil, 0,
                              NI_NUMERICHOST) == 0 else { continue }
            let text = String(cString: host)
            if !text.hasPrefix("127.") { return text }
        }
        return nil
    }
}
