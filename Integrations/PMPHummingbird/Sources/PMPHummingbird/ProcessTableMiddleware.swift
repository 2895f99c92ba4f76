import HTTPTypes
import Hummingbird
import NIOCore
import PMPProcessTable

/// Puts every request in the process table, for `GET /procs` and `pmp`:
///
///     router.add(middleware: ProcessTableMiddleware())
///
/// Each request is an entry with the attributes `method`, `path` (without the query), `remote` (when the context
/// is a `RemoteAddressRequestContext`), `route` (the matched route, once known) and `request-id` (the client's
/// `X-Request-ID`, else Hummingbird's own request id). Its status moves from `init` to `handler` while the
/// handler runs, to `writing response` once it returned, and it ends with the HTTP status it answered (attribute
/// `http-status`) once the body is written: `ended`, or `cancelled` when a cancel reached it.
///
/// Handlers reach their entry through the task-local `ProcessHandle.current`:
///
///     try ProcessHandle.current?.setStatus("querying")
///
/// A cancel (`DELETE /procs/{id}`, `pmp cancel`, `ProcessTable.cancel(id:message:)`) cancels the task running the
/// request, so its awaits throw `CancellationError`; whatever the handler then throws is answered
/// `503 Service Unavailable` with `cancelled: MESSAGE` as the body, and the connection is closed after it.
/// A handler that catches the cancellation and answers anyway keeps its answer.
///
/// Routes added to the router before this middleware do not go through it: add it first.
public struct ProcessTableMiddleware<Context: RequestContext>: RouterMiddleware {
    public let table: ProcessTable
    private let requestIDHeader: HTTPField.Name
    /// Decided once: a cast that fails costs a conformance lookup on every request.
    private let contextKnowsRemoteAddress = Context.self is any RemoteAddressRequestContext.Type

    /// - Parameters:
    ///   - table: where requests are registered.
    ///   - requestIDHeader: the request header whose value becomes the `request-id` attribute.
    public init(table: ProcessTable = .shared, requestIDHeader: HTTPField.Name = HTTPField.Name("X-Request-ID")!) {
        self.table = table
        self.requestIDHeader = requestIDHeader
    }

    public func handle(_ request: Request, context: Context,
                       next: (Request, Context) async throws -> Response) async throws -> Response {
        let process = table.register(attributes: attributes(of: request, context: context))
        let response: Response
        do {
            try? process.setStatus(Self.handlerStatus)
            response = try await withoutActuallyEscaping(next) { next in
                // The rest of the chain runs in a child task, so that a cancel cancels the request's work and
                // not the connection's task, which must still write the answer (a cancelled task's writes
                // fail). An immediate one: it starts on this thread at once, so a handler that does not
                // suspend costs no hop to another thread.
                let work = ChainedWork(next: next, request: request, context: context)
                return try await withThrowingTaskGroup(of: Response.self) { group in
                    group.addImmediateTask { try await process.withCurrentTask { try await work.run() } }
                    return try await group.next()!
                }
            }
        } catch {
            return try answer(error, of: process)
        }
        try? process.setStatus(Self.writingStatus)
        let status = Int(response.status.code)
        var finishing = response
        let body = response.body
        finishing.body = ResponseBody(contentLength: body.contentLength) { writer in
            do {
                try await body.write(writer)
                process.finish(httpStatus: status)
            } catch {
                process.finish(httpStatus: status, error: error)
                throw error
            }
        }
        return finishing
    }

    /// What a handler that threw answers: 503 with the cancel message when a cancel reached it, else the error
    /// goes on to Hummingbird, which answers it (its status when it is an `HTTPResponseError`, 500 otherwise).
    private func answer(_ error: any Error, of process: ProcessHandle) throws -> Response {
        if let message = process.cancelMessage {
            process.finish(httpStatus: 503, error: CancellationError())
            var buffer = ByteBuffer()
            buffer.writeString(message.isEmpty ? "cancelled\n" : "cancelled: \(message)\n")
            return Response(
                status: .serviceUnavailable,
                headers: [.contentType: "text/plain; charset=utf-8", .connection: "close"],
                body: ResponseBody(byteBuffer: buffer))
        }
        let status = (error as? any HTTPResponseError).map { Int($0.status.code) } ?? 500
        process.finish(httpStatus: status, error: error)
        throw error
    }

    private func attributes(of request: Request, context: Context) -> [String: AttributeValue] {
        var attributes: [String: AttributeValue] = [
            "method": .string(request.method.rawValue),
            "path": .string(request.uri.path),
            "request-id": .string(request.headers[requestIDHeader] ?? context.id),
        ]
        if let route = context.endpointPath { attributes["route"] = .string(route) }
        if contextKnowsRemoteAddress, let address = (context as? any RemoteAddressRequestContext)?.remoteAddress {
            attributes["remote"] = .string(Self.describe(address))
        }
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

    static var handlerStatus: String { "handler" }
    static var writingStatus: String { "writing response" }
}
