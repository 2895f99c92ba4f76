#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import Logging
import PMP
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
        } else if arguments.contains("--without-table") || arguments.contains("--experiment-inline") || arguments.contains("--experiment-child") {
            withTable = false
        } else {
            print("usage: pmp-hummingbird-bench --with-table|--without-table [--port N]")
            return
        }
        let port = arguments.firstIndex(of: "--port").flatMap { Int(arguments[$0 + 1]) } ?? 0

        let router = Router()
        if withTable { router.add(middleware: ProcessTableMiddleware()) }
        if arguments.contains("--experiment-inline") { router.add(middleware: InlineTable()) }
        if arguments.contains("--experiment-child") { router.add(middleware: ChildOnly()) }
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

struct InlineTable<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let process = ProcessTable.shared.register(attributes: ["method": .string(request.method.rawValue), "path": .string(request.uri.path), "request-id": .string(context.id)])
        try? process.setStatus("handler")
        let response = try await process.withCurrentTask { try await next(request, context) }
        try? process.setStatus("writing response")
        process.finish(httpStatus: Int(response.status.code))
        return response
    }
}

struct Box<Context>: @unchecked Sendable {
    let next: (Request, Context) async throws -> Response
    let request: Request
    let context: Context
}

struct ChildOnly<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await withoutActuallyEscaping(next) { next in
            let work = Box(next: next, request: request, context: context)
            return try await withThrowingTaskGroup(of: Response.self) { group in
                group.addImmediateTask { try await work.next(work.request, work.context) }
                return try await group.next()!
            }
        }
    }
}
