import Logging
import PMPPyroscope
import ServiceLifecycle

/// The Pyroscope push exporter as a `Service`: it samples and pushes while the group runs; on graceful shutdown it
/// sends the last partial window and what is queued, waiting at most the configuration's `flushTimeout`.
public struct PyroscopeExporterService: Service {
    public let configuration: PyroscopeConfiguration
    private let logger: Logger?

    public init(configuration: PyroscopeConfiguration, logger: Logger? = nil) {
        self.configuration = configuration
        self.logger = logger
    }

    /// From `PMP_PYROSCOPE_*` (see `PyroscopeConfiguration.fromEnvironment`); nil when `PMP_PYROSCOPE_URL` is not set.
    public static func fromEnvironment(logger: Logger? = nil) throws -> PyroscopeExporterService? {
        try PyroscopeConfiguration.fromEnvironment(PyroscopeConfiguration.processEnvironment())
            .map { PyroscopeExporterService(configuration: $0, logger: logger) }
    }

    public func run() async throws {
        let logger = logger ?? Logger.current
        let exporter = try PyroscopeExporter.start(configuration, logger: logger)
        try? await gracefulShutdown()
        logger.info("pyroscope exporter flushing", metadata: ["flush-timeout": "\(configuration.flushTimeout)"])
        await exporter.stop()
        let statistics = exporter.statistics
        logger.info("pyroscope exporter stopped", metadata: ["statistics": "\(statistics)"])
    }
}
