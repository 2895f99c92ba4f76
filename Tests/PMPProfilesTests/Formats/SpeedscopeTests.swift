import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPTestSupport
import Testing

@Suite("speedscope format") struct SpeedscopeTests {
    static let fixtures = ToolRun.fixtures("speedscope")

    /// Validates files with the fixture schema and python3-jsonschema; returns the validator's run.
    static func validate(_ documents: [String]) throws -> ToolRun {
        var files: [URL] = []
        defer { for file in files { try? FileManager.default.removeItem(at: file) } }
        for document in documents {
            let file = ToolRun.temporaryFile(".speedscope.json")
            try document.write(to: file, atomically: true, encoding: .utf8)
            files.append(file)
        }
        return try ToolRun.run("/usr/bin/env", ["python3", fixtures.appendingPathComponent("validate.py").path]
                               + files.map(\.path))
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// What a profile reads back as: frames keep name, file and line only.
    static func expectedBack(_ profile: Profile, labels: Bool) -> [Profile.Stack] {
        profile.stacks.map { stack in
            Profile.Stack(frames: stack.frames.map { Frame(address: 0, function: $0.function, file: $0.file, line: $0.line, image: "?") },
                          count: stack.count, waitReason: labels ? stack.waitReason : nil,
                          threadName: labels ? stack.threadName : nil, process: stack.process)
        }
    }

    @Test("a weight past Int.max (found by fuzzing): counts saturate, and the flame graph of it renders without overflow")
    func hugeWeight() throws {
        let text = String(decoding: try ReaderFixture.bytes("fuzz/speedscope-huge-weight.json"), as: UTF8.self)
        let profile = try SpeedscopeParser.parse(text)
        #expect(profile.stacks.contains { $0.count == Int.max })
        #expect(profile.sampleCount == Int.max)
        let svg = profile.rendered(as: .svg)
        #expect(String(decoding: svg, as: UTF8.self).contains("</svg>"))
    }

    @Test("files validate against the file-format schema: plain, by state and thread, per process, empty")
    func schema() throws {
        let documents = [
            SpeedscopeRenderer.render(RendererTestProfiles.sample),
            SpeedscopeRenderer.render(RendererTestProfiles.sample, options: RenderOptions(byState: true, byThread: true)),
            SpeedscopeRenderer.render(RendererTestProfiles.twoProcesses, options: RenderOptions(byState: true)),
            SpeedscopeRenderer.render(RendererTestProfiles.empty),
        ]
        let run = try Self.validate(documents)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.components(separatedBy: ": valid\n").count - 1 == documents.count, "\(run.stdout)")
    }

    @Test("the validator rejects what breaks the format")
    func validatorRejects() throws {
        let good = SpeedscopeRenderer.render(RendererTestProfiles.sample)
        let broken = [
            good.replacingOccurrences(of: "\"weights\"", with: "\"weight\""),
            good.replacingOccurrences(of: "\"unit\":\"none\"", with: "\"unit\":\"samples\""),
            good.replacingOccurrences(of: "file-format-schema.json", with: "other-schema.json"),
            good.replacingOccurrences(of: "\"samples\":[[", with: "\"samples\":[[99999,"),
            good.replacingOccurrences(of: "\"weights\":[300,", with: "\"weights\":[300,1,"),
        ]
        for document in broken { #expect(document != good, "the test edit applied") }
        let run = try Self.validate(broken)
        #expect(run.status == 1)
        #expect(run.stdout.components(separatedBy: ": invalid\n").count - 1 == broken.count, "\(run.stdout)")
    }

    @Test("one sampled profile: samples root first, weighted by counts, frames shared and unique")
    func structure() throws {
        let profile = RendererTestProfiles.sample
        let document = try Self.json(SpeedscopeRenderer.render(profile, options: RenderOptions(title: "my <title>")))
        #expect(document["$schema"] as? String == "https://www.speedscope.app/file-format-schema.json")
        #expect(document["name"] as? String == "my <title>")
        let frames = try #require((document["shared"] as? [String: Any])?["frames"] as? [[String: Any]])
        let keys = frames.map { "\($0["name"] ?? "")|\($0["file"] ?? "")|\($0["line"] ?? "")" }
        #expect(Set(keys).count == frames.count, "each frame once")
        let profiles = try #require(document["profiles"] as? [[String: Any]])
        #expect(profiles.count == 1)
        let sampled = profiles[0]
        #expect(sampled["type"] as? String == "sampled")
        #expect(sampled["unit"] as? String == "none")
        #expect(sampled["name"] as? String == "my <title>")
        #expect(sampled["weights"] as? [Int] == profile.stacks.map(\.count))
        #expect(sampled["endValue"] as? Int == profile.sampleCount)
        let samples = try #require(sampled["samples"] as? [[Int]])
        for (sample, stack) in zip(samples, profile.stacks) {
            #expect(sample.map { frames[$0]["name"] as? String } == stack.frames.reversed().map(\.function))
        }
        let main = try #require(frames.first { $0["name"] as? String == "main" })
        #expect(main["file"] as? String == "/src/App/main.swift" && main["line"] as? Int == 7)
    }

    @Test("byThread and byState add {thread} and [state] root frames; processes get profiles of their own")
    func labels() throws {
        let profile = RendererTestProfiles.twoProcesses
        let document = try Self.json(SpeedscopeRenderer.render(profile, options: RenderOptions(byState: true, byThread: true)))
        let frames = try #require((document["shared"] as? [String: Any])?["frames"] as? [[String: Any]])
        let profiles = try #require(document["profiles"] as? [[String: Any]])
        #expect(profiles.compactMap { $0["name"] as? String } == ["process 100", "process 200"])
        let first = try #require((profiles[0]["samples"] as? [[Int]])?.first)
        #expect(first.prefix(3).map { frames[$0]["name"] as? String } == ["{worker-#}", "[condition wait]", "main"])
        #expect(profiles.map { $0["endValue"] as? Int } == ["100", "200"].map { process in
            profile.stacks.filter { $0.process == process }.reduce(0) { $0 + $1.count }
        })
    }

    @Test("render then parse gives the stacks back: names, files, lines, counts, states, threads, processes")
    func roundTrip() throws {
        let labelled = RenderOptions(byState: true, byThread: true)
        for profile in [RendererTestProfiles.sample, RendererTestProfiles.twoProcesses] {
            #expect(try SpeedscopeParser.parse(SpeedscopeRenderer.render(profile)).stacks
                    == Self.expectedBack(profile, labels: false))
            #expect(try SpeedscopeParser.parse(SpeedscopeRenderer.render(profile, options: labelled)).stacks
                    == Self.expectedBack(profile, labels: true))
        }
        #expect(try SpeedscopeParser.parse(SpeedscopeRenderer.render(RendererTestProfiles.empty)).stacks.isEmpty)
    }

    @Test("an evented file written by hand reads as time per stack")
    func evented() throws {
        let text = try String(contentsOf: Self.fixtures.appendingPathComponent("evented.speedscope.json"), encoding: .utf8)
        let profile = try SpeedscopeParser.parse(text)
        let stacks = profile.stacks.map { ($0.frames.map(\.function).joined(separator: "<"), $0.count) }
        // main alone 0–2, 10–12, 19–20; main>work 2–5, 9–10; main>work>wait 5–9; main>wait 12–19.
        #expect(stacks.map(\.0) == ["wait<main", "main", "work<main", "wait<work<main"])
        #expect(stacks.map(\.1) == [7, 5, 4, 4])
        #expect(profile.stacks.first?.frames.last == Frame(address: 0, function: "main", file: "main.c", line: 3, image: "?"))
    }

    @Test("what is not a speedscope file gives an error")
    func hostileInput() throws {
        let good = SpeedscopeRenderer.render(RendererTestProfiles.sample)
        for text in ["", "{", "[]", "{\"$schema\": 1}", String(good.prefix(good.count / 2)),
                     good.replacingOccurrences(of: "file-format-schema.json", with: "x.json"),
                     good.replacingOccurrences(of: "\"samples\":[[", with: "\"samples\":[[99999,"),
                     good.replacingOccurrences(of: "\"weights\":[300,", with: "\"weights\":[300,1,"),
                     good.replacingOccurrences(of: "\"sampled\"", with: "\"unknown\"")] {
            #expect(throws: SpeedscopeParser.Failure.self) { try SpeedscopeParser.parse(text) }
        }
    }

    @Test("20 000 distinct stacks 200 deep render, validate and read back")
    func huge() throws {
        let profile = RendererTestProfiles.huge
        let clock = ContinuousClock()
        var text = ""
        let renderTime = clock.measure { text = SpeedscopeRenderer.render(profile, options: RenderOptions(byState: true)) }
        var parsed = Profile(stacks: [])
        let parseTime = try clock.measure { parsed = try SpeedscopeParser.parse(text) }
        print("speedscope: \(profile.stacks.count) stacks rendered in \(renderTime) to \(text.utf8.count) bytes, parsed in \(parseTime)")
        #expect(renderTime < .seconds(60))
        #expect(parsed.sampleCount == profile.sampleCount)
        #expect(parsed.stacks.count == profile.stacks.count)
        // Compared apart from #expect, whose message would print both sets of 4 million names.
        let same = Set(parsed.stacks.map { $0.frames.map(\.function) }) == Set(profile.stacks.map { $0.frames.map(\.function) })
        #expect(same, "the same stacks come back")
        let run = try Self.validate([text])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
    }
}
