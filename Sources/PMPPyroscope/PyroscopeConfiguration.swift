#if canImport(Glibc)
import Glibc
#endif

/// How the exporter pushes: where, as which application, with which labels, how often, how it authenticates,
/// and how long it holds profiles the server does not take.
///
///     var configuration = try PyroscopeConfiguration(url: "https://profiles-prod-001.grafana.net",
///                                                    applicationName: "checkout")
///     configuration.authorization = .basic(user: "123456", password: token)
///     configuration.labels = try PyroscopeLabels.parse("env=prod,region=eu-west-1")
public struct PyroscopeConfiguration: Sendable {
    /// Which of Pyroscope's ingest APIs receives the profiles.
    public enum API: String, Sendable, Hashable {
        /// `POST /push.v1.PusherService/Push` (Connect, protobuf, gzipped body): what current Grafana clients use.
        case push
        /// `POST /ingest?name=…&format=pprof` (multipart): for servers older than the Push API.
        case ingest
    }

    public enum Authorization: Sendable, Hashable {
        case none
        case basic(user: String, password: String)
        case bearer(String)
    }

    public var url: PyroscopeURL
    /// `service_name` of every series.
    public var applicationName: String
    public var labels: PyroscopeLabels
    /// One profile per interval (default 15 s, as Alloy and pyroscope-go).
    public var interval: Duration
    /// Sampling rate while profiling, in Hz.
    public var rate: Double
    public var api: API
    public var authorization: Authorization
    /// Sent as `X-Scope-OrgID` (multi-tenant Pyroscope).
    public var tenantID: String?
    /// Extra request headers.
    public var headers: [(name: String, value: String)]
    /// One request's limit: connecting, sending and the answer together.
    public var timeout: Duration
    /// Profiles waiting to be sent beyond the one being sent; when full, the oldest is dropped (and counted).
    public var maxQueuedProfiles: Int
    /// Tries per profile (the first included) when the server answers 408, 429 or 5xx or cannot be reached.
    public var maxAttempts: Int
    /// The first retry's wait; doubled for each further one, up to `maxBackoff`.
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    /// Distinct stacks per profile (Pyroscope refuses more than 16 000 samples per profile).
    public var maxStacks: Int
    /// How long `stop()` waits for queued profiles to be sent.
    public var flushTimeout: Duration

    public init(url: String, applicationName: String, labels: PyroscopeLabels = try! PyroscopeLabels(),
                interval: Duration = .seconds(15)) throws(PyroscopeError) {
        let parsed = try PyroscopeURL(url)
        self.url = parsed
        self.applicationName = try Self.checkedApplicationName(applicationName)
        self.labels = labels
        self.interval = interval
        rate = 100
        api = .push
        authorization = parsed.user.map { .basic(user: $0, password: parsed.password ?? "") } ?? .none
        tenantID = nil
        headers = []
        timeout = .seconds(10)
        maxQueuedProfiles = 8
        maxAttempts = 8
        initialBackoff = .seconds(1)
        maxBackoff = .seconds(30)
        maxStacks = 10_000
        flushTimeout = .seconds(5)
    }

    /// The environment's names.
    public static let environmentNames = ["PMP_PYROSCOPE_URL", "PMP_PYROSCOPE_APP", "PMP_PYROSCOPE_LABELS",
                                          "PMP_PYROSCOPE_INTERVAL", "PMP_PYROSCOPE_API", "PMP_PYROSCOPE_USER",
                                          "PMP_PYROSCOPE_PASSWORD", "PMP_PYROSCOPE_TOKEN", "PMP_PYROSCOPE_TENANT"]

    /// From `PMP_PYROSCOPE_*`; nil when `PMP_PYROSCOPE_URL` is not set. `PMP_PYROSCOPE_APP` defaults to the
    /// executable's name; `PMP_PYROSCOPE_API` is `push` (default) or `ingest`; `PMP_PYROSCOPE_USER` and
    /// `PMP_PYROSCOPE_PASSWORD` give basic auth, `PMP_PYROSCOPE_TOKEN` a bearer token, `PMP_PYROSCOPE_TENANT`
    /// the `X-Scope-OrgID` header.
    public static func fromEnvironment(_ environment: [String: String]) throws(PyroscopeError) -> PyroscopeConfiguration? {
        guard let url = environment["PMP_PYROSCOPE_URL"], !url.isEmpty else { return nil }
        let name = environment["PMP_PYROSCOPE_APP"].flatMap { $0.isEmpty ? nil : $0 } ?? executableName()
        var configuration = try PyroscopeConfiguration(url: url, applicationName: name)
        if let labels = environment["PMP_PYROSCOPE_LABELS"] { configuration.labels = try PyroscopeLabels.parse(labels) }
        if let interval = environment["PMP_PYROSCOPE_INTERVAL"] {
            guard let parsed = parseDuration(interval), parsed >= .seconds(1), parsed <= .seconds(3600) else {
                throw .badInterval(interval)
            }
            configuration.interval = parsed
        }
        if let api = environment["PMP_PYROSCOPE_API"] {
            guard let parsed = API(rawValue: api.lowercased()) else {
                throw .badSetting(name: "PMP_PYROSCOPE_API", value: api, reason: "expected push or ingest")
            }
            configuration.api = parsed
        }
        let user = environment["PMP_PYROSCOPE_USER"], password = environment["PMP_PYROSCOPE_PASSWORD"]
        let token = environment["PMP_PYROSCOPE_TOKEN"]
        if token != nil, user != nil {
            throw .badSetting(name: "PMP_PYROSCOPE_TOKEN", value: "…",
                              reason: "give either a bearer token or PMP_PYROSCOPE_USER/PASSWORD, not both")
        }
        if let user {
            configuration.authorization = .basic(user: user, password: password ?? "")
        } else if password != nil {
            throw .badSetting(name: "PMP_PYROSCOPE_PASSWORD", value: "…", reason: "PMP_PYROSCOPE_USER is not set")
        }
        if let token {
            guard !token.isEmpty, token.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "\0" }) else {
                throw .badSetting(name: "PMP_PYROSCOPE_TOKEN", value: "…", reason: "empty, or not printable ASCII")
            }
            configuration.authorization = .bearer(token)
        }
        if let tenant = environment["PMP_PYROSCOPE_TENANT"], !tenant.isEmpty {
            guard tenant.utf8.count <= 150, tenant.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "!-_.*'()".contains($0)) })
            else {
                throw .badSetting(name: "PMP_PYROSCOPE_TENANT", value: tenant,
                                  reason: "a tenant id is at most 150 of A-Z a-z 0-9 ! - _ . * ' ( )")
            }
            configuration.tenantID = tenant
        }
        return configuration
    }

    /// The process's environment, `PMP_PYROSCOPE_*` only.
    public static func processEnvironment() -> [String: String] {
        var environment: [String: String] = [:]
        for name in environmentNames {
            if let value = getenv(name) { environment[name] = String(cString: value) }
        }
        return environment
    }

    /// "15s", "500ms", "1m", "2h", or a bare number of seconds.
    static func parseDuration(_ text: String) -> Duration? {
        let lower = text.lowercased().trimmingSpaces
        for (suffix, scale) in [("ms", 1e-3), ("s", 1.0), ("m", 60.0), ("h", 3600.0), ("", 1.0)] where lower.hasSuffix(suffix) {
            guard let value = Double(lower.dropLast(suffix.count)), value.isFinite, value >= 0 else { continue }
            return .nanoseconds(Int64((value * scale * 1e9).rounded()))
        }
        return nil
    }

    static func checkedApplicationName(_ name: String) throws(PyroscopeError) -> String {
        guard !name.isEmpty else { throw .badApplicationName(name, reason: "it is empty") }
        guard name.utf8.count <= PyroscopeLabels.maxValueLength else {
            throw .badApplicationName(String(name.prefix(40)), reason: "longer than \(PyroscopeLabels.maxValueLength) bytes")
        }
        guard !name.contains(where: { ",{}=".contains($0) || ($0.asciiValue.map { $0 < 0x20 } ?? false) }) else {
            throw .badApplicationName(name, reason: "it contains , { } = or a control character")
        }
        return name
    }

    private static func executableName() -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return "swift-service" }
        let path = String(decoding: buffer[..<count], as: UTF8.self)
        let name = path.split(separator: "/").last.map(String.init) ?? "swift-service"
        return name.filter { !",{}=".contains($0) }
    }
}
