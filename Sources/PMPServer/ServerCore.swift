import NIOCore
import PMP
import Synchronization

/// What all connections of one server share: settings, routes, the running profiles, the way back to the loop.
final class ServerCore: Sendable {
    let limits: PMPServerLimits
    let token: String?
    let gate: LoopGate
    let profiles: ProfileSessions
    let router: Router
    private let openConnections = Atomic<Int>(0)

    /// `router` replaces the server's routes (to serve requests without capturing, as the fuzz target does).
    init(configuration: PMPServerConfiguration, loop: any EventLoop, router: Router? = nil) {
        limits = configuration.limits
        token = configuration.token
        gate = LoopGate(loop: loop)
        let profiles = ProfileSessions(limit: configuration.limits.maxConcurrentProfiles)
        self.profiles = profiles
        self.router = router ?? Endpoints.router(table: configuration.processTable, limits: configuration.limits,
                                                 profiles: profiles)
    }

    /// Counts a new connection; false (and not counted) when the server is full.
    func admitConnection() -> Bool {
        let count = openConnections.wrappingAdd(1, ordering: .relaxed).newValue
        if count > limits.maxConnections {
            openConnections.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func connectionClosed() { openConnections.wrappingSubtract(1, ordering: .relaxed) }
}

/// Answers a connection beyond the limit with 503 as soon as it is open, and closes it.
final class OverloadRefusal: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelActive(context: ChannelHandlerContext) {
        let body = ServerResponse.errorBody(.serviceUnavailable, "too many connections; try again later")
        var text = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in CORS.headers { text += "\(name): \(value)\r\n" }
        text += "Retry-After: 1\r\nConnection: close\r\n\r\n"
        let buffer = context.channel.allocator.buffer(bytes: Array(text.utf8) + body)
        context.writeAndFlush(wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
