import Foundation
import PMPTestSupport
import Testing

/// `pmp-lifecycle-demo`, a real process: a ServiceGroup with the PMP server, the trigger and a traced worker,
/// stopped by a real SIGTERM.
@Suite("pmp-lifecycle-demo", .serialized) struct LifecycleDemoTests {
    @Test("it serves /stacks and its spans in /procs; SIGTERM stops it gracefully, in-flight work cut at the grace period, exit 0")
    func sigtermStopsGracefully() async throws {
        let demo = try DemoProcess(["--grace", "1"], executableName: "pmp-lifecycle-demo")
        defer { demo.stop() }
        let base = try #require(demo.pmpURL)

        let stacks = try await HTTPClient.get(base + "/stacks")
        #expect(stacks.status == 200)
        #expect(stacks.text.contains("pmp-http"), "the dump lists the server's own thread")

        // The worker's spans: one for the whole run, a child for each tick.
        var procs: [[String: Any]] = []
        for _ in 0..<300 {
            procs = try await Self.procs(base)
            if procs.contains(where: { Self.operation($0) == "tick" }) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let ticker = try #require(procs.first { Self.operation($0) == "ticker" })
        let tick = try #require(procs.first { Self.operation($0) == "tick" })
        #expect(tick["parent"] as? String == ticker["id"] as? String)
        #expect(["init", "sleeping"].contains(tick["status"] as? String ?? ""), "its event is its status")

        // A profile longer than the grace period is in flight when SIGTERM comes.
        let port = try #require(URLComponents(string: base)?.port)
        let connection = try RawConnection(port: port)
        try connection.send("GET /profile?seconds=60&hz=20 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        try await waitUntil(seconds: 30) { Self.threadNames(of: demo.pid).contains("pmp-sampler") }

        demo.signal(SIGTERM)
        let status = demo.waitForExit(timeout: 60)
        #expect(status == 0, "stderr:\n\(demo.stderr)")
        #expect(connection.readUntilClosed(timeout: 10).closed)
        let log = demo.stderr
        for line in ["pmp server listening", "pmp trigger installed", "pmp server stopping gracefully",
                     "ticker stopped", "pmp server stopped", "pmp-lifecycle-demo exiting"] {
            #expect(log.contains(line), "\(line) missing from:\n\(log)")
        }
        // The profile's connection at least (a client's keep-alive connection may be mid-answer too).
        let cut = log.firstMatch(of: /connections-cut=(\d+)/).flatMap { Int($0.1) } ?? 0
        #expect(cut >= 1, "the profile was cut:\n\(log)")
        let order = ["ticker stopped", "pmp server stopping gracefully", "pmp server stopped"].compactMap {
            log.range(of: $0)?.lowerBound
        }
        #expect(order == order.sorted(), "the group stops the worker first and the profiler's server last:\n\(log)")
    }

    static func procs(_ base: String) async throws -> [[String: Any]] {
        try await HTTPClient.get(base + "/procs").json()["procs"] as? [[String: Any]] ?? []
    }

    static func operation(_ proc: [String: Any]) -> String? {
        (proc["attrs"] as? [[String: Any]])?.first { $0["name"] as? String == "operation" }?["value"] as? String
    }

    static func threadNames(of pid: Int32) -> Set<String> {
        let directory = "/proc/\(pid)/task"
        let tids = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return Set(tids.compactMap { try? String(contentsOfFile: "\(directory)/\($0)/comm", encoding: .utf8) }
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
    }
}
