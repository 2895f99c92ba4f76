import NIOCore
import NIOHTTP1

/// The first handler of every connection, on the raw bytes: it bounds how large a request head may grow and how
/// long a request may take to arrive, and closes connections left idle. A client that breaks a limit gets a
/// short answer (431 or 408) written here, below the HTTP encoder, and its connection is closed; other
/// connections never notice.
///
/// It also stops reading while the connection's outgoing buffer is over its high-water mark, so that a client
/// that pipelines requests without reading the answers cannot make the server buffer them without bound; the
/// idle timer then closes it.
///
/// The HTTP handler tells it where the connection stands: a head was parsed (`headReceived`), a request is
/// complete (`requestReceived`), its response was sent (`responseSent`).
final class ConnectionGuard: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Phase {
        /// Between requests: the idle timer runs.
        case idle
        /// Bytes of a request arrived, the request is not complete: the request timer runs.
        case receiving
        /// Requests are complete and being answered: no timer (a profile takes as long as it was asked to).
        case responding
    }

    private let limits: PMPServerLimits
    private var context: ChannelHandlerContext?
    private var phase = Phase.idle
    /// The head of the current request is still arriving: its bytes are counted until the empty line that ends it.
    private var scanningHead = false
    private var headBytes = 0
    /// The line being scanned has had nothing but "\r" so far.
    private var lineIsEmpty = false
    private var responsesOwed = 0
    private var timer: Scheduled<Void>?
    private var rejected = false
    /// A read was asked for while the channel was not writable: done once it is.
    private var readHeldBack = false

    init(limits: PMPServerLimits) { self.limits = limits }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { startTimer(limits.idleTimeout) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        startTimer(limits.idleTimeout)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        context.fireChannelInactive()
    }

    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            context.read()
        } else {
            readHeldBack = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, readHeldBack {
            readHeldBack = false
            context.read()
        }
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if rejected { return }
        if phase == .idle {
            phase = .receiving
            scanningHead = true
            headBytes = 0
            lineIsEmpty = false
            startTimer(limits.requestTimeout)
        }
        if scanningHead {
            // Counted here, before the decoder sees them: NIO's decoder bounds header fields but not the URL.
            let (scanned, ended) = scanHead(unwrapInboundIn(data))
            headBytes += scanned
            if headBytes > limits.maxHeadBytes {
                reject(status: "431 Request Header Fields Too Large",
                       message: "the request line and headers exceed \(limits.maxHeadBytes) bytes")
                return
            }
            if ended { scanningHead = false }
        }
        context.fireChannelRead(data)
    }

    /// Bytes of `buffer` up to and including the end of the head (an empty line), and whether it was found.
    /// Bytes after it (a body, a pipelined request) are not looked at.
    private func scanHead(_ buffer: ByteBuffer) -> (scanned: Int, ended: Bool) {
        buffer.withUnsafeReadableBytes { bytes in
            for (index, byte) in bytes.enumerated() {
                switch byte {
                case 0x0A:
                    if lineIsEmpty { return (index + 1, true) }
                    lineIsEmpty = true
                case 0x0D:
                    break
                default:
                    lineIsEmpty = false
                }
            }
            return (bytes.count, false)
        }
    }

    // MARK: - What the HTTP handler reports

    func headReceived() {
        scanningHead = false
        if phase == .idle {
            // A pipelined request that had already arrived.
            phase = .receiving
            startTimer(limits.requestTimeout)
        }
    }

    func requestReceived() {
        responsesOwed += 1
        phase = .responding
        scanningHead = false
        cancelTimer()
    }

    func responseSent() {
        responsesOwed = max(0, responsesOwed - 1)
        guard responsesOwed == 0, phase == .responding else { return }
        phase = .idle
        startTimer(limits.idleTimeout)
    }

    // MARK: - Timers and refusals

    private func startTimer(_ delay: Duration) {
        cancelTimer()
        guard let context else { return }
        let expected = phase
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) { [self] in
            timer = nil
            timedOut(in: expected)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }

    private func timedOut(in expected: Phase) {
        guard phase == expected, let context else { return }
        switch phase {
        case .idle:
            context.close(promise: nil)
        case .receiving:
            reject(status: "408 Request Timeout",
                   message: "the request did not arrive within \(Self.seconds(limits.requestTimeout))")
        case .responding:
            break
        }
    }

    /// Answers with a short error when no other response is under way, then closes the connection.
    private func reject(status: String, message: String) {
        guard !rejected, let context else { return }
        rejected = true
        cancelTimer()
        guard responsesOwed == 0 else {
            context.close(promise: nil)
            return
        }
        let code = Int(status.prefix(3)) ?? 400
        let body = ServerResponse.errorBody(HTTPResponseStatus(statusCode: code), message)
        var text = "HTTP/1.1 \(status)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in CORS.headers { text += "\(name): \(value)\r\n" }
        text += "Connection: close\r\n\r\n"
        var bytes = Array(text.utf8)
        bytes.append(contentsOf: body)
        let buffer = context.channel.allocator.buffer(bytes: bytes)
        context.writeAndFlush(wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    static func seconds(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(Double(milliseconds) / 1000) s"
    }
}

/// The headers that let a web page on another origin poll these endpoints.
enum CORS {
    static let headers: [(String, String)] = [
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Allow-Methods", "GET, DELETE, OPTIONS"),
        ("Access-Control-Allow-Headers", "Authorization, Content-Type"),
    ]
}
