import Foundation
@testable import PMPClient
@testable import PMPCommands
import PMPTestSupport
import Testing

/// The CLI's own HTTP/1.1 client: framing read from bytes as they arrive in pieces, and real sockets (a unix
/// socket server in this process, loopback ports where nothing listens or nothing answers).
@Suite("pmp's HTTP client", .timeLimit(.minutes(1))) struct HTTPClientTests {
    /// Bytes handed out `pieceSize` at a time, as a socket may.
    final class PiecewiseSource: ByteSource {
        let bytes: [UInt8]
        let pieceSize: Int
        var offset = 0

        init(_ text: String, pieceSize: Int) {
            bytes = Array(text.utf8)
            self.pieceSize = pieceSize
        }

        func receive(into buffer: UnsafeMutableRawBufferPointer) throws(HTTPClientError) -> Int {
            let count = min(pieceSize, buffer.count, bytes.count - offset)
            buffer.copyBytes(from: bytes[offset..<(offset + count)])
            offset += count
            return count
        }
    }

    static func read(_ text: String, pieceSize: Int = 1, method: String = "GET") throws(HTTPClientError) -> HTTPResponse {
        var reader = HTTPResponseReader(source: PiecewiseSource(text, pieceSize: pieceSize), name: "test", maxBodyBytes: 1 << 20)
        return try reader.read(requestMethod: method)
    }

    @Test("Content-Length, chunked (with extensions and trailers) and read-to-close bodies, in any piece size",
          arguments: [1, 3, 7, 4096])
    func framing(pieceSize: Int) throws {
        let sized = try Self.read("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello", pieceSize: pieceSize)
        #expect(sized.status == 200 && sized.reason == "OK" && sized.bodyText == "hello")
        #expect(sized.header("content-type") == "text/plain")

        let chunked = try Self.read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                    + "5;name=value\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n",
                                    pieceSize: pieceSize)
        #expect(chunked.bodyText == "hello 0123456789")

        let toClose = try Self.read("HTTP/1.0 404 Not Found\nServer: old\n\nno such thing\n", pieceSize: pieceSize)
        #expect(toClose.status == 404 && toClose.bodyText == "no such thing\n")

        let continued = try Self.read("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
                                      pieceSize: pieceSize)
        #expect(continued.status == 204 && continued.body.isEmpty)

        let head = try Self.read("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", pieceSize: pieceSize, method: "HEAD")
        #expect(head.body.isEmpty)
    }

    @Test("an answer trickling in a byte at a time costs a byte's work per read")
    func trickle() throws {
        // 32 KiB one byte per read: a read that first zeroed a 64 KiB chunk would do 2 GiB of work.
        let body = String(repeating: "x", count: 32 * 1024)
        let answer = try Self.read("HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body, pieceSize: 1)
        #expect(answer.body.count == body.utf8.count)
    }

    @Test("answers that are not HTTP, or end too soon, are errors that say so")
    func malformed() {
        #expect(throws: HTTPClientError.malformedResponse("test", reason: "the answer starts with \"SSH-2.0-OpenSSH_9.2\"")) {
            try Self.read("SSH-2.0-OpenSSH_9.2\r\n")
        }
        #expect(throws: HTTPClientError.connectionBroken("test", reason: "the connection closed in the middle of the body")) {
            try Self.read("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")
        }
        #expect(throws: HTTPClientError.connectionBroken("test", reason: "the connection closed in the middle of the headers")) {
            try Self.read("HTTP/1.1 200 OK\r\nContent-Le")
        }
        #expect(throws: HTTPClientError.malformedResponse("test", reason: "a chunk size line \"zz\"")) {
            try Self.read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        }
        #expect(throws: HTTPClientError.responseTooLarge("test", limit: 1 << 20)) {
            try Self.read("HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n")
        }
    }

    @Test("a unix-socket server answering in chunks; the request carries Host, Connection: close and the token")
    func unixSocket() async throws {
        let path = NSTemporaryDirectory() + "pmp-http-\(UUID().uuidString.prefix(8)).sock"
        let server = try OneShotServer(unixPath: path, answer: "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
                                       + "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n")
        defer { unlink(path) }
        let client = PMPClient.HTTPClient(token: "s3cret", connectTimeout: .seconds(2), timeout: .seconds(5))
        let endpoint = try Endpoint.parse(path)
        let response = try await Task.detached {
            try client.send("DELETE", "/procs/a%20b", to: endpoint, body: Array("{}".utf8), contentType: "application/json")
        }.value
        #expect(response.status == 201)
        #expect(response.bodyText == "abcdefg")
        let request = try #require(server.request())
        #expect(request.hasPrefix("DELETE /procs/a%20b HTTP/1.1\r\n"))
        #expect(request.contains("\r\nHost: localhost\r\n"))
        #expect(request.contains("\r\nConnection: close\r\n"))
        #expect(request.contains("\r\nAuthorization: Bearer s3cret\r\n"))
        #expect(request.hasSuffix("\r\nContent-Length: 2\r\n\r\n{}"))
    }

    @Test("refused, silent and missing endpoints fail with the reason, within the timeouts")
    func failures() async throws {
        let client = PMPClient.HTTPClient(connectTimeout: .milliseconds(500), timeout: .milliseconds(700))
        let refusing = try DeadEndpoints.refusingPort()
        #expect(throws: HTTPClientError.cannotConnect("127.0.0.1:\(refusing)", reason: "connection refused")) {
            try client.get("/procs", from: Endpoint.parse("127.0.0.1:\(refusing)"))
        }
        let silent = try DeadEndpoints.Listener()
        let started = Date()
        #expect(throws: HTTPClientError.timedOut("127.0.0.1:\(silent.port)", after: .milliseconds(700))) {
            try client.get("/procs", from: Endpoint.parse("127.0.0.1:\(silent.port)"))
        }
        let waited = Date().timeIntervalSince(started)
        #expect(waited >= 0.6 && waited < 2, "waited \(waited) s")
        #expect(HTTPClientError.timedOut("h1:9084", after: .milliseconds(700)).description == "h1:9084: no complete answer within 700 ms")
        #expect(throws: HTTPClientError.cannotConnect("/nonexistent/pmp.sock", reason: "no such file or directory")) {
            try client.get("/procs", from: Endpoint.parse("/nonexistent/pmp.sock"))
        }
        #expect(throws: HTTPClientError.cannotResolve("no-such-host.invalid", reason: "name or service not known")) {
            try client.get("/procs", from: Endpoint.parse("no-such-host.invalid:9084"))
        }
    }

    @Test("ENDPOINT forms: host:port, http://host:port/prefix, [v6]:port, :port, unix paths; others refused")
    func endpoints() throws {
        let cases: [(String, Endpoint.Address, String)] = [
            ("h1:9084", .tcp(host: "h1", port: 9084), ""),
            (" 10.0.0.7:80 ", .tcp(host: "10.0.0.7", port: 80), ""),
            (":9084", .tcp(host: "127.0.0.1", port: 9084), ""),
            ("[::1]:9084", .tcp(host: "::1", port: 9084), ""),
            ("http://h1:9084", .tcp(host: "h1", port: 9084), ""),
            ("http://h1:9084/", .tcp(host: "h1", port: 9084), ""),
            ("HTTP://gateway/pmp/a/?x=1", .tcp(host: "gateway", port: 80), "/pmp/a"),
            ("http://[fe80::1%25eth0]:9084/p", .tcp(host: "fe80::1%25eth0", port: 9084), "/p"),
            ("/run/app/pmp.sock", .unix(path: "/run/app/pmp.sock"), ""),
            ("./pmp.sock", .unix(path: "./pmp.sock"), ""),
            ("unix:pmp.sock", .unix(path: "pmp.sock"), ""),
        ]
        for (text, address, prefix) in cases {
            let endpoint = try Endpoint.parse(text)
            #expect(endpoint.address == address, "\(text)")
            #expect(endpoint.pathPrefix == prefix, "\(text)")
        }
        #expect(try Endpoint.parse("[::1]:9084").description == "[::1]:9084")
        #expect(try Endpoint.parse("http://gateway:8080/pmp/").description == "gateway:8080/pmp")
        for bad in ["", "h1", "h1:", "h1:http", "h1:70000", "::1:9084", "https://h1:9084", "http://", "unix:", "h 1:80"] {
            #expect(throws: EndpointError.self, "\"\(bad)\"") { try Endpoint.parse(bad) }
        }
        #expect(try Endpoint.parseList(["h1:1,h2:2", " h3:3 ", "h4:4,"]).map(\.description) == ["h1:1", "h2:2", "h3:3", "h4:4"])
    }
}

/// A unix-socket server that accepts one connection on a thread, keeps the request and writes `answer`.
final class OneShotServer: @unchecked Sendable {
    private let listener: Int32
    private let lock = NSLock()
    private var received: String?
    private let done = DispatchSemaphore(value: 0)

    init(unixPath path: String, answer: String) throws {
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(listener, 4) == 0 else { throw TestFailure("cannot listen on \(path): errno \(errno)") }
        let thread = Thread { [self] in
            let connection = accept(listener, nil, nil)
            var request: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            // Until the end of the head, then the Content-Length bytes after it.
            while true {
                let count = recv(connection, &buffer, buffer.count, 0)
                if count <= 0 { break }
                request += buffer[..<count]
                let text = String(decoding: request, as: UTF8.self)
                if let end = text.range(of: "\r\n\r\n") {
                    let length = text.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                        .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                    if text[end.upperBound...].utf8.count >= length { break }
                }
            }
            lock.withLock { received = String(decoding: request, as: UTF8.self) }
            let bytes = Array(answer.utf8)
            _ = bytes.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            close(connection)
            done.signal()
        }
        thread.start()
    }

    deinit { close(listener) }

    /// The request as it arrived (waits for the exchange).
    func request() -> String? {
        _ = done.wait(timeout: .now() + 10)
        return lock.withLock { received }
    }
}
