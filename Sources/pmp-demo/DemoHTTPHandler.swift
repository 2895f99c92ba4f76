import NIOCore
import NIOHTTP1

/// One connection of the demo's API. Work leaves the event loop for a Swift task (the process table's work is
/// async) and its response comes back to the loop to be written. NIO's pipelining handler in front holds later
/// requests of the connection until a response is complete, so at most one is in flight here.
final class DemoHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var requestHead: HTTPRequestHead?
    private var inFlight: Task<Void, Never>?
    private var isClosed = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            requestHead = head
        case .body:
            break  // no endpoint takes a body
        case .end:
            guard let head = requestHead else { return }
            requestHead = nil
            handle(head, context: context)
        }
    }

    private func handle(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let request = DemoRequest(head: head, remoteAddress: context.remoteAddress)
        let route = DemoRoute(request)
        if case .answer(let response) = route {
            write(response, to: head, context: context)
            return
        }
        let answered = context.eventLoop.makePromise(of: DemoResponse.self)
        inFlight = Task {
            answered.succeed(await DemoEndpoints.respond(to: route, for: request))
        }
        answered.futureResult.assumeIsolated().whenSuccess { response in
            self.inFlight = nil
            // A closed connection's context must not be written to; its work was cancelled already.
            guard !self.isClosed else { return }
            self.write(response, to: head, context: context)
        }
    }

    private func write(_ response: DemoResponse, to request: HTTPRequestHead, context: ChannelHandlerContext) {
        let keepAlive = request.isKeepAlive
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: String(response.body.utf8.count))
        if request.version.major == 1, request.version.minor == 0, keepAlive {
            headers.add(name: "Connection", value: "keep-alive")
        } else if !keepAlive {
            headers.add(name: "Connection", value: "close")
        }
        let head = HTTPResponseHead(version: request.version, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        var body = context.channel.allocator.buffer(capacity: response.body.utf8.count)
        body.writeString(response.body)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        isClosed = true
        // The client went away: so does the work it asked for (its entry ends as cancelled).
        inFlight?.cancel()
        inFlight = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
