import PMP
import PMPProcessTable
import PMPSupport

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

/// Bounds that keep one client from holding the server: request sizes, how long each phase of a request may take,
/// how many connections stay open, how much answer data may wait to be sent, and how long and fast profiles may
/// sample.
public struct PMPServerLimits: Sendable, Hashable {
    /// The request line and headers together; larger heads are answered 431 and the connection closed.
    public var maxHeadBytes: Int
    /// Request bodies (only `DELETE /procs/{id}` reads one); larger ones are answered 413 and the connection closed.
    public var maxBodyBytes: Int
    /// From a request's first byte (or a new connection's opening) to the end of its headers: a slower client is
    /// answered 408 and disconnected (a new connection that sent nothing is closed).
    public var headerTimeout: Duration
    /// From a request's first byte to its last, body included: a slower client is answered 408 and disconnected.
    public var requestTimeout: Duration
    /// A connection with no request in progress is closed after this long.
    public var idleTimeout: Duration
    /// From a complete request to its answer, waiting for a free capture included: a capture that takes longer is
    /// answered 503. A profile may take its `seconds` plus this.
    public var handlerTimeout: Duration
    /// From the start of writing an answer to its last byte handed to the system: a client that stops reading
    /// mid-answer is disconnected.
    public var writeTimeout: Duration
    /// Connections open at once. A new connection beyond it takes the place of the connection idle longest (no
    /// request in progress, or only part of one); when every connection is busy it is answered 503 and closed.
    public var maxConnections: Int
    /// Bytes of answers written but not yet taken by the system, all connections together. Above it new requests
    /// wait (up to `handlerTimeout`) until clients read. Each connection has at most one answer waiting: it is
    /// not read from while its answer is unsent.
    public var maxUnsentBytes: Int
    /// Captures (`/stacks`, `/debug/pprof/goroutine`) in progress at once; further ones wait their turn.
    public var maxConcurrentCaptures: Int
    /// `/profile` and `/debug/pprof/profile`: the longest `seconds`, the fastest `hz`, and how many run at once
    /// (further requests are answered 429 until one ends).
    public var maxProfileSeconds: Double
    public var maxProfileRate: Double
    public var maxConcurrentProfiles: Int
    /// The sum of the `hz` of the profiles running at once; a profile that would go beyond it is answered 429.
    public var maxTotalProfileRate: Double
    /// What `/profile` samples when the request does not say.
    public var defaultProfileSeconds: Double
    public var defaultProfileRate: Double
    /// Wrong tokens one connection may send before it is closed.
    public var maxTokenFailuresPerConnection: Int
    /// Wrong tokens accepted per second, all connections together (with a burst of ten times as many); beyond it
    /// every request with a token is answered 429 without the token being compared.
    public var maxTokenFailuresPerSecond: Double
    /// How long the server stops accepting when the process is out of file descriptors (or memory for sockets).
    public var acceptBackoff: Duration

    public init(maxHeadBytes: Int = 16 * 1024, maxBodyBytes: Int = 64 * 1024,
                requestTimeout: Duration = .seconds(10), idleTimeout: Duration = .seconds(60),
                maxConnections: Int = 128, maxProfileSeconds: Double = 60, maxProfileRate: Double = 1000,
                maxConcurrentProfiles: Int = 4, defaultProfileSeconds: Double = 5, defaultProfileRate: Double = 100,
                headerTimeout: Duration = .seconds(5), handlerTimeout: Duration = .seconds(30),
                writeTimeout: Duration = .seconds(30), maxUnsentBytes: Int = 64 * 1024 * 1024,
                maxConcurrentCaptures: Int = 4, maxTotalProfileRate: Double = 1000,
                maxTokenFailuresPerConnection: Int = 3, maxTokenFailuresPerSecond: Double = 10,
                acceptBackoff: Duration = .milliseconds(500)) {
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
        self.headerTimeout = headerTimeout
        self.handlerTimeout = handlerTimeout
        self.writeTimeout = writeTimeout
        self.maxUnsentBytes = maxUnsentBytes
        self.maxConcurrentCaptures = maxConcurrentCaptures
        self.maxTotalProfileRate = maxTotalProfileRate
        self.maxTokenFailuresPerConnection = maxTokenFailuresPerConnection
        self.maxTokenFailuresPerSecond = maxTokenFailuresPerSecond
        self.acceptBackoff = acceptBackoff
    }
}
