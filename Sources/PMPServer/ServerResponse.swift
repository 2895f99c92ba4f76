import NIOHTTP1
import PMPSupport

/// A complete answer: status, content type, body and any headers of its own (CORS and lengths are added when
/// it is written).
struct ServerResponse: Sendable {
    var status: HTTPResponseStatus
    var contentType: String
    var body: [UInt8]
    var headers: [(name: String, value: String)] = []
    /// Close the connection once this is written (after errors that leave the request stream unreadable).
    var closesConnection = false

    static func bytes(_ body: [UInt8], contentType: String, status: HTTPResponseStatus = .ok) -> ServerResponse {
        ServerResponse(status: status, contentType: contentType, body: body)
    }

    static func json(_ body: [UInt8], status: HTTPResponseStatus = .ok) -> ServerResponse {
        ServerResponse(status: status, contentType: "application/json", body: body)
    }

    static func text(_ text: String, status: HTTPResponseStatus = .ok) -> ServerResponse {
        ServerResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
    }

    /// An error as `{"error": MESSAGE, "status": CODE}`.
    static func error(_ status: HTTPResponseStatus, _ message: String) -> ServerResponse {
        ServerResponse(status: status, contentType: "application/json", body: errorBody(status, message))
    }

    static func errorBody(_ status: HTTPResponseStatus, _ message: String) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.key("error")
        json.string(message)
        json.key("status")
        json.integer(Int(status.code))
        json.endObject()
        json.newline()
        return json.bytes
    }

    func adding(header name: String, _ value: String) -> ServerResponse {
        var copy = self
        copy.headers.append((name, value))
        return copy
    }
}
