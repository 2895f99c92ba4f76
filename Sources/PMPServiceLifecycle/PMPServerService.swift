import Logging
import PMPProcessTable
import PMPPyroscope
import PMPServer
import ServiceLifecycle

/// `PMPServer` as a swift-service-lifecycle `Service`: the group starts it, and on graceful shutdown (the group's
/// `gracefulShutdownSignals`, SIGTERM typically) it stops accepting connections, lets requests being answered
/// finish for at most `gracePeriod`, then cuts the rest:
///
///     let logger = Logger(label: "checkout")
///     let group = ServiceGroup(services: [app, PMPServerService(logger: logger)],
///                              gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
///     try await group.run()
///
/// It logs (`pmp server listening`, `pmp server stopping gracefully`, `pmp server stopped`) through the logger it
/// is given, the group's; without one, through `Logger.current` when it runs (swift-log's task-local logger,
/// set with `withLogger(logger) { try await group.run() }`). A server that cannot start (the address is taken)
/// throws from `run()`, which by default ends the group.
public struct PMPServerService: Service {
    public let configuration: PMPServerConfiguration
    /// How long requests being answered may take to finish once shutdown began.
    public let gracePeriod: Duration
    private let logger: Logger?
    private let onStart: @Sendable (PMPServer) -> Void

    /// - Parameters:
    ///   - onStart: called once the server listens, with the server (its `localAddress` when the port was 0).
    public init(configuration: PMPServerConfiguration = PMPServerConfiguration(), gracePeriod: Duration = .seconds(5),
                logger: Logger? = nil, onStart: @escaping @Sendable (PMPServer) -> Void = { _ in }) {
        self.configuration = configuration
        self.gracePeriod = gracePeriod
        self.logger = logger
        self.onStart = onStart
    }

    /// The service `PMPServer.startFromEnvironment` would start (`PMP_LISTEN`, `PMP_TOKEN`, `PMP_ALLOW_INSECURE`);
    /// nil when `PMP_LISTEN` is not set. The Pyroscope exporter is a service of its own:
    /// `PyroscopeExporterService.fromEnvironment`.
    public static func fromEnvironment(processTable: ProcessTable = .shared, gracePeriod: Duration = .seconds(5),
                                       logger: Logger? = nil) throws -> PMPServerService? {
        guard let configuration = try PMPServerConfiguration.fromEnvironment(PyroscopeConfiguration.processEnvironment(),
                                                                             processTable: processTable)
        else { return nil }
        return PMPServerService(configuration: configuration, gracePeriod: gracePeriod, logger: logger)
    }

    public func run() async throws {
        let logger = logger ?? Logger.current
        let server: PMPServer
        do {
            server = try PMPServer.start(configuration)
        } catch {
            logger.error("pmp server did not start", metadata: ["error": "\(error)"])
            throw error
        }
        logger.info("pmp server listening", metadata: ["address": "\(server.localAddress)"])
        onStart(server)

        // Until the group shuts down gracefully; a cancelled group stops the server at once.
        let cancelled: Bool
        do {
            try await gracefulShutdown()
            cancelled = false
        } catch {
            cancelled = true
        }
        let grace = cancelled ? Duration.zero : gracePeriod
        logger.info(cancelled ? "pmp server stopping: cancelled" : "pmp server stopping gracefully",
                    metadata: ["grace-period": "\(grace)"])
        let cut = await server.stop(gracePeriod: grace)
        logger.info("pmp server stopped", metadata: ["connections-cut": "\(cut)"])
    }
}
