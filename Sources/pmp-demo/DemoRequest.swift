import NIOCore
import NIOHTTP1
import Synchronization

/// A request to the demo's API as its endpoints see it: copied off the event loop, so that a Swift task may
/// carry it.
struct DemoRequest: Sendable {
    let method: HTTPMethod
    /// As sent: path and query.
    let uri: String
    let path: String
    let query: [String: String]
    /// `HOST:PORT` of the client; `unix` (or `unix:PATH`) for unix-domain clients.
    let remoteAddress: String
    /// The client's `X-Request-ID` when it sent one, else one of our own.
    let requestID: String

    private static let requestCount = Atomic<Int>(0)

    init(head: HTTPRequestHead, remoteAddress: SocketAddress?) {
        method = head.method
        uri = head.uri
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = String(parts[0])
        var query: [String: String] = [:]
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let nameAndValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query[String(nameAndValue[0])] = nameAndValue.count == 2 ? String(nameAndValue[1]) : ""
            }
        }
        self.query = query
        self.remoteAddress = remoteAddress.map(Self.text) ?? "unknown"
        let number = Self.requestCount.add(1, ordering: .relaxed).newValue
        requestID = head.headers.first(name: "x-request-id") ?? "req-\(number)"
    }

    private static func text(_ address: SocketAddress) -> String {
        switch address {
        case .v4, .v6:
            let host = address.ipAddress ?? "?"
            let port = address.port.map(String.init) ?? "?"
            return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unixDomainSocket:
            // A client's end of a unix socket is usually unnamed.
            return address.pathname.flatMap { $0.isEmpty ? nil : "unix:" + $0 } ?? "unix"
        }
    }
}
