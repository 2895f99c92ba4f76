#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import Logging
import PMPProcessTable
import PMPHummingbird

/// A minimal Hummingbird service for tools/bench-process-table: `GET /hello` answers `hello`, with or without
/// the process-table middleware. Prints `listening PORT` once it serves.
///
///     pmp-hummingbird-bench --with-table|--without-table [--port N]
@main
struct BenchServer {
    static func main() async throws {
        let arguments = CommandLine.arguments.dropFirst()
        let withTable: Bool
        if arguments.contains("--with-table") {
            withTable = true
        } else if arguments.contains("--without-table") {
            withTable = false
        } else {
            print("usage: pmp-hummingbird-bench --with-table|--without-table [--port N]")
            return
        }
        let port = arguments.firstIndex(of: "--port").flatMap { Int(arguments[$0 + 1]) } ?? 0

        let router = Router()
        if withTable { router.add(middleware: ProcessTableMiddleware()) }
        router.get("/hello") { _, _ in "hello" }
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in
                print("listening \(channel.localAddress?.port ?? 0)")
                fflush(nil)  // stdout is a pipe: the script waits for this line
            },
            logger: logger)
        try await app.runService()
    }
}
