import Logging
import PMP
import ServiceLifecycle

/// The dump trigger (`kill -USR1 PID` writes a dump) as a `Service`: installed when the group starts.
///
/// Shutdown leaves it installed until the process exits, on purpose: a shutdown that hangs is when a dump is
/// wanted most. Its `run()` returns when the group shuts down gracefully, or throws when it cannot be installed.
public struct PMPTriggerService: Service {
    public let configuration: TriggerConfiguration
    private let logger: Logger?

    public init(configuration: TriggerConfiguration = TriggerConfiguration(), logger: Logger? = nil) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let logger = logger ?? Logger.current
        do {
            try PMP.installTrigger(configuration)
        } catch {
            logger.error("pmp trigger not installed", metadata: ["error": "\(error)"])
            throw error
        }
        let signal = configuration.signal.map { SignalName.describe($0) } ?? "none"
        logger.info("pmp trigger installed", metadata: ["signal": "\(signal)"])
        try? await gracefulShutdown()
        logger.info("pmp trigger kept until exit", metadata: ["signal": "\(signal)"])
    }
}
