import Foundation
@testable import PMPClient
@testable import PMPCommands
import PMPTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `pmp` against endpoints that answer as an attacker or a broken server would: lengths that are negative,
/// huge or not numbers, answers that never end (fast, or a byte at a time), and escape sequences in every name.
/// One bad endpoint is an error for that endpoint only; the deadline holds however the bytes come; memory
/// stays bounded; nothing a terminal acts on reaches standard output.
@Suite("pmp against hostile endpoints", .serialized, .timeLimit(.minutes(3)))
struct HostileEndpointTests {
    // MARK: - Payloads

    /// Escape sequences, a C1 CSI (U+009B) and a bidi override in every string of a /procs answer.
    static let hostileProcs = #"""
        {"serverTime":"2026-01-01T00:00:10Z","procs":[{"id":"\u001b]0;owned\u0007esc-id","procTime":"2026-01-01T00:00:00Z",
        "statusTime":"2026-01-01T00:00:05Z","status":"\u001b[2J\u009b31mwiped\u202e","cancelling":false,
        "attrs":[{"name":"\u001b[31mred","value":"\u001b[5mblink\u009b"}]}]}
        """#

    static let hostileGroups = #"""
        {"groups":[{"count":3,"waitReason":"mutex lock\u001b[8m","threads":[{"blockedFor":2.5}],
        "frames":[{"function":"\u001b]2;title\u0007evil_function\u009b1m","image":"libevil.so"}]}]}
        """#

    /// A text dump with raw ESC, raw C1 (UTF-8 C2 9B) and a lone 0x9B byte.
    static var hostileDump: [UInt8] {
        Array("pid 1 threads 1\nthread 7 \"\u{1B}]0;owned\u{07}name\" mutex lock\n  #0 evil\u{1B}[2J".utf8)
            + [0xC2, 0x9B] + Array("31m\n  #1 next".utf8) + [0x9B] + Array("2J\n".utf8)
    }

    static func chunkedMinusOne() -> HostileEndpoint.Answer {
        HostileEndpoint.raw("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n{}\r\n0\r\n\r\n")
    }

    static func hugeLength() -> HostileEndpoint.Answer {
        HostileEndpoint.raw("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 99999999999999\r\n\r\n{\"procs\":[")
    }

    /// An answer without a length that never ends, as fast as the client reads.
    static func flood() -> HostileEndpoint.Answer {
        .endless(head: Array("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n".utf8),
                 piece: [UInt8](repeating: UInt8(ascii: "x"), count: 64 * 1024), interval: 0)
    }

    /// A chunked answer of one byte every 50 ms, forever.
    static func trickle() -> HostileEndpoint.Answer {
        .endless(head: Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".utf8),
                 piece: Array("1\r\n \r\n".utf8), interval: 0.05)
    }

    static func json(_ text: String) -> HostileEndpoint.Answer {
        HostileEndpoint.answer(contentType: "application/json", text: text)
    }

    // MARK: - The response reader

    @Test("lengths that are negative, signed, too long or not numbers are errors, never a crash")
    func lengths() {
        for size in ["-1", "+5", "0x5", "5 5", "-0", "fffffffffffffffff", "1e3", "٣"] {
            #expect(throws: HTTPClientError.self, "chunk size \(size)") {
                try HTTPClientTests.read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\(size)\r\nhello\r\n0\r\n\r\n")
            }
        }
        for length in ["-1", "+5", "99999999999999999999", "5 5", "0x5", "1e3", ""] {
            #expect(throws: HTTPClientError.self, "Content-Length \(length)") {
                try HTTPClientTests.read("HTTP/1.1 200 OK\r\nContent-Length: \(length)\r\n\r\nhello")
            }
        }
        #expect(HTTPResponseReader<HTTPClientTests.PiecewiseSource>.number("7fffffffffffffff", radix: 16) == nil)
        #expect(HTTPResponseReader<HTTPClientTests.PiecewiseSource>.number("1A", radix: 16) == 26)
        #expect(HTTPResponseReader<HTTPClientTests.PiecewiseSource>.number("000", radix: 10) == 0)
    }

    @Test("the timeout is for the whole exchange, even while bytes keep coming as fast as they are read")
    func deadlineWhileFlooded() async throws {
        let flood = try HostileEndpoint { _ in Self.flood() }
        defer { flood.stop() }
        // A limit far above what a second brings, so that only the deadline can end the exchange.
        let client = PMPClient.HTTPClient(connectTimeout: .seconds(2), timeout: .milliseconds(800), maxBodyBytes: 1 << 30)
        let endpoint = try Endpoint.parse(flood.hostPort)
        let started = Date()
        let outcome = await Task.detached { () -> Result<Int, HTTPClientError> in
            do throws(HTTPClientError) {
                return .success(try client.get("/stacks", from: endpoint).body.count)
            } catch {
                return .failure(error)
            }
        }.value
        #expect(throws: HTTPClientError.timedOut(flood.hostPort, after: .milliseconds(800))) { try outcome.get() }
        // An upper bound only: the point is that it ends.
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test("escaping: C0, DEL, C1 and bidi controls; tabs and line breaks kept only where lines are")
    func escaping() {
        #expect(TerminalText.escaped("a\u{1B}[2Jb\u{9B}c\u{7F}\u{202E}d\te\nf") == "a\\u001b[2Jb\\u009bc\\u007f\\u202ed\\te\\nf")
        #expect(TerminalText.escaped("a\u{1B}b\tc\nd\re", keepingLineBreaks: true) == "a\\u001bb\tc\nd\\re")
        #expect(TerminalText.escaped("plain ü ě 日本") == "plain ü ě 日本")
        let twice = TerminalText.escaped(TerminalText.escaped("\u{1B}x"))
        #expect(twice == TerminalText.escaped("\u{1B}x"))
        #expect(TerminalText.escaped(bytes: [0x41, 0x9B, 0x42, 0x1B]) == Array("A\u{FFFD}B\\u001b".utf8))
    }

    // MARK: - The commands

    @Test("pmp top --once: one healthy endpoint among hostile ones keeps its rows; each bad one is marked; bounded")
    func topAmongHostileEndpoints() async throws {
        let fleet = try DemoFleet(count: 1)
        defer { fleet.stop() }
        let slow = try fleet.slowRequest(on: 0, requestID: "healthy-req-1")
        defer { slow.cancel() }
        _ = try await fleet.processID(requestID: "healthy-req-1", on: 0)

        let minusOne = try HostileEndpoint { _ in Self.chunkedMinusOne() }
        let huge = try HostileEndpoint { _ in Self.hugeLength() }
        let flood = try HostileEndpoint { _ in Self.flood() }
        let trickle = try HostileEndpoint { _ in Self.trickle() }
        let escapes = try HostileEndpoint { request in
            request.target.hasPrefix("/stacks") ? Self.json(Self.hostileGroups) : Self.json(Self.hostileProcs)
        }
        let hostile = [minusOne, huge, flood, trickle, escapes]
        defer { hostile.forEach { $0.stop() } }

        let endpoints = [try fleet.endpoint(0)] + hostile.map(\.hostPort)
        let run = try ChildRun.run(PMPTool.executable, ["top", "--once", "--endpoints", endpoints.joined(separator: ","),
                                                        "--timeout", "2", "--connect-timeout", "1"],
                                   environment: ["PMP_TOKEN": "", "COLUMNS": "300"], timeout: 60)
        let output = run.stdoutText
        #expect(run.status == 0, "exit \(run.status): \(run.stderr)\n\(output)")
        #expect(output.contains("healthy-req-1"), "the healthy endpoint's rows: \(output)")
        for endpoint in [minusOne, huge, flood, trickle] {
            #expect(output.contains("✗ \(endpoint.hostPort) "), "\(endpoint.hostPort) marked: \(output)")
        }
        #expect(output.contains("\(minusOne.hostPort) unreachable: not an HTTP answer: a chunk size line"), "\(output)")
        #expect(output.contains("\(huge.hostPort) unreachable: the answer is larger than 16 MB"), "\(output)")
        #expect(output.contains("\(trickle.hostPort) unreachable: no complete answer within 2 s"), "\(output)")
        // The hostile names are shown, escaped.
        #expect(output.contains("\\u001b]0;owned\\u0007esc"), "\(output)")
        #expect(output.contains("evil_function"), "\(output)")
        #expect(!run.stdout.contains(0x1B) && !run.stdout.contains(0x9B), "terminal controls in the output: \(output)")
        #expect(!output.unicodeScalars.contains { $0.value == 0x202E })
        // Generous bounds, for "it ends" and "it does not grow with what the endpoints send".
        #expect(run.seconds < 30, "took \(run.seconds) s")
        if Sanitizer.boundsMemory("pmp top's peak RSS") {
            #expect(run.peakResidentKilobytes < 300_000, "peak RSS \(run.peakResidentKilobytes) KB")
        }
        print("pmp top --once among 5 hostile endpoints: \(run.seconds) s, peak RSS \(run.peakResidentKilobytes) KB")
    }

    @Test("pmp dump: a chunk size of -1, a flood, a trickle and escape sequences are errors or escaped text; bounded")
    func dumpAgainstHostileEndpoints() throws {
        let minusOne = try HostileEndpoint { _ in Self.chunkedMinusOne() }
        let flood = try HostileEndpoint { _ in Self.flood() }
        let trickle = try HostileEndpoint { _ in Self.trickle() }
        let escapes = try HostileEndpoint { _ in
            HostileEndpoint.answer(contentType: "text/plain; charset=utf-8", body: Self.hostileDump)
        }
        let refusing = try HostileEndpoint { _ in
            HostileEndpoint.answer(status: "500 Internal Server Error", contentType: "application/json",
                                   text: #"{"error":"\u001b[2Jwiped\u009b"}"#)
        }
        defer { [minusOne, flood, trickle, escapes, refusing].forEach { $0.stop() } }

        func dump(_ endpoint: HostileEndpoint) throws -> ChildRun {
            try ChildRun.run(PMPTool.executable, ["dump", endpoint.hostPort, "--timeout", "2"],
                             environment: ["PMP_TOKEN": ""], timeout: 60)
        }

        let brokenChunk = try dump(minusOne)
        #expect(brokenChunk.status == 1, "exit \(brokenChunk.status): \(brokenChunk.stderr)")
        #expect(brokenChunk.stderr.contains("not an HTTP answer: a chunk size line \"-1\""), "\(brokenChunk.stderr)")

        let flooded = try dump(flood)
        #expect(flooded.status == 1, "exit \(flooded.status): \(flooded.stderr)")
        #expect(flooded.stderr.contains("the answer is larger than 64 MB")
                || flooded.stderr.contains("no complete answer within 2 s"), "\(flooded.stderr)")
        if Sanitizer.boundsMemory("pmp dump's peak RSS") {
            #expect(flooded.peakResidentKilobytes < 400_000, "peak RSS \(flooded.peakResidentKilobytes) KB")
        }
        #expect(flooded.seconds < 20, "took \(flooded.seconds) s")

        let trickled = try dump(trickle)
        #expect(trickled.status == 1 && trickled.stderr.contains("no complete answer within 2 s"), "\(trickled.stderr)")
        #expect(trickled.seconds < 20, "took \(trickled.seconds) s")

        let escaped = try dump(escapes)
        #expect(escaped.status == 0, "exit \(escaped.status): \(escaped.stderr)")
        #expect(escaped.stdoutText.contains("\\u001b]0;owned\\u0007name"), "\(escaped.stdoutText)")
        #expect(escaped.stdoutText.contains("  #1 next\u{FFFD}2J\n"), "\(escaped.stdoutText)")
        #expect(!escaped.stdout.contains(0x1B) && !escaped.stdout.contains(0x9B), "\(escaped.stdoutText)")

        let refused = try dump(refusing)
        #expect(refused.status == 1 && refused.stderr.contains("answered 500: \\u001b[2Jwiped\\u009b"), "\(refused.stderr)")
        #expect(!Array(refused.stderr.utf8).contains(0x1B) && !Array(refused.stderr.utf8).contains(0x9B))
        print("pmp dump of an endless answer: \(flooded.seconds) s, peak RSS \(flooded.peakResidentKilobytes) KB")
    }
}

/// A child process run to its end with its output in files, and what the kernel counted for it (`wait4`): its
/// own peak resident size, not the largest of every child the test process had.
struct ChildRun {
    var status: Int32
    var stdout: [UInt8]
    var stderr: String
    var peakResidentKilobytes: Int
    var seconds: Double

    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String],
                    timeout: Double) throws -> ChildRun {
        let directory = NSTemporaryDirectory() + "pmp-child-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, directory + "/stdout", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, directory + "/stderr", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        let started = Date()
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard spawned == 0 else { throw TestFailure("posix_spawn \(executable): error \(spawned)") }
        var status: Int32 = 0
        var usage = rusage()
        let deadline = started.addingTimeInterval(timeout)
        // The child's own high-water mark, read while it runs: wait4's ru_maxrss of a child started by
        // posix_spawn (a vfork) also counts the parent's peak, which the kernel carries over at exec.
        var peakKilobytes = 0
        while true {
            peakKilobytes = max(peakKilobytes, Self.residentHighWaterKilobytes(of: pid) ?? 0)
            let waited = wait4(pid, &status, WNOHANG, &usage)
            if waited == pid { break }
            if waited < 0, errno != EINTR { throw TestFailure("wait4: errno \(errno)") }
            if Date() > deadline {
                kill(pid, SIGKILL)
                _ = wait4(pid, &status, 0, &usage)
                throw TestFailure("\(arguments.first ?? executable) did not end within \(timeout) s")
            }
            usleep(10_000)
        }
        let seconds = Date().timeIntervalSince(started)
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let stdout = (try? Data(contentsOf: URL(fileURLWithPath: directory + "/stdout"))).map { [UInt8]($0) } ?? []
        let stderr = (try? String(contentsOfFile: directory + "/stderr", encoding: .utf8)) ?? ""
        return ChildRun(status: exit, stdout: stdout, stderr: stderr, peakResidentKilobytes: peakKilobytes, seconds: seconds)
    }

    /// `VmHWM` of /proc/PID/status, in kilobytes; nil once the process is gone.
    static func residentHighWaterKilobytes(of pid: pid_t) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return nil }
        return Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "")
    }
}
