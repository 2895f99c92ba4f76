import NIOCore
import NIOHTTP1

/// The first handler of every connection, on the raw bytes: it bounds how large a request head may grow and how
/// long a head and a whole request may take to arrive, and closes connections left idle (a new connection that
/// sends nothing within the header timeout included). A client that breaks a limit gets a short answer (431 or
/// 408) written here, below the HTTP encoder, and its connection is closed gracefully; other connections never
/// notice.
///
/// It also stops reading while the connection's outgoing buffer is over its high-water mark, and tells the
/// registry whether the connection may be evicted for a new one: when no request is in progress, or only the
/// head of one is arriving.
///
/// The HTTP handler tells it where the connection stands: a head was parsed (`headReceived`), a request is
/// complete (`requestReceived`), its response was sent (`responseSent`).
final class ConnectionGuard: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Phase {
        /// Between requests: the idle timer runs (the header timer on a connection that sent nothing yet).
        case idle
        /// Bytes of a request arrived, the request is not complete: the header, then the request timer runs.
        case receiving
        /// Requests are complete and being answered: the HTTP handler times the answer.
        case responding
    }

    private let limits: PMPServerLimits
    private let registry: ConnectionRegistry
    private var context: ChannelHandlerContext?
    private var phase = Phase.idle
    /// No request has begun on this connection yet.
    private var fresh = true
    /// The head of the current request is still arriving: its bytes are counted until the empty line that ends it.
    private var scanningHead = false
    private var headBytes = 0
    /// The line being scanned has had nothing but "\r" so far.
    private var lineIsEmpty = false
    private var requestStarted = NIODeadline.now()
    private var responsesOwed = 0
    private var timer: Scheduled<Void>?
    private var rejected = false
    /// A read was asked for while the channel was not writable: done once it is.
    private var readHeldBack = false
    /// When bytes last came in or an answer went out: the connection quiet longest is evicted first.
    private(set) var lastActivity = NIODeadline.now()
    /// The server is stopping gracefully: answers say `Connection: close`, and the connection closes once idle.
    private(set) var isDraining = false

    init(limits: PMPServerLimits, registry: ConnectionRegistry) {
        self.limits = limits
        self.registry = registry
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { startIdleTimer() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        startIdleTimer()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        registry.remove(self)
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
        lastActivity = .now()
        if phase == .idle {
            beginRequest()
        }
        if scanningHead {
            // Counted here, before the decoder sees them: NIO's decoder bounds header fields but not the URL.
            let (scanned, ended) = scanHead(unwrapInboundIn(data))
            headBytes += scanned
            if headBytes > limits.maxHeadBytes {
                reject(.requestHeaderFieldsTooLarge,
                       "the request line and headers exceed \(limits.maxHeadBytes) bytes")
                return
            }
            if ended { headEnded() }
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if rejected {
            // Draining what the refused client still sends, whatever the handlers above hold back.
            context.read()
            return
        }
        context.fireChannelReadComplete()
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

    private func beginRequest() {
        phase = .receiving
        fresh = false
        scanningHead = true
        headBytes = 0
        lineIsEmpty = false
        requestStarted = .now()
        startTimer(at: requestStarted + TimeAmount(min(limits.headerTimeout, limits.requestTimeout)))
    }

    /// The head is in: the rest of the request (its body) has until the request timeout.
    private func headEnded() {
        guard scanningHead else { return }
        scanningHead = false
        if phase == .receiving { startTimer(at: requestStarted + TimeAmount(limits.requestTimeout)) }
    }

    // MARK: - What the HTTP handler reports

    func headReceived() {
        if phase == .idle {
            // A pipelined request that had already arrived.
            beginRequest()
        }
        headEnded()
    }

    func requestReceived() {
        responsesOwed += 1
        phase = .responding
        scanningHead = false
        cancelTimer()
    }

    func responseSent() {
        lastActivity = .now()
        responsesOwed = max(0, responsesOwed - 1)
        guard responsesOwed == 0, phase == .responding else { return }
        phase = .idle
        // An answer written before the stop began may have promised keep-alive: the stop closes it now.
        if isDraining {
            drain()
            return
        }
        startIdleTimer()
    }

    // MARK: - Graceful stop

    /// The server stops gracefully: closes the connection now when no request is in progress; otherwise the
    /// request goes on, its answer says `Connection: close`, and the connection closes after it.
    func drain() {
        isDraining = true
        guard phase == .idle, let context else { return }
        rejected = true
        cancelTimer()
        RawRefusal.close(context: context, registry: registry)
    }

    // MARK: - Eviction

    /// Nil when the connection must not be evicted (a request is being answered, or it is closing); otherwise
    /// lower goes first: 0 for no request in progress, 1 for a request still arriving.
    var evictionRank: Int? {
        if rejected || context == nil { return nil }
        switch phase {
        case .idle: return 0
        case .receiving: return responsesOwed == 0 ? 1 : nil
        case .responding: return nil
        }
    }

    /// Closes the connection to make room for a new one: quietly when it is idle between requests, with 503 when
    /// the head of one is arriving or it has not been heard from yet (its request may be on its way, or already
    /// waiting unread). Either way gracefully, never with a reset.
    func evict() {
        guard let context else { return }
        switch phase {
        case .idle where !fresh:
            rejected = true
            cancelTimer()
            RawRefusal.close(context: context, registry: registry)
        case .idle, .receiving, .responding:
            reject(.serviceUnavailable, "the server is full and this request was the slowest to arrive; try again")
        }
    }

    // MARK: - Timers and refusals

    private func startIdleTimer() {
        let timeout = fresh ? min(limits.idleTimeout, limits.headerTimeout) : limits.idleTimeout
        startTimer(at: .now() + TimeAmount(timeout))
    }

    private func startTimer(at deadline: NIODeadline) {
        cancelTimer()
        guard let context else { return }
        let expected = phase
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
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
            rejected = true
            RawRefusal.close(context: context, registry: registry)
        case .receiving:
            let limit = scanningHead ? min(limits.headerTimeout, limits.requestTimeout) : limits.requestTimeout
            let what = scanningHead ? "the request headers" : "the request"
            reject(.requestTimeout, "\(what) did not arrive within \(Self.seconds(limit))")
        case .responding:
            break
        }
    }

    /// Answers with a short error when no other response is under way, then closes the connection gracefully.
    private func reject(_ status: HTTPResponseStatus, _ message: String) {
        guard !rejected, let context else { return }
        rejected = true
        cancelTimer()
        registry.remove(self)
        guard responsesOwed == 0 else {
            context.close(promise: nil)
            return
        }
        RawRefusal.send(RawRefusal.bytes(status, message), context: context, registry: registry)
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
