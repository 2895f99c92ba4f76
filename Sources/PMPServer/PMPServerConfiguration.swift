import PMP

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
    /// Sizes, timeouts and profile bounds.
    public var limits: PMPServerLimits

    public init(listen: ListenAddress = .tcp(host: "127.0.0.1", port: 9084), token: String? = nil,
                allowInsecureNonLoopback: Bool = false, processTable: ProcessTable = .shared,
                limits: PMPServerLimits = PMPServerLimits()) {
        self.listen = listen
        self.token = token
        self.allowInsecureNonLoopback = allowInsecureNonLoopback
        self.processTable = processTable
        self.limits = limits
    }

    /// The configuration the environment asks for: `PMP_LISTEN` (an address as `ListenAddress.parse` reads it,
    /// or a unix socket path), `PMP_TOKEN` (empty means none) and `PMP_ALLOW_INSECURE=1`. Nil when `PMP_LISTEN` is
    /// unset or empty; throws when it cannot be read.
    public static func fromEnvironment(_ environment: [String: String],
                                       processTable: ProcessTable = .shared) throws(PMPServerError) -> PMPServerConfiguration? {
        guard let listenText = environment["PMP_LISTEN"]?.trimmingBlanks(), !listenText.isEmpty else { return nil }
        guard let listen = ListenAddress.parse(listenText) else { throw .invalidListenAddress(listenText) }
        let token = environment["PMP_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        let insecure = environment["PMP_ALLOW_INSECURE"].map { ["1", "true", "yes"].contains($0.lowercased()) } ?? false
        return PMPServerConfiguration(listen: listen, token: token, allowInsecureNonLoopback: insecure,
                                      processTable: processTable)
    }

    /// Refuses an address reachable from other machines without a token, unless explicitly allowed.
    func validate() throws(PMPServerError) {
        if let token, token.isEmpty { throw .emptyToken }
        if !listen.isLoopback, token == nil, !allowInsecureNonLoopback { throw .insecureAddress(listen) }
    }
}

/// Bounds that keep one client from holding the server: request sizes, how long a request may take to arrive,
/// how long an idle connection stays open, and how long and fast a profile may sample.
public struct PMPServerLimits: Sendable, Hashable {
    /// The request line and headers together; larger heads are answered 431 and the connection closed.
    public var maxHeadBytes: Int
    /// Request bodies (only `DELETE /procs/{id}` reads one); larger ones are answered 413 and the connection closed.
    public var maxBodyBytes: Int
    /// From a request's first byte to its last: a client slower than this is answered 408 and disconnected.
    public var requestTimeout: Duration
    /// A connection with no request in progress is closed after this long.
    public var idleTimeout: Duration
    /// Connections open at once; further ones are answered 503 and closed.
    public var maxConnections: Int
    /// `/profile` and `/debug/pprof/profile`: the longest `seconds`, the fastest `hz`, and how many run at once
    /// (further requests are answered 429 until one ends).
    public var maxProfileSeconds: Double
    public var maxProfileRate: Double
    public var maxConcurrentProfiles: Int
    /// What `/profile` samples when the request does not say.
    public var defaultProfileSeconds: Double
    public var defaultProfileRate: Double

    public init(maxHeadBytes: Int = 16 * 1024, maxBodyBytes: Int = 64 * 1024,
                requestTimeout: Duration = .seconds(10), idleTimeout: Duration = .seconds(60),
                maxConnections: Int = 128, maxProfileSeconds: Double = 60, maxProfileRate: Double = 1000,
                maxConcurrentProfiles: Int = 4, defaultProfileSeconds: Double = 5, defaultProfileRate: Double = 100) {
        self.maxHeadBytes = maxHeadBytes
        self.maxBodyBytes = maxBodyBytes
        self.requestTimeout = requestTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.maxProfileSeconds = maxProfileSeconds
        self.maxProfileRate = maxProfileRate
        self.maxConcurrentProfiles = maxConcurrentProfiles
        self.defaultProfileSeconds = defaultProfileSeconds
        self.defaultProfileRate = defaultProfileRate
    }
}
