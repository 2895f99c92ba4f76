/// Which endpoint of the demo's API a request is for, decided on the event loop: bad requests are answered
/// there at once, the rest is work for the process table.
enum DemoRoute: Sendable {
    /// `GET /work?ms=N`: N milliseconds spread over the statuses "reading", "querying" and "rendering".
    case work(milliseconds: Int)
    /// `GET /hello`: answers at once, through the process table (one status).
    case hello
    /// Answered without work: the index, 400, 404, 405.
    case answer(DemoResponse)

    /// The longest `/work` accepted: ten minutes.
    static let maxWorkMilliseconds = 600_000

    static let index = """
        pmp-demo's API; every request is an entry of the process table (GET /procs on the pmp endpoint):
          GET /work?ms=N   N milliseconds (default 1000) through "reading", "querying", "rendering"
          GET /hello       answers at once
        """

    init(_ request: DemoRequest) {
        let knownPaths = ["/", "/work", "/hello"]
        guard knownPaths.contains(request.path) else {
            self = .answer(DemoResponse(.notFound, "no such endpoint: \(request.path)\n\n" + Self.index))
            return
        }
        guard request.method == .GET else {
            self = .answer(DemoResponse(.methodNotAllowed, "\(request.path) answers GET only"))
            return
        }
        switch request.path {
        case "/work":
            let text = request.query["ms"] ?? "1000"
            guard let milliseconds = Int(text), (0...Self.maxWorkMilliseconds).contains(milliseconds) else {
                self = .answer(DemoResponse(.badRequest,
                                            "ms must be a whole number of milliseconds from 0 to \(Self.maxWorkMilliseconds), not \"\(text)\""))
                return
            }
            self = .work(milliseconds: milliseconds)
        case "/hello":
            self = .hello
        default:
            self = .answer(DemoResponse(.ok, Self.index))
        }
    }
}
