// pmp-lifecycle-demo: a ServiceGroup running the PMP server, the dump trigger and a worker whose spans are
// process-table entries; SIGTERM or SIGINT stops it gracefully.
//
//     pmp-lifecycle-demo [--listen 127.0.0.1:9084] [--grace SECONDS]
//
// stdout: the pid, `pmp http://HOST:PORT` once the server listens, then `ready`; the log goes to stderr.
#if canImport(Glibc)
import Glibc
#endif
import Logging
import PMP
import PMPServer
import PMPServiceLifecycle
import PMPTracing
import ServiceLifecycle
import Tracing

/// One line on stdout, unbuffered: the test reads it while the process runs.
func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

func fail(_ message: String) -> Never {
    let bytes = Array("pmp-lifecycle-demo: \(message)\n".utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(2)
}

var listen = ListenAddress.tcp(host: "127.0.0.1", port: 0)
var grace = Duration.seconds(5)
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--listen":
        guard let text = arguments.popFirst(), let address = ListenAddress.parse(text) else {
            fail("--listen needs an address such as 127.0.0.1:9084")
        }
        listen = address
    case "--grace":
        guard let text = arguments.popFirst(), let seconds = Double(text), seconds >= 0 else {
            fail("--grace needs seconds")
        }
        grace = .milliseconds(Int(seconds * 1000))
    default:
        fail("usage: pmp-lifecycle-demo [--listen ADDRESS] [--grace SECONDS]")
    }
}

say("\(getpid())")

LoggingSystem.bootstrap(StreamLogHandler.standardError)
var logger = Logger(label: "pmp-lifecycle-demo")
logger.logLevel = .info
// Every span in flight is a process-table entry, served at /procs.
InstrumentationSystem.bootstrap(ProcessTableTracer())

let server = PMPServerService(configuration: PMPServerConfiguration(listen: listen), gracePeriod: grace,
                              logger: logger) { server in
    if case .tcp(let host, let port) = server.localAddress { say("pmp http://\(host):\(port)") }
    say("ready")
}
let group = ServiceGroup(services: [server, PMPTriggerService(logger: logger), TickerService(logger: logger)],
                         gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
do {
    try await group.run()
    logger.info("pmp-lifecycle-demo exiting")
} catch {
    logger.error("pmp-lifecycle-demo failed", metadata: ["error": "\(error)"])
    exit(1)
}
