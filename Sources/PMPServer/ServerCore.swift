import NIOCore
import PMP

/// What all connections of one server share: settings, routes, the running profiles, the way back to the loop,
/// and, on the loop, the open connections and the answer budget.
final class ServerCore: Sendable {
    let limits: PMPServerLimits
    let token: String?
    let gate: LoopGate
    let profiles: ProfileSessions
    let router: Router
    let tokenFailures: TokenFailureLimiter
    /// The names a request's `Host` may give; nil when any is accepted (a token is set, a unix socket, or an
    /// address reachable from other machines, where a name cannot be told from a rebound one anyway).
    let loopbackHostCheck: HostCheck?
    private let loopState: LoopState

    /// State only the server's loop touches (checked on every access).
    final class LoopState: @unchecked Sendable {
        let connections = ConnectionRegistry()
        let budget: AnswerBudget

        init(limits: PMPServerLimits) {
            budget = AnswerBudget(maxUnsentBytes: limits.maxUnsentBytes, maxCaptures: limits.maxConcurrentCaptures)
        }
    }

    /// `router` replaces the server's routes (to serve requests without capturing, as the fuzz target does).
    init(configuration: PMPServerConfiguration, loop: any EventLoop, router: Router? = nil) {
        limits = configuration.limits
        token = configuration.token
        gate = LoopGate(loop: loop)
        let profiles = ProfileSessions(limit: configuration.limits.maxConcurrentProfiles,
                                       maxTotalRate: configuration.limits.maxTotalProfileRate)
        self.profiles = profiles
        self.router = router ?? Endpoints.router(table: configuration.processTable, limits: configuration.limits,
                                                 profiles: profiles)
        tokenFailures = TokenFailureLimiter(perSecond: configuration.limits.maxTokenFailuresPerSecond)
        if configuration.token == nil, case .tcp(let host, _) = configuration.listen, configuration.listen.isLoopback {
            loopbackHostCheck = HostCheck(listenHost: host)
        } else {
            loopbackHostCheck = nil
        }
        loopState = LoopState(limits: configuration.limits)
    }

    /// Call on the loop.
    var connections: ConnectionRegistry {
        gate.loop.preconditionInEventLoop()
        return loopState.connections
    }

    /// The number of open connections, from any thread.
    var openConnectionCount: Int { loopState.connections.openCount }

    /// Call on the loop.
    var budget: AnswerBudget {
        gate.loop.preconditionInEventLoop()
        return loopState.budget
    }

    /// Counts a new connection, evicting the one idle longest when the server is full; false (and not counted)
    /// when every connection is busy. Call on the loop.
    func admit(_ connection: ConnectionGuard) -> Bool {
        let registry = connections
        if registry.count >= limits.maxConnections, !registry.evictOne() { return false }
        registry.add(connection)
        return true
    }
}

/// Answers a connection beyond the limit with 503 as soon as it is open, and closes it gracefully.
final class OverloadRefusal: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let registry: ConnectionRegistry

    init(registry: ConnectionRegistry) { self.registry = registry }

    func channelActive(context: ChannelHandlerContext) {
        RawRefusal.send(RawRefusal.bytes(.serviceUnavailable, "too many connections; try again later", retryAfter: 1),
                        context: context, registry: registry)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
