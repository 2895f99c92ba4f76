import Foundation
@testable import PMPPyroscope
import PMPTestSupport
import Testing

/// Grafana's own client, `pyroscope-io` from PyPI (installed by `tools/setup --test` into
/// ~/.cache/swift-pmp/pyvenv), pushing to the same stand-in server: the server accepts real client traffic,
/// and our requests take the same shape.
@Suite("Pyroscope exporter and Grafana's client", .serialized) struct PyroscopeClientComparisonTests {
    static let python = NSHomeDirectory() + "/.cache/swift-pmp/pyvenv/bin/python"
    static var hasClient: Bool { FileManager.default.isExecutableFile(atPath: python) }

    @Test("pyroscope-io and the exporter send requests of the same shape, and the rules accept both",
          .enabled(if: hasClient, "pyroscope-io is not installed: run tools/setup --test"))
    func sameShape() throws {
        let theirs = try FakePyroscope(["--basic", "u:p", "--tenant", "tenant-a"])
        let run = try ToolRun.run(Self.python, [ToolRun.fixtures("pyroscope").appendingPathComponent("python_client.py").path,
                                                theirs.url, "3.5"], timeout: 120)
        #expect(run.status == 0, "\(run.stderr)")
        let reference = try #require(theirs.accepted.first, "pyroscope-io pushed nothing accepted: \(theirs.requests)")

        let ours = try FakePyroscope(["--basic", "u:p", "--tenant", "tenant-a"])
        var configuration = try PyroscopeConfiguration(url: ours.url, applicationName: "swift.test.app",
                                                       labels: try PyroscopeLabels.parse("env=test"), interval: .milliseconds(300))
        configuration.authorization = .basic(user: "u", password: "p")
        configuration.tenantID = "tenant-a"
        let exporter = try PyroscopeExporter.start(configuration)
        #expect(FakePyroscope.waitUntil { !ours.accepted.isEmpty })
        exporter.stop()
        let request = try #require(ours.accepted.first)

        #expect(request["path"] as? String == reference["path"] as? String)
        let theirHeaders = try #require(reference["headers"] as? [String: String])
        let ourHeaders = try #require(request["headers"] as? [String: String])
        for name in ["content-type", "content-encoding", "authorization", "x-scope-orgid"] {
            #expect(ourHeaders[name] == theirHeaders[name], "\(name): ours \(ourHeaders[name] ?? "-"), theirs \(theirHeaders[name] ?? "-")")
        }
        let theirSeries = try #require(FakeSeries.of(reference).first)
        let ourSeries = try #require(FakeSeries.of(request).first)
        // The same label names, but for the runtime's; the profile type is where the two differ on purpose:
        // pyroscope-io labels its wall-mode data process_cpu (grafana/pyroscope-rs#58), ours says wall.
        let common: Set = ["__name__", "service_name", "env", "otel.scope.name", "otel.scope.version"]
        #expect(common.isSubset(of: Set(theirSeries.labels.map(\.0))))
        #expect(common.isSubset(of: Set(ourSeries.labels.map(\.0))))
        #expect(theirSeries.labelDictionary["__name__"] == "process_cpu")
        #expect(ourSeries.labelDictionary["__name__"] == "wall")
        // Both send one raw profile per series, with per-sample thread labels.
        #expect(theirSeries.profiles.count == 1 && ourSeries.profiles.count == 1)
        let theirKeys = Set(((theirSeries.profiles[0]["label_values"] as? [String: Any]) ?? [:]).keys)
        let ourKeys = Set(((ourSeries.profiles[0]["label_values"] as? [String: Any]) ?? [:]).keys)
        #expect(theirKeys == ["thread_name"], "\(theirKeys)")
        #expect(ourKeys == ["thread", "state"], "\(ourKeys)")
        // And Google's parser reads both raw profiles.
        let summaries = try PprofCheck.check((theirs.profileFiles + ours.profileFiles).map(\.path))
        #expect(!summaries.isEmpty && summaries.allSatisfy { $0["ok"] as? Bool == true }, "\(summaries)")
    }
}
