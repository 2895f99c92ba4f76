import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPServer
import Testing

/// A server on an ephemeral loopback port (or a unix socket), stopped when the value goes away.
package final class TestServer: @unchecked Sendable {
    package let server: PMPServer
    package let table: ProcessTable

    package init(token: String? = nil, limits: PMPServerLimits = PMPServerLimits(), table: ProcessTable = ProcessTable(),
         listen: ListenAddress = .tcp(host: "127.0.0.1", port: 0)) throws {
        self.table = table
        server = try PMPServer.start(PMPServerConfiguration(listen: listen, token: token, processTable: table,
                                                            limits: limits))
    }

    deinit { server.stop() }

    package var port: Int {
        guard case .tcp(_, let port) = server.localAddress else { return 0 }
        return port
    }

    package var base: String { "http://127.0.0.1:\(port)" }

    package func url(_ path: String) -> String { base + path }
}

/// An answer as a real client saw it.
package struct HTTPAnswer: Sendable {
    package var status: Int
    /// Header names in lower case.
    package var headers: [String: String]
    package var body: Data

    package init(status: Int, headers: [String: String], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    package var text: String { String(decoding: body, as: UTF8.self) }

    package func json() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any], "not a JSON object: \(text.prefix(200))")
    }
}

/// Requests through URLSession (FoundationNetworking, libcurl underneath): a client independent of ours.
package enum HTTPClient {
    package static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 120
        configuration.timeoutIntervalForResource = 120
        return URLSession(configuration: configuration)
    }()

    package static func request(_ url: String, method: String = "GET", headers: [String: String] = [:],
                        body: Data? = nil) async throws -> HTTPAnswer {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        let (data, response) = try await session.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            headers[String(describing: name).lowercased()] = String(describing: value)
        }
        return HTTPAnswer(status: http.statusCode, headers: headers, body: data)
    }

    package static func get(_ url: String, headers: [String: String] = [:]) async throws -> HTTPAnswer {
        try await request(url, headers: headers)
    }
}

/// A client on plain POSIX sockets, for what URLSession will not send: malformed, oversized or slow requests,
/// and unix sockets.
package final class RawConnection {
    package let fd: Int32

    /// `receiveBuffer`: SO_RCVBUF, set before connecting so that the window the server sees is that small.
    package init(port: Int, receiveBuffer: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw TestFailure("connect to port \(port): errno \(errno)")
        }
    }

    package init(unixPath path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() where index < raw.count - 1 { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw TestFailure("connect to \(path): errno \(errno)")
        }
    }

    deinit { close(fd) }

    package func send(_ text: String) throws { try send(Array(text.utf8)) }

    package func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw TestFailure("send: errno \(errno)") }
            offset += written
        }
    }

    /// The server has sent something or closed its end (nothing is read).
    package func hasAnswerOrClosed() -> Bool {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&poller, 1, 0) > 0
    }

    /// Everything the server sends until it closes the connection or `timeout` seconds pass; `closed` tells which.
    package func readUntilClosed(timeout: Double) -> (bytes: [UInt8], closed: Bool) {
        var bytes: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { return (bytes, false) }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(max(1, remaining * 1000)))
            if ready <= 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return (bytes, true) }
            bytes.append(contentsOf: chunk[..<count])
        }
    }

    /// One response (status line, headers, Content-Length body), read within `timeout` seconds.
    package func readResponse(timeout: Double = 60) throws -> RawResponse {
        var buffer: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let response = RawResponse.parse(buffer) { return response }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw TestFailure("no complete response within \(timeout) s: \(String(decoding: buffer, as: UTF8.self))") }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, Int32(max(1, remaining * 1000))) <= 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else {
                throw TestFailure("closed before a complete response: \(String(decoding: buffer, as: UTF8.self))")
            }
            buffer.append(contentsOf: chunk[..<count])
        }
    }
}

/// A response read off a raw socket.
package struct RawResponse {
    package var status: Int
    package var headers: [String: String]
    package var body: [UInt8]
    /// Bytes after this response (a pipelined next one).
    package var rest: [UInt8]

    package var text: String { String(decoding: body, as: UTF8.self) }

    package static func parse(_ bytes: [UInt8]) -> RawResponse? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = bytes.indices.first(where: { bytes[$0...].starts(with: separator) }) else { return nil }
        let head = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusWords = head[0].split(separator: " ")
        guard statusWords.count >= 2, let status = Int(statusWords[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let bodyStart = end + 4
        let length = Int(headers["content-length"] ?? "0") ?? 0
        guard bytes.count >= bodyStart + length else { return nil }
        return RawResponse(status: status, headers: headers, body: Array(bytes[bodyStart..<bodyStart + length]),
                           rest: Array(bytes[(bodyStart + length)...]))
    }
}

/// Checks that the server still answers others: a fresh connection's GET /health within a second.
package func expectServing(_ server: TestServer, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let started = Date()
    let connection = try RawConnection(port: server.port)
    try connection.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
    let response = try connection.readResponse(timeout: 5)
    #expect(response.status == 200, sourceLocation: sourceLocation)
    #expect(Date().timeIntervalSince(started) < 1, "answered within a second", sourceLocation: sourceLocation)
}

/// Every answer carries these, errors included, so that a page on another origin can read them.
package func expectCORS(_ headers: [String: String], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(headers["access-control-allow-origin"] == "*", sourceLocation: sourceLocation)
    #expect(headers["access-control-allow-methods"] == "GET, DELETE, OPTIONS", sourceLocation: sourceLocation)
    #expect(headers["access-control-allow-headers"] == "Authorization, Content-Type", sourceLocation: sourceLocation)
}

/// An error body: `{"error": message, "status": code}`.
package func expectErrorBody(_ body: Data, status: Int, containing words: String,
                     sourceLocation: SourceLocation = #_sourceLocation) throws {
    let object = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any], sourceLocation: sourceLocation)
    #expect(Set(object.keys) == ["error", "status"], sourceLocation: sourceLocation)
    #expect(object["status"] as? Int == status, sourceLocation: sourceLocation)
    let message = object["error"] as? String ?? ""
    #expect(message.contains(words), "\(message)", sourceLocation: sourceLocation)
}
