import Logging
import PMP
import Synchronization

extension PyroscopeExporter {
    private static let fromEnvironment = Mutex<PyroscopeExporter?>(nil)

    /// The exporter configured by `PMP_PYROSCOPE_*`, started once per process: nil when `PMP_PYROSCOPE_URL` is
    /// not set. Called by `PMPServer.startFromEnvironment()` and `PMP.installTriggerAndExporter()`; a second
    /// call answers the running exporter. Throws, saying which variable is wrong, when the settings cannot work.
    @discardableResult
    public static func startFromEnvironment(_ environment: [String: String] = PyroscopeConfiguration.processEnvironment(),
                                            logger: Logger = Logger(label: "swift-pmp.pyroscope")) throws(PyroscopeError) -> PyroscopeExporter? {
        guard let configuration = try PyroscopeConfiguration.fromEnvironment(environment) else { return nil }
        return try fromEnvironment.withLock { (running: inout PyroscopeExporter?) throws(PyroscopeError) -> PyroscopeExporter in
            if let running { return running }
            let exporter = try start(configuration, logger: logger)
            running = exporter
            return exporter
        }
    }

    /// The exporter `startFromEnvironment` started, if any.
    public static var runningFromEnvironment: PyroscopeExporter? { fromEnvironment.withLock { $0 } }

    /// Stops the exporter `startFromEnvironment` started; the next call starts a new one.
    public static func stopFromEnvironment() {
        let exporter = fromEnvironment.withLock { running -> PyroscopeExporter? in
            defer { running = nil }
            return running
        }
        exporter?.stop()
    }
}

extension PMP {
    /// `PMP.installTrigger(_:)`, then the Pyroscope exporter when `PMP_PYROSCOPE_URL` is set. (The trigger
    /// lives in PMP, which the exporter depends on, so the trigger cannot start it itself.)
    @discardableResult
    public static func installTriggerAndExporter(_ configuration: TriggerConfiguration = TriggerConfiguration(),
                                                 logger: Logger = Logger(label: "swift-pmp.pyroscope")) throws -> PyroscopeExporter? {
        try installTrigger(configuration)
        return try PyroscopeExporter.startFromEnvironment(logger: logger)
    }
}
