import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PMPTestSupport
import Testing

/// `pmp top` on a real terminal (tmux) against two live `pmp-demo` services and endpoints that fail, and
/// `pmp top --once` over fifty endpoints.
@Suite("pmp top", .serialized, .timeLimit(.minutes(3))) struct TopCommandTests {
    /// A pane command that runs `pmp top`, then writes its exit status and the terminal's settings to files
    /// (tmux ends the session when the command ends).
    struct PaneCommand {
        let directory = NSTemporaryDirectory() + "pmp-top-\(UUID().uuidString)"
        var statusPath: String { directory + "/status" }
        var settingsPath: String { directory + "/stty" }

        init() throws {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }

        func command(_ arguments: [String]) -> String {
            let quoted = ([PMPTool.executable] + arguments).map { "'\($0)'" }.joined(separator: " ")
            // tmux runs it with the shell; the session ends when it does.
            return "PMP_TOKEN= \(quoted); echo $? > \(statusPath); stty -a > \(settingsPath)"
        }

        func exitStatus(timeout: Double = 10) async throws -> Int32 {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if let text = try? String(contentsOfFile: statusPath, encoding: .utf8), text.hasSuffix("\n"),
                   let status = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                    return status
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            throw TestFailure("pmp top did not exit")
        }

        /// The terminal's settings after pmp top ended: canonical input and echo are back.
        func terminalRestored() async throws -> Bool {
            let deadline = Date().addingTimeInterval(5)
            while Date() < deadline {
                if let settings = try? String(contentsOfFile: settingsPath, encoding: .utf8), settings.contains("speed") {
                    let words = Set(settings.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == ";" }).map(String.init))
                    return words.contains("icanon") && words.contains("echo") && words.contains("isig")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            return false
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    @Test("rows from both endpoints, the dead one marked, blocked stacks; k cancels a request; p pauses; q quits with 0")
    func interactive() async throws {
        let fleet = try DemoFleet()
        let (first, second) = (try fleet.endpoint(0), try fleet.endpoint(1))
        let deadPort = try DeadEndpoints.refusingPort()
        let answers = [try fleet.slowRequest(on: 0, requestID: "top-a"), try fleet.slowRequest(on: 1, requestID: "top-b"),
                       try fleet.slowRequest(on: 1, requestID: "top-c")]
        let victim = try await fleet.processID(requestID: "top-b", on: 1)
        _ = try await fleet.processID(requestID: "top-a", on: 0)
        _ = try await fleet.processID(requestID: "top-c", on: 1)

        let pane = try PaneCommand()
        defer { pane.remove() }
        let tmux = try Tmux(command: pane.command(["top", "--endpoints", "\(first),\(second),127.0.0.1:\(deadPort)",
                                                   "--refresh", "300ms", "--connect-timeout", "0.5"]))
        let screen = try await tmux.waitForScreen("rows of both endpoints") { screen in
            ["top-a", "top-b", "top-c"].allSatisfy(screen.contains) && screen.contains("BLOCKED THREADS")
                && screen.contains("condition wait")
        }
        let lines = screen.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0].hasPrefix("pmp top · 3 endpoints: 2 up, 1 failing · 3 in flight"), "title: \(lines[0])")
        #expect(screen.contains("✗ 127.0.0.1:\(deadPort) unreachable: cannot connect to 127.0.0.1:\(deadPort): connection refused"))
        let header = try #require(lines.first { $0.hasPrefix("HOST") })
        for column in ["ID", "AGE", "STATUS", "IN STATUS", "method", "uri", "request-id"] {
            #expect(header.contains(column), "column \(column) in \(header)")
        }
        let rowB = try #require(lines.first { $0.contains("top-b") })
        #expect(rowB.hasPrefix(second) && rowB.contains(victim) && rowB.contains("/work?ms=30000"), "row: \(rowB)")
        #expect(lines.first { $0.contains("top-a") }?.hasPrefix(first) == true)
        #expect(lines.allSatisfy { $0.count <= 200 })

        // k, the id, Enter, the message, Enter: the request is cancelled with that message.
        try tmux.send(keys: "k")
        try await tmux.waitForScreen("the id prompt") { $0.contains("cancel which request?") }
        try tmux.type(victim)
        try tmux.send(keys: "Enter")
        try await tmux.waitForScreen("the message prompt") { $0.contains("cancel \(victim) on \(second): message") }
        try tmux.type("stuck in top")
        try tmux.send(keys: "Enter")
        try await tmux.waitForScreen("the outcome") { $0.contains("cancelled \(victim) on \(second)") }
        let cancelled = try await answers[1].value
        #expect(cancelled.status == 503)
        #expect(cancelled.text == "cancelled: stuck in top\n")
        try await tmux.waitForScreen("the cancelled row gone") { !$0.contains("top-b") && $0.contains("top-c") }

        // An unknown id is refused on the status line, nothing is sent.
        try tmux.send(keys: "k")
        try tmux.type("no-such-id")
        try tmux.send(keys: "Enter")
        try await tmux.waitForScreen("the refusal") { $0.contains("no request no-such-id is in flight") }

        // p pauses: the title says so and the screen stops changing; p again resumes.
        try tmux.send(keys: "p")
        let paused = try await tmux.waitForScreen("PAUSED") { $0.contains("PAUSED") }
        try await Task.sleep(for: .milliseconds(1200))
        #expect(try tmux.capture() == paused, "a paused screen does not change")
        try tmux.send(keys: "p")
        try await tmux.waitForScreen("resumed") { !$0.contains("PAUSED") }

        // s sorts by the next column, r reverses it.
        try tmux.send(keys: "s")
        try await tmux.waitForScreen("sorted by STATUS") { $0.contains("sort STATUS ↑") && $0.contains("STATUS ↑") }
        try tmux.send(keys: "1")
        try await tmux.waitForScreen("sorted by HOST") { $0.contains("sort HOST ↑") }
        try tmux.send(keys: "r")
        try await tmux.waitForScreen("sorted by HOST, reversed") { screen in
            guard screen.contains("sort HOST ↓") else { return false }
            let rows = screen.split(separator: "\n").filter { $0.contains("top-a") || $0.contains("top-c") }
            return rows.count == 2 && rows[0].hasPrefix(max(first, second)) && rows[1].hasPrefix(min(first, second))
        }

        // A narrower terminal: redrawn to fit, the columns that do not fit left out.
        try tmux.resize(width: 90, height: 30)
        let narrow = try await tmux.waitForScreen("redrawn at 90 columns") { $0.contains(" hidden") && $0.contains("sort HOST ↓") }
        #expect(narrow.split(separator: "\n").allSatisfy { $0.count <= 90 }, "\(narrow)")

        try tmux.send(keys: "q")
        #expect(try await pane.exitStatus() == 0)
        #expect(try await pane.terminalRestored(), "raw mode undone")
        answers.forEach { $0.cancel() }
    }

    @Test("SIGTERM: pmp top restores the terminal and exits 143")
    func terminated() async throws {
        let fleet = try DemoFleet(count: 1)
        let pane = try PaneCommand()
        defer { pane.remove() }
        let tmux = try Tmux(command: pane.command(["top", "--endpoints", try fleet.endpoint(0)]), width: 120, height: 30)
        try await tmux.waitForScreen("the first frame") { $0.contains("1 up") }
        let pid = try #require(Tmux.children(of: tmux.panePID).first, "pmp is the pane shell's child")
        #expect(kill(pid, SIGTERM) == 0)
        #expect(try await pane.exitStatus() == 128 + SIGTERM)
        #expect(try await pane.terminalRestored(), "raw mode undone after SIGTERM")
    }

    @Test("--tasks: each request's row says where its Swift task is waiting (WAITING IN)")
    func waitingInColumn() async throws {
        let fleet = try DemoFleet()
        let answer = try fleet.slowRequest(on: 0, requestID: "tasked-1", milliseconds: 20_000)
        defer { answer.cancel() }
        _ = try await fleet.processID(requestID: "tasked-1", on: 0)
        let endpoint = try fleet.endpoint(0)
        let run = try PMPTool.run(["top", "--once", "--tasks", "--no-stacks", "--endpoints", endpoint],
                                  environment: ["COLUMNS": "250"])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.contains("WAITING IN") }, "\(run.stdout)")
        let row = try #require(lines.first { $0.contains("tasked-1") }, "\(run.stdout)")
        #expect(row.contains("sleeping: "), "\(row)")
        // Without --tasks the column is not there (and no task capture is asked for).
        let plain = try PMPTool.run(["top", "--once", "--no-stacks", "--endpoints", endpoint], environment: ["COLUMNS": "250"])
        #expect(!plain.stdout.contains("WAITING IN"))
    }

    @Test("--once over 50 endpoints (2 live, 40 refusing, 8 that never answer) takes about one timeout, not 50")
    func fiftyEndpoints() async throws {
        let fleet = try DemoFleet()
        let answer = try fleet.slowRequest(on: 1, requestID: "fleet-1", milliseconds: 20_000)
        _ = try await fleet.processID(requestID: "fleet-1", on: 1)
        let silent = try (0..<8).map { _ in try DeadEndpoints.Listener() }
        var endpoints = [try fleet.endpoint(0)]
        for _ in 0..<40 { endpoints.append("127.0.0.1:\(try DeadEndpoints.refusingPort())") }
        endpoints += silent.map { "127.0.0.1:\($0.port)" }
        endpoints.append(try fleet.endpoint(1))
        #expect(endpoints.count == 50)

        let started = Date()
        let run = try PMPTool.run(["top", "--once", "--endpoints", endpoints.joined(separator: ","), "--timeout", "1",
                                   "--connect-timeout", "0.5"], environment: ["COLUMNS": "160"])
        let elapsed = Date().timeIntervalSince(started)
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.contains("50 endpoints: 2 up, 48 failing") == true, "title: \(lines.first ?? "")")
        #expect(lines.filter { $0.contains("unreachable: cannot connect to") && $0.contains("connection refused") }.count == 40)
        #expect(lines.filter { $0.contains("unreachable: no complete answer within 1 s") }.count == 8, "\(run.stdout)")
        #expect(lines.contains { $0.hasPrefix(try! fleet.endpoint(1)) && $0.contains("fleet-1") })
        #expect(lines.allSatisfy { $0.count <= 160 })
        // Eight silent endpoints one after another would take 8 s; side by side, about one timeout.
        #expect(elapsed < 4, "took \(elapsed) s")
        answer.cancel()
        withExtendedLifetime(silent) {}
    }
}
