import FuzzSupport
import NIOCore
import NIOEmbedded
import NIOHTTP1
import PMP
@testable import PMPServer

// The server's request path on raw bytes, as a connection delivers them: the connection guard, NIO's HTTP/1
// decoder and pipelining handler, the request handler (body limit, token, routing, query and path decoding)
// and the endpoints. The endpoints that capture or sample answer at once here: their work runs on other
// threads, which an embedded channel cannot take answers from; /profile keeps its query checks, as no profile
// slot is free.

let loop = EmbeddedEventLoop()
let limits = PMPServerLimits(maxHeadBytes: 1024, maxBodyBytes: 512, maxConcurrentProfiles: 0)

func router(limits: PMPServerLimits, profiles: ProfileSessions) -> Router {
    let capture: Endpoint = { request, reply throws(BadRequest) in
        _ = try request.query.choice("format", default: "json", ["json": "json", "text": "text", "folded": "folded"])
        _ = try request.query.choice("debug", default: 0, ["0": 0, "1": 1, "2": 2])
        _ = try request.query.flag("group")
        _ = try Endpoints.threadSelection(request.query)
        _ = try Endpoints.renderOptions(request.query, title: "stacks")
        reply(.text("captured\n"))
    }
    var router = Router()
    router.add(.GET, "/", WebUI.endpoint)
    router.add(.GET, "/debug/pprof", IndexPage.endpoint)
    router.add(.GET, "/health", HealthEndpoint.endpoint(startedAt: ContinuousClock.now))
    router.add(.GET, "/stacks", capture)
    router.add(.GET, "/profile", ProfileEndpoint.endpoint(limits: limits, profiles: profiles, style: .general))
    router.add(.GET, "/debug/pprof/profile", ProfileEndpoint.endpoint(limits: limits, profiles: profiles, style: .pprof))
    router.add(.GET, "/debug/pprof/goroutine", capture)
    router.add(.GET, "/procs", ProcessTableEndpoints.list(.shared))
    router.add(.GET, "/procs/{}/history", ProcessTableEndpoints.history(.shared))
    router.add(.DELETE, "/procs/{}", ProcessTableEndpoints.cancel(.shared))
    return router
}

func core(token: String?) -> ServerCore {
    let configuration = PMPServerConfiguration(token: token, limits: limits)
    return ServerCore(configuration: configuration, loop: loop,
                      router: router(limits: limits, profiles: ProfileSessions(limit: 0)))
}

let open = core(token: nil)
let guarded = core(token: "fuzz-token")

FuzzDriver.run { input in
    let channel = EmbeddedChannel(loop: loop)
    do {
        try PMPServer.setUpConnection(channel, core: input.count % 2 == 0 ? open : guarded)
    } catch {
        fatalError("the connection could not be set up: \(error)")
    }
    // In two pieces, split where the length says: the handlers see a request arrive in parts.
    let split = input.isEmpty ? 0 : (input.count * 7919) % (input.count + 1)
    for piece in [input[..<split], input[split...]] where !piece.isEmpty {
        guard channel.isActive else { break }
        _ = try? channel.writeInbound(channel.allocator.buffer(bytes: UnsafeRawBufferPointer(rebasing: piece)))
    }
    // Past the request and idle timeouts: the guard's timers fire.
    loop.advanceTime(by: .seconds(120))
    var written: [UInt8] = []
    while let buffer = try? channel.readOutbound(as: ByteBuffer.self) {
        written += buffer.readableBytesView
    }
    if !written.isEmpty, !written.starts(with: Array("HTTP/1.".utf8)) {
        fatalError("the server wrote something that is not an HTTP answer: \(String(decoding: written.prefix(80), as: UTF8.self))")
    }
    _ = try? channel.finish()
}
