import NIOCore
import NIOHTTP1
import NIOPosix
import PMPServer

/// `--serve`: the demo's own HTTP API on SwiftNIO, on event loops of its own (one per core, as a service would
/// size them), separate from the profiler's endpoints so that `--wedge` can block them.
final class DemoService {
    let group: MultiThreadedEventLoopGroup
    let channel: any Channel

    init(listen: ListenAddress) throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(DemoHTTPHandler())
                }
            }
            .childChannelOption(.maxMessagesPerRead, value: 16)
        do {
            switch listen {
            case .tcp(let host, let port):
                bootstrap = bootstrap.childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                channel = try bootstrap.bind(host: host, port: port).wait()
            case .unix(let path):
                channel = try bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).wait()
            }
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
    }

    /// The bound address as a URL, with the port the system chose for port 0.
    var url: String {
        guard let address = channel.localAddress else { return "unknown" }
        switch address {
        case .v4, .v6:
            let host = address.ipAddress ?? "?"
            let port = address.port.map(String.init) ?? "?"
            return "http://" + (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
        case .unixDomainSocket:
            return "unix:" + (address.pathname ?? "?")
        }
    }

    var eventLoops: [any EventLoop] { Array(group.makeIterator()) }
}
