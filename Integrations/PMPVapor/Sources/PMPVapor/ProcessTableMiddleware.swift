import NIOCore
import PMPProcessTable
import Vapor

/// Puts every request in the process table, for `GET /procs` and `pmp`:
///
///     app.middleware.use(ProcessTableMiddleware())
///
/// Each request is an entry with the attributes `method`, `path` (without the query), `remote`, `route` (the
/// matched route) and `request-id` (the client's `X-Request-ID`, else Vapor's own `request.id`). It is
/// registered on the event loop as the request arrives, before any Swift task runs it, so requests waiting for a
/// thread of a starved concurrency pool are in the table, in status `queued`. Its status is `handler` while the
/// rest of the chain and the route run, `writing response` once they answered, and it ends with the HTTP status
/// it answered (attribute `http-status`): `ended`, `failed: <error>`, or `cancelled` when a cancel reached it.
///
/// Handlers reach their entry through the task-local `ProcessHandle.current`:
///
///     try ProcessHandle.current?.setStatus("querying")
///
/// A cancel (`DELETE /procs/{id}`, `pmp cancel`, `ProcessTable.cancel(id:message:)`) cancels the task this
/// middleware runs the request in and answers `503 Service Unavailable` with `cancelled: MESSAGE` as the body at
/// once. An async route that runs in that task sees its awaits throw `CancellationError`; a route Vapor runs in a
/// task of its own sees the cancel at its next `setStatus`, which throws. A route that catches the cancellation
/// and answers anyway, in this task, keeps its answer.
public struct ProcessTableMiddleware: Middleware {
    public let table: ProcessTable
    private let requestIDHeader: String

    /// - Parameters:
    ///   - table: where requests are registered.
    ///   - requestIDHeader: the request header whose value becomes the `request-id` attribute.
    public init(table: ProcessTable = .shared, requestIDHeader: String = "X-Request-ID") {
        self.table = table
        self.requestIDHeader = requestIDHeader
    }

    public func respond(to request: Request, chainingTo next: any Responder) -> EventLoopFuture<Response> {
        let process = table.register(attributes: attributes(of: request))
        try? process.setStatus(Self.queuedStatus)
        let promise = request.eventLoop.makePromise(of: Response.self)
        promise.completeWithTask {
            let response: Response
            do {
                response = try await process.withCurrentTask {
                    try? process.setStatus(Self.handlerStatus)
                    // An async route runs right here, in this task, the one a cancel cancels.
                    if let next = next as? any AsyncResponder { return try await next.respond(to: request) }
                    return try await CancellableWait.value(of: next.respond(to: request))
                }
            } catch {
                return try answer(error, of: process)
            }
            try? process.setStatus(Self.writingStatus)
            return response
        }
        let eventLoop = request.eventLoop
        return promise.futureResult.always { result in
            guard case .success(let response) = result else { return }
            // Vapor writes the answer when this future completes, on this event loop: what runs next on it comes
            // after the write was handed to the channel.
            let status = Int(response.status.code)
            eventLoop.execute { process.finish(httpStatus: status) }
        }
    }

    /// What a route that threw answers: 503 with the cancel message when a cancel reached it, else the error goes
    /// on to Vapor's ErrorMiddleware (its status when it is an `AbortError`, 500 otherwise).
    private func answer(_ error: any Error, of process: ProcessHandle) throws -> Response {
        if let message = process.cancelMessage {
            let response = Response(
                status: .serviceUnavailable,
                headers: ["Content-Type": "text/plain; charset=utf-8", "Connection": "close"],
                body: .init(string: message.isEmpty ? "cancelled\n" : "cancelled: \(message)\n"))
            try? process.setStatus(Self.writingStatus)
            return response
        }
        let status = (error as? any AbortError).map { Int($0.status.code) } ?? 500
        process.finish(httpStatus: status, error: error)
        throw error
    }

    private func attributes(of request: Request) -> [String: AttributeValue] {
        var attributes: [String: AttributeValue] = [
            "method": .string(request.method.rawValue),
            "path": .string(request.url.path),
            "request-id": .string(request.headers.first(name: requestIDHeader) ?? request.id),
        ]
        if let route = request.route { attributes["route"] = .string("/" + route.path.map(\.description).joined(separator: "/")) }
        if let address = request.remoteAddress { attributes["remote"] = .string(Self.describe(address)) }
        return attributes
    }

    /// `127.0.0.1:52814`, `[::1]:52814`, or the socket path.
    static func describe(_ address: SocketAddress) -> String {
        switch address {
        case .v4: "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
        case .v6: "[\(address.ipAddress ?? "?")]:\(address.port ?? 0)"
        case .unixDomainSocket: address.pathname ?? "unix"
        }
    }

    static let queuedStatus = "queued"
    static let handlerStatus = "handler"
    static let writingStatus = "writing response"
}
