import PMP

/// Where the server listens.
public enum ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// A TCP address; loopback by default.
    case tcp(host: String, port: Int)
    /// A unix-domain socket path.
    case unix(path: String)

    /// Parses `PMP_LISTEN`-style text: "127.0.0.1:9084", ":9084" (loopback), "[::1]:9084", or a path with a "/".
    public static func parse(_ text: String) -> ListenAddress? {
        nil
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): return path
        }
    }
}

/// How the server is set up.
public struct PMPServerConfiguration: Sendable {
    public var listen: ListenAddress
    /// When set, every request needs `Authorization: Bearer TOKEN` (or `?token=`); when nil, cancel still
    /// works only from loopback/unix clients.
    public var token: String?
    /// Allow a non-loopback TCP address without a token (refused otherwise).
    public var allowInsecureNonLoopback: Bool
    /// The process table served at /procs.
    public var processTable: ProcessTable

    public init(listen: ListenAddress = .tcp(host: "127.0.0.1", port: 9084), token: String? = nil,
                allowInsecureNonLoopback: Bool = false, processTable: ProcessTable = .shared) {
        self.listen = listen
        self.token = token
        self.allowInsecureNonLoopback = allowInsecureNonLoopback
        self.processTable = processTable
    }
}

/// The HTTP endpoints (`/stacks`, `/profile`, `/debug/pprof/…`, `/procs`, `/health`, `/`) on an event loop and
/// thread of their own, so that they answer while every thread of the application is stuck.
public final class PMPServer: Sendable {
    /// Starts listening. Throws when the address cannot be bound or the configuration is refused.
    public static func start(_ configuration: PMPServerConfiguration) throws -> PMPServer {
        fatalError("not yet")
    }

    /// Starts from the environment: `PMP_LISTEN` (address or unix socket path) and `PMP_TOKEN`; nil when
    /// `PMP_LISTEN` is not set.
    public static func startFromEnvironment(processTable: ProcessTable = .shared) throws -> PMPServer? {
        nil
    }

    /// The bound address (with the port the system chose for port 0).
    public var localAddress: ListenAddress { fatalError("not yet") }

    /// Stops listening and closes connections.
    public func stop() {}
}
