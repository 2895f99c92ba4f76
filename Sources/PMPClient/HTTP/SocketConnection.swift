#if canImport(Glibc)
import Glibc
#endif

/// A connected stream socket (TCP or unix) used by one thread at a time. The descriptor is non-blocking: every
/// wait goes through `poll` with the exchange's deadline, so a peer that stops answering costs the timeout and
/// no more.
package final class SocketConnection {
    private let descriptor: Int32
    private let name: String
    private let deadline: Deadline
    private let timeout: Duration

    private init(descriptor: Int32, name: String, deadline: Deadline, timeout: Duration) {
        self.descriptor = descriptor
        self.name = name
        self.deadline = deadline
        self.timeout = timeout
    }

    deinit { close(descriptor) }

    /// Connects within `connectTimeout` (and before `deadline`); `timeout` is what the deadline stands for, in
    /// messages.
    package static func connect(to endpoint: Endpoint, connectTimeout: Duration, deadline: Deadline,
                        timeout: Duration) throws(HTTPClientError) -> SocketConnection {
        let connectDeadline = min(Deadline.after(connectTimeout), deadline)
        let name = endpoint.hostPort
        switch endpoint.address {
        case .unix(let path):
            let descriptor = try connectUnix(path: path, name: name, deadline: connectDeadline, timeout: connectTimeout)
            return SocketConnection(descriptor: descriptor, name: name, deadline: deadline, timeout: timeout)
        case .tcp(let host, let port):
            let descriptor = try connectTCP(host: host, port: port, name: name, deadline: connectDeadline,
                                            timeout: connectTimeout)
            return SocketConnection(descriptor: descriptor, name: name, deadline: deadline, timeout: timeout)
        }
    }

    /// Sends every byte.
    package func send(_ bytes: [UInt8]) throws(HTTPClientError) {
        var offset = 0
        while offset < bytes.count {
            if deadline.hasPassed { throw .timedOut(name, after: timeout) }
            let sent = bytes.withUnsafeBytes { buffer in
                Glibc.send(descriptor, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent >= 0 {
                offset += sent
                continue
            }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: try wait(for: Int16(POLLOUT))
            default: throw .connectionBroken(name, reason: Self.errorText(errno))
            }
        }
    }

    /// Reads what is there (waiting for something first); 0 at the end of the stream. Past the deadline it
    /// throws even when bytes keep coming: the deadline is for the whole exchange, not between two reads.
    package func receive(into buffer: UnsafeMutableRawBufferPointer) throws(HTTPClientError) -> Int {
        while true {
            if deadline.hasPassed { throw .timedOut(name, after: timeout) }
            let count = recv(descriptor, buffer.baseAddress, buffer.count, 0)
            if count >= 0 { return count }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: try wait(for: Int16(POLLIN))
            default: throw .connectionBroken(name, reason: Self.errorText(errno))
            }
        }
    }

    private func wait(for events: Int16) throws(HTTPClientError) {
        guard try Self.poll(descriptor, events: events, deadline: deadline) else {
            throw .timedOut(name, after: timeout)
        }
    }

    // MARK: - Connecting

    private static func connectTCP(host: String, port: Int, name: String, deadline: Deadline,
                                   timeout: Duration) throws(HTTPClientError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let list else {
            let reason = resolved == EAI_SYSTEM ? errorText(errno) : String(cString: gai_strerror(resolved))
            throw .cannotResolve(host, reason: lowercasedFirst(reason))
        }
        defer { freeaddrinfo(list) }
        var lastError: HTTPClientError = .cannotConnect(name, reason: "no address")
        var candidate: UnsafeMutablePointer<addrinfo>? = list
        while let info = candidate {
            candidate = info.pointee.ai_next
            do {
                let descriptor = try connectSocket(family: info.pointee.ai_family, address: info.pointee.ai_addr,
                                                   length: info.pointee.ai_addrlen, name: name, deadline: deadline,
                                                   timeout: timeout)
                var on: Int32 = 1
                _ = setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
                return descriptor
            } catch {
                lastError = error
                if case .connectTimedOut = error { break }
            }
        }
        throw lastError
    }

    private static func connectUnix(path: String, name: String, deadline: Deadline,
                                    timeout: Duration) throws(HTTPClientError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else {
            throw .cannotConnect(name, reason: "a unix socket path may have at most \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count + 1)
        let outcome: Result<Int32, HTTPClientError> = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                Result { () throws(HTTPClientError) -> Int32 in
                    try connectSocket(family: AF_UNIX, address: socketAddress, length: length, name: name,
                                      deadline: deadline, timeout: timeout)
                }
            }
        }
        return try outcome.get()
    }

    /// A non-blocking connect, waited for with `poll`.
    private static func connectSocket(family: Int32, address: UnsafePointer<sockaddr>?, length: socklen_t, name: String,
                                      deadline: Deadline, timeout: Duration) throws(HTTPClientError) -> Int32 {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let descriptor = socket(family, type, 0)
        guard descriptor >= 0 else { throw .cannotConnect(name, reason: errorText(errno)) }
        var connected = false
        defer { if !connected { close(descriptor) } }
        if Glibc.connect(descriptor, address, length) != 0 {
            guard errno == EINPROGRESS || errno == EINTR || errno == EAGAIN else {
                throw .cannotConnect(name, reason: errorText(errno))
            }
            guard try poll(descriptor, events: Int16(POLLOUT), deadline: deadline) else {
                throw .connectTimedOut(name, after: timeout)
            }
            var failure: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &failure, &size)
            guard failure == 0 else { throw .cannotConnect(name, reason: errorText(failure)) }
        }
        connected = true
        return descriptor
    }

    /// Waits for `events` until `deadline`; false when the deadline passed first.
    private static func poll(_ descriptor: Int32, events: Int16, deadline: Deadline) throws(HTTPClientError) -> Bool {
        while true {
            var entry = pollfd(fd: descriptor, events: events, revents: 0)
            let ready = Glibc.poll(&entry, 1, deadline.remainingMilliseconds)
            if ready > 0 { return true }
            if ready == 0 { return false }
            if errno != EINTR { throw .connectionBroken("poll", reason: errorText(errno)) }
        }
    }

    /// `strerror` in the voice of a message: "connection refused".
    package static func errorText(_ code: Int32) -> String { lowercasedFirst(String(cString: strerror(code))) }

    private static func lowercasedFirst(_ text: String) -> String {
        guard let first = text.first else { return text }
        // Keep acronyms ("IO error" stays as is when the second letter is upper-case too).
        if let second = text.dropFirst().first, second.isUppercase { return text }
        return first.lowercased() + text.dropFirst()
    }
}
