/// Headers on every answer, refusals and errors included: the CORS headers, and `nosniff`, so that a browser
/// never takes a JSON, text or pprof answer that echoes request data for a script, a style sheet or a page.
enum CommonHeaders {
    static let all: [(String, String)] = CORS.headers + [("X-Content-Type-Options", "nosniff")]
}
