import NIOCore
import NIOHTTP1

/// One connection's requests, one at a time (NIO's pipelining handler holds back the next until the response
/// to this one is written): gathers the body within its limit, checks the token, routes, and writes the
/// endpoint's answer whenever and from wherever it comes. Every answer carries the CORS headers.
final class HTTPConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case receiving(HTTPRequestHead, body: [UInt8])
        case answering(sequence: Int, version: HTTPVersion, keepAlive: Bool, isHead: Bool)
        /// A refusal went out, or the connection is gone: whatever else comes is ignored.
        case closing
    }

    private let core: ServerCore
    private let connectionGuard: ConnectionGuard
    private let peerIsLocal: Bool
    private var state = State.idle
    private var sequence = 0
    private var context: ChannelHandlerContext?

    init(core: ServerCore, connectionGuard: ConnectionGuard, peerIsLocal: Bool) {
        self.core = core
        self.connectionGuard = connectionGuard
        self.peerIsLocal = peerIsLocal
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closing
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard case .idle = state else { return }
            connectionGuard.headReceived()
            if let length = head.headers.first(name: "content-length").flatMap({ Int($0) }),
               length > core.limits.maxBodyBytes {
                refuse(.payloadTooLarge, "the request body exceeds \(core.limits.maxBodyBytes) bytes", version: head.version)
                return
            }
            state = .receiving(head, body: [])
            if head.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }) {
                // curl asks before sending a body of more than a kilobyte; the size was checked above.
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))),
                                      promise: nil)
            }
        case .body(let buffer):
            guard case .receiving(let head, var body) = state else { return }
            guard body.count + buffer.readableBytes <= core.limits.maxBodyBytes else {
                refuse(.payloadTooLarge, "the request body exceeds \(core.limits.maxBodyBytes) bytes", version: head.version)
                return
            }
            state = .idle  // lets `body` be appended to without a copy
            body.append(contentsOf: buffer.readableBytesView)
            state = .receiving(head, body: body)
        case .end:
            guard case .receiving(let head, let body) = state else { return }
            connectionGuard.requestReceived()
            sequence += 1
            state = .answering(sequence: sequence, version: head.version, keepAlive: head.isKeepAlive,
                               isHead: head.method == .HEAD)
            dispatch(head, body: body, sequence: sequence, context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let parserError = error as? HTTPParserError else {
            state = .closing
            context.close(promise: nil)
            return
        }
        switch state {
        case .idle, .receiving:
            if case .headerOverflow = parserError {
                refuse(.requestHeaderFieldsTooLarge, "the request headers are too large", version: .http1_1)
            } else {
                refuse(.badRequest, "malformed request: \(parserError)", version: .http1_1)
            }
        case .answering, .closing:
            state = .closing
            context.close(promise: nil)
        }
    }

    // MARK: - Answers

    private func dispatch(_ head: HTTPRequestHead, body: [UInt8], sequence: Int, context: ChannelHandlerContext) {
        var request = ServerRequest(method: head.method, uri: head.uri, headers: head.headers, body: body,
                                    peerIsLocal: peerIsLocal)
        if head.method == .OPTIONS {
            // A CORS preflight: browsers send it without credentials, so it needs none.
            finish(sequence, ServerResponse(status: .noContent, contentType: "text/plain", body: [])
                .adding(header: "Access-Control-Max-Age", "600"))
            return
        }
        if let refusal = Authorization.refusal(for: request, token: core.token) {
            finish(sequence, refusal)
            return
        }
        switch core.router.match(method: head.method, segments: request.pathSegments) {
        case .notFound:
            finish(sequence, .error(.notFound, "no endpoint at \(request.path); GET / lists them"))
        case .methodNotAllowed(let allowed):
            let names = (allowed.map(\.rawValue) + ["OPTIONS"]).joined(separator: ", ")
            finish(sequence, ServerResponse.error(.methodNotAllowed, "\(head.method.rawValue) is not allowed on \(request.path); use \(names)")
                .adding(header: "Allow", names))
        case .endpoint(let endpoint, let parameters):
            request.pathParameters = parameters
            let reply = makeReply(sequence: sequence, context: context)
            do {
                try endpoint(request, reply)
            } catch {
                reply(.error(.badRequest, error.message))
            }
        }
    }

    /// A reply that comes back to this handler on its event loop, wherever it is called from.
    private func makeReply(sequence: Int, context: ChannelHandlerContext) -> Reply {
        let loop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: loop)
        let gate = core.gate
        return Reply { response in
            if loop.inEventLoop {
                handler.value.finish(sequence, response)
            } else {
                gate.execute { handler.value.finish(sequence, response) }
            }
        }
    }

    private func finish(_ sequence: Int, _ response: ServerResponse) {
        guard case .answering(let current, let version, let keepAlive, let isHead) = state, current == sequence,
              let context, context.channel.isActive else { return }
        state = .idle
        write(response, version: version, keepAlive: keepAlive && !response.closesConnection, isHead: isHead,
              context: context)
    }

    /// Refuses the request being received (too large, malformed) and closes the connection.
    private func refuse(_ status: HTTPResponseStatus, _ message: String, version: HTTPVersion) {
        guard let context else { return }
        connectionGuard.requestReceived()
        state = .closing
        write(.error(status, message), version: version.major == 1 ? version : .http1_1, keepAlive: false,
              isHead: false, context: context)
    }

    private func write(_ response: ServerResponse, version: HTTPVersion, keepAlive: Bool, isHead: Bool,
                       context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.reserveCapacity(8 + response.headers.count)
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.count))
        headers.add(name: "Cache-Control", value: "no-store")
        for (name, value) in CORS.headers { headers.add(name: name, value: value) }
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: response.status, headers: headers))),
                      promise: nil)
        if !isHead, !response.body.isEmpty {
            let buffer = context.channel.allocator.buffer(bytes: response.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        connectionGuard.responseSent()
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
