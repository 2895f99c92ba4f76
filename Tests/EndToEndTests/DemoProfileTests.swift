import Foundation
import PMP
import PMPTestSupport
import Testing

/// The trigger in profile mode: SIGUSR1 makes pmp-demo sample for a window and log the blocking profile.
@Suite("pmp-demo profiles", .timeLimit(.minutes(2))) struct DemoProfileTests {
    /// Waits until stderr holds `count` complete text profiles (each ends with a blank line after its last
    /// frame; the next header or the quiet period closes it).
    private func waitForProfiles(_ demo: DemoProcess, count: Int, timeout: Double = 30) throws -> [Profile] {
        let deadline = Date().addingTimeInterval(timeout)
        var lastSeen = -1
        var stableSince = Date()
        while Date() < deadline {
            let text = demo.stderr
            let seen = text.components(separatedBy: "# swift-pmp profile:").count - 1
            if seen != lastSeen { lastSeen = seen; stableSince = Date() }
            if seen >= count, Date().timeIntervalSince(stableSince) > 0.5 {
                return try text.components(separatedBy: "# swift-pmp profile:").dropFirst().map {
                    try ProfileTextParser.parse("# swift-pmp profile:" + $0)
                }
            }
            usleep(50_000)
        }
        throw DemoError.timeout("waiting for \(count) profile(s); stderr:\n\(demo.stderr.suffix(2000))")
    }

    @Test("SIGUSR1 with PMP_TRIGGER_PROFILE writes a folded profile with every worker, counted per capture")
    func profileOnSignal() throws {
        let threads = 9
        let demo = try DemoProcess(["--threads", "\(threads)", "--busy", "1"],
                                   environment: ["PMP_TRIGGER_PROFILE": "0.5s@40Hz"])
        defer { demo.stop() }
        demo.signal(SIGUSR1)
        let profiles = try waitForProfiles(demo, count: 1)
        let profile = try #require(profiles.first)
        #expect(profile.requestedRate == 40)
        #expect(profile.captures > 5)

        // 8 blocking workers round-robin over condition, mutex, sleep, read: 2 in a condition wait.
        let condition = profile.stacks.filter { $0.frames.contains { $0.function.contains("blockedInConditionWait") } }
        #expect(condition.count == 1, "both condition workers fold into one stack")
        #expect(condition.first?.waitReason == .conditionWait)
        #expect(condition.first?.threadName == "cond-#")
        // Counted at every capture, less the samples of a thread that did not answer in time (a loaded machine).
        let conditionCount = condition.first?.count ?? 0
        #expect(conditionCount <= 2 * profile.captures)
        #expect(conditionCount + profile.unansweredSamples >= 2 * profile.captures)
        let reads = profile.stacks.filter { $0.frames.contains { $0.function.contains("blockedInPipeRead") } }
        #expect(reads.first?.waitReason == .read)
        let spinning = profile.stacks.filter { $0.frames.contains { $0.function.contains("spinningOnCPU") } }
        let spun = spinning.reduce(0) { $0 + $1.count }
        #expect(spun <= profile.captures && spun + profile.unansweredSamples >= profile.captures,
                "the busy worker is sampled every capture it answers: \(spun) of \(profile.captures)")
        #expect(demo.isAlive)
    }

    @Test("signals during a profile window fold into it: no backlog of profiles")
    func signalsCoalesce() throws {
        let demo = try DemoProcess(["--threads", "4"], environment: ["PMP_TRIGGER_PROFILE": "1s@20Hz"])
        defer { demo.stop() }
        for _ in 0..<20 {
            demo.signal(SIGUSR1)
            usleep(10_000)
        }
        let profiles = try waitForProfiles(demo, count: 1)
        usleep(1_500_000)
        let text = demo.stderr
        let count = text.components(separatedBy: "# swift-pmp profile:").count - 1
        #expect(profiles.count >= 1)
        #expect(count <= 2, "20 signals within one window gave \(count) profiles")
        #expect(demo.isAlive)
    }
}
