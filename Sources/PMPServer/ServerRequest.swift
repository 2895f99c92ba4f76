import PMPSupport
import NIOHTTP1

/// A request as the endpoints see it: complete, with its path split and its query decoded.
struct ServerRequest: Sendable {
    var method: HTTPMethod
    /// The path's segments, percent-decoded ("/procs/a%2Fb/history" → ["procs", "a/b", "history"]); a trailing
    /// slash is ignored.
    var pathSegments: [String]
    /// The segments the route's `{}` matched, in order.
    var pathParameters: [String] = []
    var query: QueryParameters
    var headers: HTTPHeaders
    var body: [UInt8]
    /// The client connected over loopback or the unix socket.
    var peerIsLocal: Bool
    /// For a unix-socket client, the uid of its process as the kernel saw it connect (nil when unknown or TCP).
    var peerUID: UInt32?
    var peerIsUnixSocket = false

    init(method: HTTPMethod, uri: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [],
         peerIsLocal: Bool) {
        self.method = method
        let pathEnd = uri.firstIndex { $0 == "?" || $0 == "#" } ?? uri.endIndex
        var queryText = Substring()
        if pathEnd < uri.endIndex, uri[pathEnd] == "?" {
            let rest = uri[uri.index(after: pathEnd)...]
            queryText = rest[..<(rest.firstIndex(of: "#") ?? rest.endIndex)]
        }
        pathSegments = uri[..<pathEnd].split(separator: "/", omittingEmptySubsequences: true)
            .map { PercentEncoding.decode($0, plusIsSpace: false) }
        query = QueryParameters(queryText)
        self.headers = headers
        self.body = body
        self.peerIsLocal = peerIsLocal
    }

    var path: String { "/" + pathSegments.joined(separator: "/") }
}
