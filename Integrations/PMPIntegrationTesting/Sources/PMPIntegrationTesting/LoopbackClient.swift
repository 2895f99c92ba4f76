import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// HTTP/1.1 requests on plain POSIX sockets, each on a thread of its own (blocking, with a receive timeout): a real
/// client on real loopback sockets, many at once, and nothing to cancel (a test that fails never waits on it for
/// long).
public enum LoopbackClient {
    public struct Answer: Sendable {
        public var status: Int
        public var body: String
    }

    /// `url` is `http://127.0.0.1:PORT/path`.
    public static func request(_ url: String, method: String = "GET", headers: [String: String] = [:],
                        body: Data? = nil, timeoutSeconds: Int = 120) async throws -> Answer {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result {
                    try blockingRequest(url, method: method, headers: headers, body: body ?? Data(),
                                        timeoutSeconds: timeoutSeconds)
                })
            }
            thread.start()
        }
    }

    /// The same, blocking the calling thread: for code that must not wait on a task.
    public static func blockingRequest(_ url: String, method: String = "GET", headers: [String: String] = [:],
                                       body: Data = Data(), timeoutSeconds: Int = 120) throws -> Answer {
        guard let components = URLComponents(string: url), let port = components.port else {
            throw TestFailure("not a loopback URL: \(url)")
        }
        let target = components.percentEncodedPath + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw TestFailure("connect to \(port): errno \(errno)") }
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        head += "Content-Length: \(body.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let request = Array((head + "\r\n").utf8) + Array(body)
        var offset = 0
        while offset < request.count {
            let sent = request[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            // A capture signal (a PMPServer's warm-up in the same process) interrupts blocking calls: go on.
            if sent < 0, errno == EINTR { continue }
            guard sent > 0 else { throw TestFailure("send: errno \(errno)") }
            offset += sent
        }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { break }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw TestFailure("recv: errno \(errno) after \(answer.count) bytes") }
            answer += chunk[..<count]
            guard answer.count < 16 << 20 else { throw TestFailure("answer over 16 MB") }
        }
        return try parse(answer)
    }

    /// Status line, headers, then a body of Content-Length bytes, chunked, or up to the close.
    private static func parse(_ bytes: [UInt8]) throws -> Answer {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw TestFailure("no end of head in \(text.prefix(200))") }
        let headLines = text[..<split.lowerBound].components(separatedBy: "\r\n")
        let statusParts = headLines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw TestFailure("bad status line \(headLines[0])")
        }
        var rest = String(text[split.upperBound...])
        let chunked = headLines.dropFirst().contains { $0.lowercased().hasPrefix("transfer-encoding:") && $0.lowercased().contains("chunked") }
        if chunked {
            var decoded = ""
            while let lineEnd = rest.range(of: "\r\n"), let size = Int(rest[..<lineEnd.lowerBound], radix: 16), size > 0 {
                let start = lineEnd.upperBound
                let utf8 = rest.utf8
                let chunkStart = utf8.index(start, offsetBy: 0)
                let chunkEnd = utf8.index(chunkStart, offsetBy: size)
                decoded += String(rest[chunkStart..<chunkEnd])
                rest = String(rest[utf8.index(chunkEnd, offsetBy: 2)...])
            }
            return Answer(status: status, body: decoded)
        }
        return Answer(status: status, body: rest)
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Polls `condition` until it holds or `seconds` pass.
public func waitUntil(seconds: Double = 60, _ what: String, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw TestFailure("timed out after \(seconds) s: \(what)") }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// Holds any number of handlers until the test opens it; a cancelled waiter stops waiting at once.
public final class Gate: Sendable {
    private struct State {
        var isOpen = false
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public func wait() async {
        let waiter = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.isOpen || Task.isCancelled { return true }
                    state.waiters[waiter] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: waiter) }?.resume()
        }
    }

    public func open() {
        let waiters = state.withLock { state in
            state.isOpen = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }
}
