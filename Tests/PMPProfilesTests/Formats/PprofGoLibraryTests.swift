import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import PMP
import PMPTestSupport
import Testing

/// Every pprof we write, read by Google's pprof library (`profile.Parse` and `CheckValid`), the parser Parca
/// and Grafana Alloy use: built from Debian's golang-github-google-pprof-dev, offline.
@Suite("pprof files in Google's pprof library") struct PprofGoLibraryTests {
    @Test("rendered profiles parse and keep their samples, sample types, labels and times",
          arguments: ["sample", "twoProcesses", "empty", "huge"])
    func rendered(name: String) throws {
        let profile: Profile = switch name {
        case "sample": RendererTestProfiles.sample
        case "twoProcesses": RendererTestProfiles.twoProcesses
        case "empty": RendererTestProfiles.empty
        default: RendererTestProfiles.huge
        }
        for bytes in [PprofRenderer.render(profile), PprofRenderer.encode(profile)] {
            let summary = try PprofCheck.check(bytes: bytes)
            #expect(summary["ok"] as? Bool == true, "\(summary)")
            #expect(summary["samples"] as? Int == profile.stacks.count)
            #expect(summary["sample_types"] as? [String] == ["samples/count", "wall/nanoseconds"])
            #expect((summary["totals"] as? [Int])?.first == profile.sampleCount)
            let keys = Set((summary["label_keys"] as? [String]) ?? [])
            var expected: Set<String> = []
            if profile.stacks.contains(where: { $0.threadName != nil }) { expected.insert("thread") }
            if profile.stacks.contains(where: { $0.waitReason != nil }) { expected.insert("state") }
            if profile.stacks.contains(where: { $0.process != nil }) { expected.insert("process") }
            #expect(keys == expected)
        }
    }

    @Test("the live /debug/pprof/profile and /debug/fgprof answers parse, as Alloy and Parca scrape them")
    func live() async throws {
        let demo = try DemoProcess(["--pmp", "127.0.0.1:0"])
        defer { demo.stop() }
        let base = try #require(demo.pmpURL)
        for path in ["/debug/pprof/profile?seconds=1", "/debug/fgprof?seconds=1"] {
            let answer = try await HTTPClient.request(base + path, headers: ["User-Agent": "conprof/v0.0.0"])
            #expect(answer.status == 200)
            #expect(answer.headers["content-type"] == "application/octet-stream", "\(answer.headers)")
            let summary = try PprofCheck.check(bytes: Array(answer.body))
            #expect(summary["ok"] as? Bool == true, "\(path): \(summary)")
            #expect((summary["samples"] as? Int ?? 0) > 0)
            #expect(summary["period_type"] as? String == "wall/nanoseconds")
        }
    }
}
