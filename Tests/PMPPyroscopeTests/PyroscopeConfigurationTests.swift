@testable import PMPPyroscope
import PMPTestSupport
import Testing

@Suite("Pyroscope configuration") struct PyroscopeConfigurationTests {
    @Test("PMP_PYROSCOPE_* give the URL, name, labels, interval, API, auth and tenant")
    func fromEnvironment() throws {
        let configuration = try #require(try PyroscopeConfiguration.fromEnvironment([
            "PMP_PYROSCOPE_URL": "https://123456:tok%40en@profiles-prod-001.grafana.net/pyroscope/",
            "PMP_PYROSCOPE_APP": "checkout", "PMP_PYROSCOPE_LABELS": " env = prod , region=eu-west-1",
            "PMP_PYROSCOPE_INTERVAL": "30s", "PMP_PYROSCOPE_TENANT": "team-a", "PMP_PYROSCOPE_API": "ingest",
        ]))
        #expect(configuration.url.isTLS && configuration.url.port == 443)
        #expect(configuration.url.host == "profiles-prod-001.grafana.net" && configuration.url.pathPrefix == "/pyroscope")
        #expect(configuration.authorization == .basic(user: "123456", password: "tok@en"))
        #expect(configuration.applicationName == "checkout")
        #expect(configuration.labels.pairs.map(\.name) == ["env", "region"])
        #expect(configuration.labels.pairs.map(\.value) == ["prod", "eu-west-1"])
        #expect(configuration.interval == .seconds(30))
        #expect(configuration.tenantID == "team-a" && configuration.api == .ingest)
        #expect(try PyroscopeConfiguration.fromEnvironment([:]) == nil)
        let defaults = try #require(try PyroscopeConfiguration.fromEnvironment(["PMP_PYROSCOPE_URL": "http://[::1]:4040"]))
        #expect(defaults.interval == .seconds(15) && defaults.api == .push && defaults.url.host == "::1")
        #expect(!defaults.applicationName.isEmpty)
        let bearer = try #require(try PyroscopeConfiguration.fromEnvironment(["PMP_PYROSCOPE_URL": "http://h:1",
                                                                              "PMP_PYROSCOPE_TOKEN": "abc"]))
        #expect(bearer.authorization == .bearer("abc"))
    }

    @Test("bad URLs, labels and intervals are refused with a sentence that says what is wrong", arguments: [
        (["PMP_PYROSCOPE_URL": "pyroscope:4040"], "the scheme must be http:// or https://"),
        (["PMP_PYROSCOPE_URL": "ftp://host"], "the scheme must be http:// or https://"),
        (["PMP_PYROSCOPE_URL": "http://host:99999"], "is not a number from 1 to 65535"),
        (["PMP_PYROSCOPE_URL": "http://"], "the host is missing"),
        (["PMP_PYROSCOPE_URL": "http://host/ingest?x=1"], "a query or fragment is not allowed"),
        (["PMP_PYROSCOPE_URL": "http://ho st"], "spaces or control characters"),
        (["PMP_PYROSCOPE_URL": "http://h", "PMP_PYROSCOPE_LABELS": "env"], "\"env\" has no ="),
        (["PMP_PYROSCOPE_URL": "http://h", "PMP_PYROSCOPE_LABELS": "env=a,,b=c"], "an empty item between commas"),
        (["PMP_PYROSCOPE_URL": "http://h", "PMP_PYROSCOPE_LABELS": "9lives=a"], "may hold only letters, digits, _ and ."),
        (["PMP_PYROSCOPE_URL": "http://h", "PMP_PYROSCOPE_LABELS": "host-name=a"], "may hold only letters, digits, _ and ."),
        (["PMP_PYROSCOPE_URL": "http://h", "PMP_PYROSCOPE_LABELS": "service_name=a"], "is set by the exporter"),
        (["PMP_PYROSCOPE_URL": "http://h", "PMP_PYROSCOPE_LABELS": "__name__=cpu"], "is set by the exporter"),
        (["PMP_PYROSCOPE_URL": "http://h", "PMP_PYROSCOPE_LABELS": "a=1,a=2"], "\"a\" is given twice"),
        (["PMP_PYROSCOPE_URL": "http://h", "PMP_PYROSCOPE_LABELS": "a="], "the value of \"a\" is empty"),
        (["PMP_PYROSCOPE_URL": "http://h", "PMP_PYROSCOPE_LABELS": "a=x}y"], "contains , { }"),
        (["PMP_PYROSCOPE_URL": "http://h", "PMP_PYROSCOPE_INTERVAL": "soon"], "expected a duration between 1s and 1h"),
        (["PMP_PYROSCOPE_URL": "http://h", "PMP_PYROSCOPE_INTERVAL": "100ms"], "expected a duration between 1s and 1h"),
        (["PMP_PYROSCOPE_URL": "http://h", "PMP_PYROSCOPE_API": "otlp"], "expected push or ingest"),
        (["PMP_PYROSCOPE_URL": "http://h", "PMP_PYROSCOPE_TOKEN": "t", "PMP_PYROSCOPE_USER": "u"], "not both"),
        (["PMP_PYROSCOPE_URL": "http://h", "PMP_PYROSCOPE_TENANT": "a b"], "a tenant id is at most 150"),
        (["PMP_PYROSCOPE_URL": "http://h", "PMP_PYROSCOPE_APP": "my{app}"], "contains , { } ="),
    ])
    func refused(environment: [String: String], message: String) {
        do {
            _ = try PyroscopeConfiguration.fromEnvironment(environment)
            Issue.record("accepted \(environment)")
        } catch {
            #expect(error.description.contains(message), "\(error.description)")
        }
    }

    @Test("more labels than Pyroscope keeps per series are refused")
    func tooManyLabels() {
        let text = (0..<27).map { "l\($0)=v" }.joined(separator: ",")
        #expect(throws: PyroscopeError.self) { try PyroscopeLabels.parse(text) }
        #expect((try? PyroscopeLabels.parse((0..<26).map { "l\($0)=v" }.joined(separator: ","))) != nil)
    }
}
