/// Why an exchange with an endpoint failed before an HTTP status came back. The descriptions are what users
/// read: "cannot connect to h1:9084: connection refused".
public enum HTTPClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The host name has no address.
    case cannotResolve(String, reason: String)
    /// No connection: refused, unreachable, no such socket file…
    case cannotConnect(String, reason: String)
    /// No connection within the connect timeout.
    case connectTimedOut(String, after: Duration)
    /// Connected, but the answer did not come (whole) within the timeout.
    case timedOut(String, after: Duration)
    /// The connection broke while sending or receiving.
    case connectionBroken(String, reason: String)
    /// The answer is not HTTP/1.x as this client reads it.
    case malformedResponse(String, reason: String)
    /// The answer is larger than the client accepts.
    case responseTooLarge(String, limit: Int)

    public var description: String {
        switch self {
        case .cannotResolve(let host, let reason): return "cannot resolve \(host): \(reason)"
        case .cannotConnect(let endpoint, let reason): return "cannot connect to \(endpoint): \(reason)"
        case .connectTimedOut(let endpoint, let after):
            return "cannot connect to \(endpoint): no connection within \(after.shortDescription)"
        case .timedOut(let endpoint, let after): return "\(endpoint): no complete answer within \(after.shortDescription)"
        case .connectionBroken(let endpoint, let reason): return "\(endpoint): the connection broke: \(reason)"
        case .malformedResponse(let endpoint, let reason): return "\(endpoint): not an HTTP answer: \(reason)"
        case .responseTooLarge(let endpoint, let limit):
            let size = limit >= 1_048_576 ? "\(limit / 1_048_576) MB" : limit >= 1024 ? "\(limit / 1024) KB" : "\(limit) bytes"
            return "\(endpoint): the answer is larger than \(size), the most pmp reads for this request"
        }
    }
}
