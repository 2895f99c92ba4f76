/// A small blocking HTTP/1.1 client for the profiler's endpoints: one request per connection (`Connection:
/// close`), over TCP or a unix socket, with a connect timeout and a timeout for the whole exchange. No TLS:
/// endpoints listen on loopback or a unix socket, or are reached through a tunnel.
public struct HTTPClient: Sendable {
    /// Sent as `Authorization: Bearer TOKEN` when set.
    public var token: String?
    public var connectTimeout: Duration
    /// For the whole exchange, connecting included.
    public var timeout: Duration
    /// The largest answer body read; a larger one is an error (`responseTooLarge`), so that an endpoint cannot
    /// make pmp hold more than about twice this much.
    public var maxBodyBytes: Int

    /// Answers written to a file or standard output (`pmp dump`, `pmp record`).
    public static let fileAnswerLimit = 64 << 20
    /// What `pmp top` polls (`/procs`, the grouped `/stacks`): a few MB even for thousands of threads.
    public static let pollAnswerLimit = 16 << 20
    /// Short answers (a cancel's outcome).
    public static let shortAnswerLimit = 1 << 20

    public init(token: String? = nil, connectTimeout: Duration = .seconds(3), timeout: Duration = .seconds(10),
                maxBodyBytes: Int = fileAnswerLimit) {
        self.token = token
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.maxBodyBytes = maxBodyBytes
    }

    /// `GET path` (with its query) on `endpoint`.
    public func get(_ path: String, from endpoint: Endpoint, timeout: Duration? = nil) throws(HTTPClientError) -> HTTPResponse {
        try send("GET", path, to: endpoint, timeout: timeout)
    }

    /// Sends one request and reads the whole answer, whatever its status.
    public func send(_ method: String, _ path: String, to endpoint: Endpoint, body: [UInt8]? = nil,
                     contentType: String? = nil, timeout: Duration? = nil) throws(HTTPClientError) -> HTTPResponse {
        let timeout = timeout ?? self.timeout
        let deadline = Deadline.after(timeout)
        let connection = try SocketConnection.connect(to: endpoint, connectTimeout: connectTimeout, deadline: deadline,
                                                      timeout: timeout)
        try connection.send(request(method, path, to: endpoint, body: body, contentType: contentType))
        var reader = HTTPResponseReader(source: connection, name: endpoint.description, maxBodyBytes: maxBodyBytes)
        return try reader.read(requestMethod: method)
    }

    /// The request's bytes.
    package func request(_ method: String, _ path: String, to endpoint: Endpoint, body: [UInt8]?, contentType: String?) -> [UInt8] {
        let target = endpoint.pathPrefix + (path.hasPrefix("/") ? path : "/" + path)
        var head = "\(method) \(target) HTTP/1.1\r\n"
        head += "Host: \(endpoint.hostHeader)\r\n"
        head += "User-Agent: pmp\r\n"
        head += "Accept: */*\r\n"
        head += "Connection: close\r\n"
        if let token, !token.isEmpty { head += "Authorization: Bearer \(token)\r\n" }
        if let body {
            if let contentType { head += "Content-Type: \(contentType)\r\n" }
            head += "Content-Length: \(body.count)\r\n"
        } else if method != "GET" && method != "HEAD" {
            head += "Content-Length: 0\r\n"
        }
        head += "\r\n"
        return Array(head.utf8) + (body ?? [])
    }
}
