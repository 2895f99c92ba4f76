import Foundation
import PMPTestSupport
import Testing

/// The C target of the external-dump tests (Fixtures/attach/target.c), built once without frame pointers, and
/// started with real arguments; killed when released.
final class AttachTarget: @unchecked Sendable {
    let process = Process()
    private let stdoutPipe = Pipe()
    private(set) var pid: Int32 = 0
    let tickFile: String?

    /// Built once per test run: `cc -O2 -fomit-frame-pointer`, so unwinding needs the CFI.
    static let executable: String = {
        let source = ToolRun.fixtures("attach").appendingPathComponent("target.c").path
        let output = NSTemporaryDirectory() + "pmp-attach-target-\(getpid())"
        let run = try? ToolRun.run("/usr/bin/env", ["cc", "-O2", "-g", "-fomit-frame-pointer", "-pthread", source, "-o", output])
        if run?.status != 0 { print("cc failed: \(run?.stderr ?? "not run")") }
        return run?.status == 0 ? output : ""
    }()

    static var attachExecutable: String {
        URL(fileURLWithPath: DemoProcess.executable).deletingLastPathComponent().appendingPathComponent("pmp-attach").path
    }

    static var pmpExecutable: String {
        URL(fileURLWithPath: DemoProcess.executable).deletingLastPathComponent().appendingPathComponent("pmp").path
    }

    init(threads: Int, ticker: Bool = false) throws {
        try #require(!Self.executable.isEmpty, "the C target builds with clang")
        tickFile = ticker ? NSTemporaryDirectory() + "pmp-ticks-\(UUID().uuidString)" : nil
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["--threads", "\(threads)"] + (tickFile.map { ["--ticker", $0] } ?? [])
        process.standardOutput = stdoutPipe
        try process.run()
        let line = try Self.readLine(stdoutPipe, timeout: 60)
        try #require(line.hasPrefix("ready "), "the target starts: \(line)")
        pid = Int32(line.dropFirst(6)) ?? -1
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        if let tickFile { unlink(tickFile) }
    }

    /// The ticker's tick times (CLOCK_MONOTONIC ns), oldest first.
    func ticks() -> [Int64] {
        guard let tickFile, let data = FileManager.default.contents(atPath: tickFile), data.count >= 8 else { return [] }
        return data.withUnsafeBytes { raw -> [Int64] in
            let count = Int(raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
            let ring = 1 << 20
            let first = max(0, count - ring)
            return (first..<count).map { raw.loadUnaligned(fromByteOffset: 8 + 8 * ($0 % ring), as: Int64.self) }
        }
    }

    /// The tids of the target now.
    func threadIDs() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []).compactMap { Int32($0) }
    }

    /// Threads left in a ptrace stop (state t) or still traced.
    func stoppedOrTraced() -> [Int32] {
        threadIDs().filter { tid in
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/stat", encoding: .utf8)) ?? ""
            let state = stat.split(separator: ")").last?.split(separator: " ").first ?? "?"
            let status = (try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/status", encoding: .utf8)) ?? ""
            let traced = status.split(separator: "\n").contains { $0.hasPrefix("TracerPid:") && !$0.hasSuffix("\t0") }
            return state == "t" || state == "T" || traced
        }
    }

    static func readLine(_ pipe: Pipe, timeout: Double) throws -> String {
        let fd = pipe.fileHandleForReading.fileDescriptor
        var line: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            var byte: UInt8 = 0
            guard read(fd, &byte, 1) == 1 else { break }
            if byte == 10 { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
        throw AttachTargetError.noLine(String(decoding: line, as: UTF8.self))
    }

    /// Runs the tracer mode: a process that holds `pid` traced until released.
    final class Tracer {
        let process = Process()
        private let stdoutPipe = Pipe()

        init(tracing pid: Int32) throws {
            process.executableURL = URL(fileURLWithPath: AttachTarget.executable)
            process.arguments = ["--trace", "\(pid)"]
            process.standardOutput = stdoutPipe
            try process.run()
            let line = try AttachTarget.readLine(stdoutPipe, timeout: 30)
            try #require(line == "tracing")
        }

        deinit {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

enum AttachTargetError: Error { case noLine(String) }

/// The `timings …` line pmp-attach prints with --timings, as fields.
struct AttachTimings {
    var fields: [String: String] = [:]

    init?(stderr: String) {
        guard let line = stderr.split(separator: "\n").first(where: { $0.hasPrefix("pmp: timings ") }) else { return nil }
        for token in line.dropFirst("pmp: timings ".count).split(separator: " ") {
            guard let equals = token.firstIndex(of: "=") else { continue }
            fields[String(token[..<equals])] = String(token[token.index(after: equals)...])
        }
    }

    /// A `start-end` field of monotonic nanoseconds.
    func range(_ name: String) -> ClosedRange<Int64>? {
        guard let text = fields[name], let dash = text.firstIndex(of: "-"),
              let start = Int64(text[..<dash]), let end = Int64(text[text.index(after: dash)...]), start <= end
        else { return nil }
        return start...end
    }
}
