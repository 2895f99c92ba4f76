import NIOHTTP1

/// An endpoint: answers a request through `reply`, now or later, from any thread. A `BadRequest` thrown before
/// replying is answered 400 with its message.
typealias Endpoint = @Sendable (ServerRequest, Reply) throws(BadRequest) -> Void

/// Paths and methods to endpoints. A path segment written `{}` matches any one segment, handed to the endpoint
/// in `ServerRequest.pathParameters` order.
struct Router: Sendable {
    private struct Route: Sendable {
        var pattern: [String]
        var method: HTTPMethod
        var endpoint: Endpoint
        var isCapture: Bool
        var captureFlag: String?
    }

    enum Match {
        /// `isCapture`: the endpoint takes a capture, which waits its turn (`PMPServerLimits.maxConcurrentCaptures`).
        /// `captureFlag`: the endpoint takes a capture when the request sets this query flag (`/procs?tasks=1`).
        case endpoint(Endpoint, parameters: [String], isCapture: Bool, captureFlag: String?)
        case notFound
        /// The path exists, for other methods.
        case methodNotAllowed(allowed: [HTTPMethod])
    }

    private var routes: [Route] = []

    /// Adds `endpoint` for `method` on `path` ("/procs/{}/history"); `isCapture` when it takes a capture.
    /// `captureFlag` when it takes one only if the request sets that query flag.
    mutating func add(_ method: HTTPMethod, _ path: String, isCapture: Bool = false, captureFlag: String? = nil,
                      _ endpoint: @escaping Endpoint) {
        routes.append(Route(pattern: path.split(separator: "/").map(String.init), method: method, endpoint: endpoint,
                            isCapture: isCapture, captureFlag: captureFlag))
    }

    func match(method: HTTPMethod, segments: [String]) -> Match {
        var allowed: [HTTPMethod] = []
        for route in routes {
            guard let parameters = Self.parameters(of: segments, in: route.pattern) else { continue }
            // HEAD is GET without the body (the encoder drops it).
            if route.method == method || (method == .HEAD && route.method == .GET) {
                return .endpoint(route.endpoint, parameters: parameters, isCapture: route.isCapture,
                                 captureFlag: route.captureFlag)
            }
            allowed.append(route.method)
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed)
    }

    private static func parameters(of segments: [String], in pattern: [String]) -> [String]? {
        guard segments.count == pattern.count else { return nil }
        var parameters: [String] = []
        for (segment, expected) in zip(segments, pattern) {
            if expected == "{}" {
                parameters.append(segment)
            } else if segment != expected {
                return nil
            }
        }
        return parameters
    }
}
