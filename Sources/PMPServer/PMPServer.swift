#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOHTTP1
import NIOPosix
import PMP
import PMPPyroscope
import Synchronization
import PMPProcessTable

/// The HTTP endpoints (`/stacks`, `/profile`, `/debug/pprof/…`, `/procs`, `/health`, `/`) on an event loop and
/// thread of their own, so that they answer while every thread of the application is stuck.
///
///     let server = try PMPServer.start(PMPServerConfiguration(listen: .tcp(host: "127.0.0.1", port: 9084)))
///     // or, from PMP_LISTEN / PMP_TOKEN / PMP_ALLOW_INSECURE:
///     let server = try PMPServer.startFromEnvironment()
///
/// Nothing on the request path uses Swift concurrency or Dispatch: snapshots are taken on PMP's capture thread
/// and profiles on sampler threads of their own, and their results come back to the server's loop.
public final class PMPServer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let core: ServerCore
    private let address: ListenAddress
    private let stopped = Mutex(false)
    private let draining = Mutex(false)

    private init(group: MultiThreadedEventLoopGroup, channel: any Channel, core: ServerCore, address: ListenAddress) {
        self.group = group
        self.channel = channel
        self.core = core
        self.address = address
    }

    /// Starts listening. Throws when the address cannot be bound or the configuration is refused (a non-loopback
    /// address without a token, see `PMPServerError`). Keep the returned server for as long as it should run:
    /// releasing it stops it.
    public static func start(_ configuration: PMPServerConfiguration) throws -> PMPServer {
        try configuration.validate()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let core = ServerCore(configuration: configuration, loop: loop)
        let isTCP: Bool
        if case .tcp = configuration.listen { isTCP = true } else { isTCP = false }

        let acceptBackoff = TimeAmount(configuration.limits.acceptBackoff)
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptBackoff(delay: acceptBackoff))
                }
            }
            // Small reads: a client pipelining requests gets no more of them decoded and held than one read
            // brings in before reads stop (see HTTPConnectionHandler).
            .childChannelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 8192))
            .childChannelOption(.maxMessagesPerRead, value: 2)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.setUpConnection(channel, core: core)
                }
            }
        if isTCP { bootstrap = bootstrap.childChannelOption(.socketOption(.tcp_nodelay), value: 1) }

        let channel: any Channel
        do {
            switch configuration.listen {
            case .tcp(let host, let port):
                channel = try bootstrap.bind(host: host, port: port).wait()
            case .unix(let path):
                channel = try UnixSocketPlacement.bind(path) { temporaryPath in
                    try bootstrap.bind(unixDomainSocketPath: temporaryPath).wait()
                }
            }
        } catch {
            try? group.syncShutdownGracefully()
            throw PMPServerError.bindFailed(configuration.listen, reason: Self.bindFailureReason(error))
        }

        let bound = Self.listenAddress(of: channel, configured: configuration.listen)
        let server = PMPServer(group: group, channel: channel, core: core, address: bound)
        // Named so that it is recognized in dumps: the thread that answers while the others are stuck.
        loop.execute { nameCurrentThread("pmp-http") }
        PMP.warmUp()
        return server
    }

    /// Starts from the environment: `PMP_LISTEN` (address or unix socket path) and `PMP_TOKEN`; nil when
    /// `PMP_LISTEN` is not set. `PMP_ALLOW_INSECURE=1` allows a non-loopback address without a token.
    /// When `PMP_PYROSCOPE_URL` is set, the Pyroscope exporter starts too (`PyroscopeExporter.startFromEnvironment`),
    /// whether or not the server does.
    public static func startFromEnvironment(processTable: ProcessTable = .shared) throws -> PMPServer? {
        try PyroscopeExporter.startFromEnvironment()
        var environment: [String: String] = [:]
        for name in ["PMP_LISTEN", "PMP_TOKEN", "PMP_ALLOW_INSECURE"] {
            if let value = getenv(name) { environment[name] = String(cString: value) }
        }
        guard let configuration = try PMPServerConfiguration.fromEnvironment(environment, processTable: processTable)
        else { return nil }
        return try start(configuration)
    }

    /// The bound address (with the port the system chose for port 0).
    public var localAddress: ListenAddress { address }

    /// Profiles being taken for `/profile` and `/debug/pprof/profile` right now.
    public var runningProfileCount: Int { core.profiles.runningCount }

    /// Stops listening and closes connections. Profiles being taken are stopped and their requests dropped.
    public func stop() {
        guard beginStop() else { return }
        if group.next().inEventLoop {
            // Called from a handler: the loop cannot wait for itself.
            channel.close(promise: nil)
            group.shutdownGracefully { _ in }
        } else {
            try? channel.close().wait()
            try? group.syncShutdownGracefully()
        }
        if case .unix(let path) = address { _ = unlink(path) }
    }

    /// Stops gracefully: stops accepting connections at once and closes the idle ones; requests being answered
    /// (a capture, a profile) go on for at most `gracePeriod`, their answers say `Connection: close`, and their
    /// connections close after them. Whatever is still open then is cut as by `stop()`. Returns how many
    /// connections were cut. The task's cancellation ends the wait early.
    @discardableResult
    public func stop(gracePeriod: Duration) async -> Int {
        // One graceful stop at a time; a second call, or one after stop(), returns at once.
        let claimed = draining.withLock { draining -> Bool in
            defer { draining = true }
            return !draining
        }
        guard claimed, !stopped.withLock({ $0 }) else { return 0 }
        let loop = group.next()
        let core = core
        // Stop accepting first, so that the connections counted below are all there will be.
        try? await channel.close()
        // Not waited for: a stop() meanwhile shuts the loop down, and a task it never runs would never answer.
        loop.execute { core.connections.drainAll() }
        let deadline = ContinuousClock.now + gracePeriod
        var open = core.openConnectionCount
        while open > 0, ContinuousClock.now < deadline, !Task.isCancelled, !stopped.withLock({ $0 }) {
            try? await Task.sleep(for: .milliseconds(10))
            open = core.openConnectionCount
        }
        guard beginStop() else { return open }
        // As stop(), without blocking the caller's thread while the loop shuts down.
        try? await group.shutdownGracefully()
        if case .unix(let path) = address { _ = unlink(path) }
        return open
    }

    /// Marks the server stopped and stops what runs off the loop; false when it was stopped already.
    private func beginStop() -> Bool {
        let first = stopped.withLock { stopped -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return false }
        core.profiles.stopAll()
        core.gate.close()
        return true
    }

    deinit { stop() }

    // MARK: - Set-up

    /// NIO describes a failed bind as `bind(descriptor:ptr:bytes:): Address already in use (errno: 98)`; the
    /// system's reason alone ("address already in use") reads as the end of our sentence.
    static func bindFailureReason(_ error: any Error) -> String {
        guard let error = error as? IOError else { return "\(error)" }
        let text = String(cString: strerror(error.errnoCode))
        return text.prefix(1).lowercased() + text.dropFirst()
    }

    static func setUpConnection(_ channel: any Channel, core: ServerCore) throws {
        let pipeline = channel.pipeline.syncOperations
        let registry = core.connections
        let connectionGuard = ConnectionGuard(limits: core.limits, registry: registry)
        guard core.admit(connectionGuard) else {
            try pipeline.addHandler(OverloadRefusal(registry: registry))
            return
        }
        try pipeline.addHandler(connectionGuard)
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderListSize = core.limits.maxHeadBytes
        decoderLimits.maxHeaderFieldSize = core.limits.maxHeadBytes
        try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: false,
                                                 withEncoderConfiguration: HTTPResponseEncoder.Configuration(),
                                                 withDecoderLimitConfiguration: decoderLimits)
        var peerIsUnixSocket = false
        if case .unixDomainSocket? = channel.localAddress { peerIsUnixSocket = true }
        try pipeline.addHandler(HTTPConnectionHandler(core: core, connectionGuard: connectionGuard,
                                                      peerIsLocal: isLocal(channel.remoteAddress) || peerIsUnixSocket,
                                                      peerUID: PeerCredentials.uid(of: channel),
                                                      peerIsUnixSocket: peerIsUnixSocket))
    }

    /// Sets the kernel's name of the calling thread (what `comm` and dumps show).
    private static func nameCurrentThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    private static func isLocal(_ address: SocketAddress?) -> Bool {
        switch address {
        case .unixDomainSocket?: return true
        case .v4?, .v6?: return address?.ipAddress.map(ListenAddress.isLoopbackHost) ?? false
        case nil: return false
        }
    }

    private static func listenAddress(of channel: any Channel, configured: ListenAddress) -> ListenAddress {
        guard case .tcp = configured, let local = channel.localAddress, let ip = local.ipAddress,
              let port = local.port else { return configured }
        return .tcp(host: ip, port: port)
    }
}
