import NIOCore
import NIOHTTP1

/// One connection's requests, one at a time: gathers the body within its limit, checks the `Host`, the token
/// and the peer, routes, and writes the endpoint's answer whenever and from wherever it comes. Every answer
/// carries the common headers (CORS, `nosniff`).
///
/// Pipelined requests wait their turn (NIO's pipelining handler holds back the next until this one's answer is
/// written), and a request is not started before the previous answer has left for the system, so a client that
/// sends requests without reading the answers has at most one answer waiting in the server, and, with reads
/// held back meanwhile, no more of its requests than one read brought in. Each phase has a deadline: the
/// answer must be ready within the handler timeout (a profile: its duration more) and written within the
/// write timeout, or the request gets 503, the connection is closed.
final class HTTPConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// What a complete request calls for, decided as soon as it is in.
    private enum Action {
        case respond(ServerResponse)
        case run(Endpoint, ServerRequest, isCapture: Bool)

        var isCapture: Bool {
            if case .run(_, _, let isCapture) = self { return isCapture }
            return false
        }
    }

    private struct Exchange {
        var sequence: Int
        var version: HTTPVersion
        var keepAlive: Bool
        var isHead: Bool
    }

    private enum State {
        case idle
        case receiving(HTTPRequestHead, body: [UInt8])
        /// Complete; waits until the previous answer has left and the budget allows.
        case queued(Exchange, Action)
        case answering(Exchange, RequestLifetime)
        /// A refusal went out, or the connection is gone: whatever else comes is ignored.
        case closing
    }

    private let core: ServerCore
    private let connectionGuard: ConnectionGuard
    private let peerIsLocal: Bool
    private let peerUID: UInt32?
    private let peerIsUnixSocket: Bool
    private var state = State.idle
    private var sequence = 0
    private var context: ChannelHandlerContext?
    /// Bytes of the answer written but not yet handed to the system; nil when none is on its way.
    private var unsentAnswer: Int?
    private var handlerTimer: Scheduled<Void>?
    private var writeTimer: Scheduled<Void>?
    /// A malformed request after pipelined ones: refused once their answers are out.
    private var deferredRefusal: (HTTPResponseStatus, String)?
    private var wrongTokens = 0
    /// The request waiting on the budget is a capture.
    private(set) var waitsForCapture = false

    init(core: ServerCore, connectionGuard: ConnectionGuard, peerIsLocal: Bool, peerUID: UInt32? = nil,
         peerIsUnixSocket: Bool = false) {
        self.core = core
        self.connectionGuard = connectionGuard
        self.peerIsLocal = peerIsLocal
        self.peerUID = peerUID
        self.peerIsUnixSocket = peerIsUnixSocket
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelInactive(context: ChannelHandlerContext) {
        if case .answering(_, let lifetime) = state { lifetime.abandon() }
        state = .closing
        core.budget.stopWaiting(self)
        handlerTimer?.cancel()
        writeTimer?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard case .idle = state, deferredRefusal == nil else { return }
            connectionGuard.headReceived()
            if let length = head.headers.first(name: "content-length").flatMap({ Int($0) }),
               length > core.limits.maxBodyBytes {
                refuseOrDefer(.payloadTooLarge, "the request body exceeds \(core.limits.maxBodyBytes) bytes", version: head.version)
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
                refuseOrDefer(.payloadTooLarge, "the request body exceeds \(core.limits.maxBodyBytes) bytes", version: head.version)
                return
            }
            state = .idle  // lets `body` be appended to without a copy
            body.append(contentsOf: buffer.readableBytesView)
            state = .receiving(head, body: body)
        case .end:
            guard case .receiving(let head, let body) = state else { return }
            connectionGuard.requestReceived()
            sequence += 1
            let exchange = Exchange(sequence: sequence, version: head.version, keepAlive: head.isKeepAlive,
                                    isHead: head.method == .HEAD)
            state = .queued(exchange, action(for: head, body: body))
            startIfPossible()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let parserError = error as? HTTPParserError else {
            state = .closing
            context.close(promise: nil)
            return
        }
        switch state {
        case .idle, .receiving, .queued, .answering:
            if case .headerOverflow = parserError {
                refuseOrDefer(.requestHeaderFieldsTooLarge, "the request headers are too large", version: .http1_1)
            } else {
                refuseOrDefer(.badRequest, "malformed request: \(parserError)", version: .http1_1)
            }
        case .closing:
            break
        }
    }

    // MARK: - Deciding

    private func action(for head: HTTPRequestHead, body: [UInt8]) -> Action {
        var request = ServerRequest(method: head.method, uri: head.uri, headers: head.headers, body: body,
                                    peerIsLocal: peerIsLocal)
        request.peerUID = peerUID
        request.peerIsUnixSocket = peerIsUnixSocket
        if head.method == .OPTIONS {
            // A CORS preflight: browsers send it without credentials, so it needs none.
            return .respond(ServerResponse(status: .noContent, contentType: "text/plain", body: [])
                .adding(header: "Access-Control-Max-Age", "600"))
        }
        if let refusal = Authorization.refusal(for: request, token: core.token, hostCheck: core.loopbackHostCheck,
                                               limiter: core.tokenFailures) {
            var response = refusal.response
            if refusal.wrongToken {
                wrongTokens += 1
                // Guessing goes on a new connection each few tries at most, each paying for its handshake.
                if wrongTokens >= core.limits.maxTokenFailuresPerConnection { response.closesConnection = true }
            }
            return .respond(response)
        }
        switch core.router.match(method: head.method, segments: request.pathSegments) {
        case .notFound:
            return .respond(.error(.notFound, "no endpoint at \(request.path); GET / lists them"))
        case .methodNotAllowed(let allowed):
            let names = (allowed.map(\.rawValue) + ["OPTIONS"]).joined(separator: ", ")
            return .respond(ServerResponse.error(.methodNotAllowed, "\(head.method.rawValue) is not allowed on \(request.path); use \(names)")
                .adding(header: "Allow", names))
        case .endpoint(let endpoint, let parameters, let isCapture, let captureFlag):
            request.pathParameters = parameters
            // A malformed flag is the endpoint's to refuse; it takes no capture then.
            let captures = isCapture || captureFlag.map { (try? request.query.flag($0)) ?? false } ?? false
            return .run(endpoint, request, isCapture: captures)
        }
    }

    // MARK: - Starting

    /// Starts the queued request once the previous answer has left and the budget allows; otherwise it waits
    /// (for the budget, under the handler timeout).
    private func startIfPossible() {
        guard case .queued(let exchange, let action) = state, unsentAnswer == nil, let context,
              context.channel.isActive else { return }
        let budget = core.budget
        guard budget.mayStart(capture: action.isCapture) else {
            waitsForCapture = action.isCapture
            if handlerTimer == nil { startHandlerTimer(exchange.sequence, after: core.limits.handlerTimeout) }
            budget.wait(self)
            return
        }
        let lifetime = RequestLifetime()
        state = .answering(exchange, lifetime)
        switch action {
        case .respond(let response):
            finish(exchange.sequence, response)
        case .run(let endpoint, let request, let isCapture):
            if isCapture { budget.captureStarted() }
            let reply = makeReply(sequence: exchange.sequence, lifetime: lifetime, isCapture: isCapture, context: context)
            do {
                try endpoint(request, reply)
            } catch {
                reply(.error(.badRequest, error.message))
            }
            if case .answering(let current, _) = state, current.sequence == exchange.sequence {
                startHandlerTimer(exchange.sequence, after: core.limits.handlerTimeout + lifetime.extraTime)
            }
        }
    }

    /// The budget has room again.
    func budgetAllows() { startIfPossible() }

    private func startHandlerTimer(_ sequence: Int, after delay: Duration) {
        handlerTimer?.cancel()
        guard let context else { return }
        handlerTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) { [self] in
            handlerTimer = nil
            handlerTimedOut(sequence, after: delay)
        }
    }

    private func handlerTimedOut(_ sequence: Int, after delay: Duration) {
        let message = "the answer was not ready within \(ConnectionGuard.seconds(delay)); the server is busy, try again later"
        switch state {
        case .queued(let exchange, _) where exchange.sequence == sequence:
            core.budget.stopWaiting(self)
            state = .answering(exchange, RequestLifetime())
            finish(sequence, ServerResponse.error(.serviceUnavailable, message).adding(header: "Retry-After", "1"))
        case .answering(let exchange, let lifetime) where exchange.sequence == sequence:
            lifetime.abandon()
            finish(sequence, ServerResponse.error(.serviceUnavailable, message).adding(header: "Retry-After", "1"))
        default:
            break
        }
    }

    /// A reply that comes back to this handler on its event loop, wherever it is called from.
    private func makeReply(sequence: Int, lifetime: RequestLifetime, isCapture: Bool,
                           context: ChannelHandlerContext) -> Reply {
        let loop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: loop)
        let gate = core.gate
        let core = self.core
        return Reply(lifetime: lifetime) { response in
            let deliver: @Sendable () -> Void = {
                // The capture is over even when its answer comes too late to be sent.
                if isCapture { core.budget.captureEnded() }
                handler.value.finish(sequence, response)
            }
            if loop.inEventLoop {
                deliver()
            } else {
                gate.execute(deliver)
            }
        }
    }

    // MARK: - Answering

    private func finish(_ sequence: Int, _ response: ServerResponse) {
        guard case .answering(let exchange, let lifetime) = state, exchange.sequence == sequence,
              let context, context.channel.isActive else { return }
        handlerTimer?.cancel()
        handlerTimer = nil
        lifetime.end()
        state = .idle
        write(response, version: exchange.version,
              keepAlive: exchange.keepAlive && !response.closesConnection && !connectionGuard.isDraining,
              isHead: exchange.isHead, context: context)
    }

    /// Refuses the request being received (too large, malformed) and closes the connection, after the answers
    /// to the requests before it.
    private func refuseOrDefer(_ status: HTTPResponseStatus, _ message: String, version: HTTPVersion) {
        let earlierAnswerPending: Bool
        switch state {
        case .queued, .answering: earlierAnswerPending = true
        case .idle, .receiving, .closing: earlierAnswerPending = unsentAnswer != nil
        }
        if case .receiving = state { state = .idle }
        if earlierAnswerPending {
            if deferredRefusal == nil { deferredRefusal = (status, message) }
            return
        }
        guard let context, context.channel.isActive else { return }
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
        for (name, value) in CommonHeaders.all { headers.add(name: name, value: value) }
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")

        // Counted before anything is written: writing the end lets the next pipelined request in at once.
        let bytes = 256 + headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
            + (isHead ? 0 : response.body.count)
        unsentAnswer = bytes
        core.budget.sending(bytes)
        let writeTimeout = core.limits.writeTimeout
        writeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(writeTimeout)) {
            // The client stopped reading mid-answer.
            context.close(promise: nil)
        }

        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: response.status, headers: headers))),
                      promise: nil)
        if !isHead, !response.body.isEmpty {
            let buffer = context.channel.allocator.buffer(bytes: response.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        written.assumeIsolated().whenComplete { [self] result in
            writeTimer?.cancel()
            writeTimer = nil
            unsentAnswer = nil
            core.budget.sent(bytes)
            connectionGuard.responseSent()
            guard case .success = result, keepAlive else {
                state = .closing
                context.close(promise: nil)
                return
            }
            // On the next turn of the loop: a write that completes at once would otherwise start the next
            // answer from inside this one, as deep as the client pipelined.
            context.eventLoop.assumeIsolated().execute { [self] in answerLeft(context: context) }
        }
    }

    /// The previous answer is with the system: the next request may start, or a deferred refusal go out.
    private func answerLeft(context: ChannelHandlerContext) {
        switch state {
        case .queued:
            startIfPossible()
        case .idle, .receiving:
            if let (status, message) = deferredRefusal {
                deferredRefusal = nil
                state = .idle
                refuseOrDefer(status, message, version: .http1_1)
            }
        case .answering, .closing:
            break
        }
    }
}
