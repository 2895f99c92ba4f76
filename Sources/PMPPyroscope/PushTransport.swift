import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A request to the profiling server: one POST on a connection of its own.
struct PushHTTPRequest: Sendable {
    var path: String
    var headers: [(String, String)]
    var body: [UInt8]
}

/// What the server answered; the body is kept up to `PushTransport.maxAnswerBytes`.
struct PushHTTPResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

/// Why a request got no answer.
enum PushTransportError: Error, CustomStringConvertible, Sendable {
    case timedOut(Duration)
    case closedEarly
    case failed(String)

    var description: String {
        switch self {
        case .timedOut(let limit): return "no answer within \(limit)"
        case .closedEarly: return "the server closed the connection before answering"
        case .failed(let reason): return reason
        }
    }
}

/// A minimal HTTP/1.1 client on SwiftNIO, TLS by swift-nio-ssl: a POST per connection (`Connection: close`),
/// every phase inside one time limit, the answer read up to a bound. It runs on an event loop of its own, so
/// nothing of the application's waits for the profiling server.
final class PushTransport: Sendable {
    static let maxAnswerBytes = 64 * 1024

    let url: PyroscopeURL
    let group: MultiThreadedEventLoopGroup
    private let tls: NIOSSLContext?

    init(url: PyroscopeURL, tlsConfiguration: TLSConfiguration? = nil) throws(PyroscopeError) {
        self.url = url
        if url.isTLS {
            do {
                tls = try NIOSSLContext(configuration: tlsConfiguration ?? .makeClientConfiguration())
            } catch {
                throw .transport("TLS: \(error)")
            }
        } else {
            tls = nil
        }
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    var loop: any EventLoop { group.next() }

    func shutdown() {
        group.shutdownGracefully { _ in }
    }

    func post(_ request: PushHTTPRequest, timeout: Duration) -> EventLoopFuture<PushHTTPResponse> {
        let loop = group.next()
        let promise = loop.makePromise(of: PushHTTPResponse.self)
        let head = makeHead(request)
        let body = request.body
        let tls = self.tls
        let serverHostname = Self.isIPAddress(url.host) ? nil : url.host
        let channelBox = NIOLoopBoundBox<(any Channel)?>(nil, eventLoop: loop)

        let timeoutTask = loop.scheduleTask(in: TimeAmount(timeout)) {
            promise.fail(PushTransportError.timedOut(timeout))
            channelBox.value?.close(promise: nil)
        }
        let completed = NIOLoopBoundBox(false, eventLoop: loop)
        // However it ends (answer, error, time limit), the connection goes: a server that never answers must not
        // keep sockets open.
        promise.futureResult.whenComplete { _ in
            timeoutTask.cancel()
            completed.value = true
            channelBox.value?.close(promise: nil)
        }

        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(TimeAmount(timeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls {
                        try pipeline.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: serverHostname))
                    }
                    try pipeline.addHTTPClientHandlers()
                    try pipeline.addHandler(PushExchangeHandler(head: head, body: body, promise: promise))
                }
            }
        bootstrap.connect(host: url.host, port: url.port).whenComplete { result in
            switch result {
            case .success(let channel):
                if completed.value {
                    channel.close(promise: nil)
                } else {
                    channelBox.value = channel
                }
            case .failure(let error):
                promise.fail(PushTransportError.failed("cannot connect to \(self.url.hostHeader): \(Self.describe(error))"))
            }
        }
        return promise.futureResult
    }

    private func makeHead(_ request: PushHTTPRequest) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: url.hostHeader)
        headers.add(name: "User-Agent", value: "swift-pmp/\(PyroscopeExporter.version)")
        headers.add(name: "Content-Length", value: String(request.body.count))
        headers.add(name: "Connection", value: "close")
        for (name, value) in request.headers { headers.add(name: name, value: value) }
        return HTTPRequestHead(version: .http1_1, method: .POST, uri: url.pathPrefix + request.path, headers: headers)
    }

    static func isIPAddress(_ host: String) -> Bool {
        host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? IOError { return "\(error)" }
        return String(describing: error)
    }
}

/// Sends the request once the connection is up and collects the answer.
private final class PushExchangeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let head: HTTPRequestHead
    private let body: [UInt8]
    private let promise: EventLoopPromise<PushHTTPResponse>
    private var response: PushHTTPResponse?
    private var done = false

    init(head: HTTPRequestHead, body: [UInt8], promise: EventLoopPromise<PushHTTPResponse>) {
        self.head = head
        self.body = body
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: body.count)
        buffer.writeBytes(body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            response = PushHTTPResponse(status: Int(head.status.code), headers: head.headers.map { ($0.name, $0.value) },
                                        body: [])
        case .body(var buffer):
            guard var current = response else { return }
            let room = PushTransport.maxAnswerBytes - current.body.count
            if room > 0, let bytes = buffer.readBytes(length: min(room, buffer.readableBytes)) {
                current.body += bytes
                response = current
            }
        case .end:
            finish(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            done = true
            promise.fail(PushTransportError.closedEarly)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !done {
            done = true
            promise.fail(PushTransportError.failed(PushTransport.describe(error)))
        }
        context.close(promise: nil)
    }

    private func finish(context: ChannelHandlerContext) {
        guard !done else { return }
        done = true
        if let response { promise.succeed(response) } else { promise.fail(PushTransportError.closedEarly) }
        context.close(promise: nil)
    }
}
