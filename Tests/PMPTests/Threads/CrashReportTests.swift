import Foundation
import PMPTestSupport
import Testing

@Suite("crash reports", .timeLimit(.minutes(3))) struct CrashReportTests {
    @Test("Swift's backtracer suspends and lists every thread of a process with swift-pmp, sampler and dump writer included",
          .disabled(if: Sanitizer.active != nil,
                    "a sanitizer's own fatal-signal handlers stand in front of Swift's backtracer"))
    func backtracerSuspendsOurThreads() throws {
        let demo = try DemoProcess(["--threads", "2", "--busy", "0", "--tasks", "0", "--record", "30s@50Hz",
                                    "--crash-after", "5"],
                                   environment: ["SWIFT_BACKTRACE": "enable=yes,interactive=no,color=no,threads=yes,output-to=stderr,timeout=60s"])
        defer { demo.stop() }
        // One triggered dump first, so that the dump writer's thread exists when the crash comes.
        demo.signal(SIGUSR1)
        _ = try? demo.waitForDumps(1, timeout: 30)
        let deadline = Date().addingTimeInterval(120)
        while demo.isAlive, Date() < deadline { usleep(100_000) }
        let report = demo.stderr
        try #require(!demo.isAlive, "the demo did not crash")
        try #require(report.contains("Crash") || report.contains("crash"), "no crash report:\n\(report.suffix(3000))")
        #expect(!report.contains("failed to suspend"), "\(report.prefix(3000))")
        for name in ["pmp-capture", "pmp-sampler", "pmp-writer", "lock-holder", "crasher"] {
            #expect(report.contains("\"\(name)\""), "\(name) missing from the report")
        }
    }
}
