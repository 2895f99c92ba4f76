import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A fake endpoint on a loopback port that answers as a hostile or broken server would: whatever bytes the
/// test chooses, an answer that never ends (as fast as the socket takes it, or a byte at a time), markup and
/// escape sequences where names go. Each connection gets its own thread; every request is kept (method,
/// target, headers) so that a test can see what a client sent, the Authorization header included.
package final class HostileEndpoint: @unchecked Sendable {
    package struct Request: Sendable {
        package var method: String
        package var target: String
        package var headers: [(name: String, value: String)]

        package func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    package enum Answer: Sendable {
        /// These bytes, then the connection is closed.
        case bytes([UInt8])
        /// `head`, then `piece` again and again (every `interval` seconds, or as fast as the socket takes it
        /// with 0) until the client goes away or the endpoint stops.
        case endless(head: [UInt8], piece: [UInt8], interval: Double)
    }

    package let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var kept: [Request] = []
    private var stopping = false
    private let answer: @Sendable (Request) -> Answer

    package init(_ answer: @escaping @Sendable (Request) -> Answer) throws {
        self.answer = answer
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var on: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listener = self.listener
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard bound, listen(listener, 64) == 0 else {
            close(listener)
            throw TestFailure("cannot listen on a loopback port: errno \(errno)")
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    /// `127.0.0.1:PORT`.
    package var hostPort: String { "127.0.0.1:\(port)" }

    /// Every request received so far.
    package var requests: [Request] { lock.withLock { kept } }

    package var isStopping: Bool { lock.withLock { stopping } }

    package func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopping = true }
            return !stopping
        }
        if first { shutdown(listener, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop() {
        defer { close(listener) }
        while !isStopping {
            var entry = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 200) > 0, !isStopping else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            // Sends give up now and then, so that a client that stopped reading cannot hold the thread forever.
            var limit = timeval(tv_sec: 1, tv_usec: 0)
            setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            let thread = Thread { [self] in serve(connection) }
            thread.start()
        }
    }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        guard let request = readRequest(connection) else { return }
        lock.withLock { kept.append(request) }
        switch answer(request) {
        case .bytes(let bytes):
            _ = sendAll(connection, bytes)
        case .endless(let head, let piece, let interval):
            guard sendAll(connection, head) else { return }
            while !isStopping {
                guard sendAll(connection, piece) else { return }
                if interval > 0 { usleep(useconds_t(interval * 1_000_000)) }
            }
        }
        shutdown(connection, Int32(SHUT_WR))
    }

    /// The head (up to 64 KB) and a body of its Content-Length.
    private func readRequest(_ connection: Int32) -> Request? {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var headEnd: Int?
        var bodyLength = 0
        while bytes.count < 65536 {
            if let end = headEnd, bytes.count >= end + bodyLength { break }
            let count = recv(connection, &buffer, buffer.count, 0)
            if count < 0, errno == EAGAIN || errno == EINTR, !isStopping { continue }
            guard count > 0 else { return nil }
            bytes += buffer[..<count]
            if headEnd == nil, let range = Self.find([13, 10, 13, 10], in: bytes) {
                headEnd = range
                let head = String(decoding: bytes[..<range], as: UTF8.self)
                bodyLength = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            }
        }
        guard let end = headEnd else { return nil }
        let lines = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = lines[0].split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        let headers = lines.dropFirst().compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
        }
        return Request(method: String(requestLine[0]), target: String(requestLine[1]), headers: headers)
    }

    private func sendAll(_ connection: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0, errno == EAGAIN || errno == EINTR {
                if isStopping { return false }
                continue
            }
            guard sent > 0 else { return false }
            offset += sent
        }
        return true
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return start
        }
        return nil
    }

    // MARK: - Answers

    /// A whole answer with a Content-Length, `Connection: close` and any extra headers.
    package static func answer(status: String = "200 OK", contentType: String, body: [UInt8],
                       headers: [String] = []) -> Answer {
        let head = (["HTTP/1.1 \(status)", "Content-Type: \(contentType)", "Content-Length: \(body.count)",
                     "Connection: close"] + headers).joined(separator: "\r\n") + "\r\n\r\n"
        return .bytes(Array(head.utf8) + body)
    }

    package static func answer(status: String = "200 OK", contentType: String, text: String, headers: [String] = []) -> Answer {
        answer(status: status, contentType: contentType, body: Array(text.utf8), headers: headers)
    }

    /// Bytes as they stand, head included.
    package static func raw(_ text: String) -> Answer { .bytes(Array(text.utf8)) }
}
