import NIOHTTP1

/// What the demo's API answers: a status and a short plain-text body.
struct DemoResponse: Sendable {
    let status: HTTPResponseStatus
    let body: String

    init(_ status: HTTPResponseStatus, _ body: String) {
        self.status = status
        self.body = body.hasSuffix("\n") ? body : body + "\n"
    }

    /// Work cancelled from outside through the process table (`DELETE /procs/{id}` on the pmp endpoint).
    static func cancelled(message: String) -> DemoResponse {
        DemoResponse(.serviceUnavailable, message.isEmpty ? "cancelled" : "cancelled: \(message)")
    }

    /// Work cancelled because its client went away (nginx's 499); nobody reads it, but it is what happened.
    static let clientGone = DemoResponse(.custom(code: 499, reasonPhrase: "Client Closed Request"), "client closed the connection")
}
