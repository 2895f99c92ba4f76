@testable import PMP
@testable import PMPProfiles
import PMPTestSupport
import Testing

/// The text, folded and JSON renderings of a profile, each read back by its parser.
@Suite("text, folded and JSON formats") struct ProfileTextFormatsTests {
    static let profile: Profile = {
        let leaf = Frame(address: 0x10, function: "pthread_cond_wait", image: "libc.so.6")
        let worker = Frame(address: 0x2000, function: "Worker.run()", fullFunction: "App.Worker.run() -> ()",
                           file: "/src/Worker.swift", line: 42, image: "app")
        let main = Frame(address: 0x3000, function: "main", file: "/src/main.swift", line: 3, image: "app")
        var profile = Profile(stacks: [
            Profile.Stack(frames: [leaf, worker, main], count: 7, waitReason: .conditionWait, threadName: "worker-#"),
            Profile.Stack(frames: [worker, main], count: 2, waitReason: .running, threadName: "main"),
            Profile.Stack(frames: [main], count: 1),
        ], startTime: 1_764_000_000.25, duration: 2.5, captures: 10)
        profile.requestedRate = 4
        profile.achievedRate = 4
        return profile
    }()

    @Test("JSON reads back to the same profile, frames, counts, labels and times")
    func json() throws {
        #expect(try ProfileJSON.parse(ProfileJSON.render(Self.profile)) == Self.profile)
        #expect(try ProfileJSON.parse(ProfileJSON.render(Self.profile, prettyPrinted: true)) == Self.profile)
    }

    @Test("text reads back with the same stacks, counts, wait reasons and thread names, leaf or root first")
    func text() throws {
        for rootFirst in [false, true] {
            let text = ProfileTextRenderer.render(Self.profile, options: RenderOptions(rootFirst: rootFirst))
            let read = try ProfileTextParser.parse(text)
            #expect(read.stacks.map(\.count) == [7, 2, 1])
            #expect(read.stacks.map { $0.frames.map(\.function) } == Self.profile.stacks.map { $0.frames.map(\.function) })
            #expect(read.stacks.map(\.waitReason) == Self.profile.stacks.map(\.waitReason))
            #expect(read.stacks.map(\.threadName) == Self.profile.stacks.map(\.threadName))
            #expect(read.captures == 10)
        }
    }

    @Test("folded: root first, one line per stack, read back to the same counts; rendering it again is identical")
    func folded() throws {
        let text = FoldedRenderer.render(Self.profile, options: RenderOptions(byState: true, byThread: true))
        let lines = text.split(separator: "\n")
        #expect(lines.count == 3, "\(text)")
        #expect(lines.allSatisfy { $0.contains("main") })
        #expect(lines.first.map { $0.range(of: "main")!.lowerBound < $0.range(of: "pthread_cond_wait")!.lowerBound } == true)
        let read = try FoldedParser.parse(text)
        #expect(read.sampleCount == 10)
        #expect(FoldedRenderer.render(read, options: RenderOptions(byState: true, byThread: true)) == text)
    }
}
