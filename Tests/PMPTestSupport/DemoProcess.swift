import CPMPCapture
import Foundation

/// A running `pmp-demo` (or `pmp-lifecycle-demo`, which prints the same startup lines): started with real
/// arguments, driven with real signals, its stderr kept in a file.
package final class DemoProcess: @unchecked Sendable {
    package let process = Process()
    package let stderrPath: String
    private let stdoutPipe = Pipe()
    package private(set) var pid: Int32 = 0
    private var stdoutBuffer = ""
    /// The lines between the pid and "ready": with --serve and --pmp, `serving URL` and `pmp URL`.
    package private(set) var startupLines: [String] = []

    package static var executable: String { executable(named: "pmp-demo") }

    /// A product built beside the test bundle.
    package static func executable(named name: String) -> String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// `standardError`: where the demo's stderr goes instead of the file behind `stderr` (a pipe, say).
    package init(_ arguments: [String], executableName: String = "pmp-demo", environment: [String: String] = [:],
                 standardError: Any? = nil) throws {
        stderrPath = NSTemporaryDirectory() + "\(executableName)-\(UUID().uuidString).stderr"
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: Self.executable(named: executableName))
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardOutput = stdoutPipe
        process.standardError = standardError ?? FileHandle(forWritingAtPath: stderrPath)
        try process.run()
        let pidLine = try readStdoutLine(timeout: 30)
        pid = Int32(pidLine) ?? -1
        guard pid == process.processIdentifier else {
            throw DemoError.startup("the first line of stdout is not the pid: \(pidLine)")
        }
        var line = try readStdoutLine(timeout: 60)
        while !line.hasPrefix("ready"), startupLines.count < 16 {
            startupLines.append(line)
            line = try readStdoutLine(timeout: 60)
        }
        guard line.hasPrefix("ready") else { throw DemoError.startup("no ready line: \(startupLines)") }
    }

    /// The demo's own API (`serving URL` before "ready"), as `http://HOST:PORT`.
    /// pmp-demo with `count` Swift tasks in each state (`--task-states`), one blocked worker thread and no other
    /// tasks; with `pmp`, its endpoints on a loopback port of the system's choosing.
    package static func withTaskStates(_ count: Int, pmp: Bool = false) throws -> DemoProcess {
        try DemoProcess(["--threads", "1", "--busy", "0", "--tasks", "0", "--task-states", "\(count)"]
                        + (pmp ? ["--pmp", "127.0.0.1:0"] : []))
    }

    package var servingURL: String? { startupValue("serving ") }

    /// The profiler's endpoints (`pmp URL` before "ready"), as `http://HOST:PORT`.
    package var pmpURL: String? { startupValue("pmp ") }

    private func startupValue(_ prefix: String) -> String? {
        startupLines.first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }

    /// The next line the demo prints after "ready" (such as `wedged ...`).
    package func nextStdoutLine(timeout: Double = 30) throws -> String {
        try readStdoutLine(timeout: timeout)
    }

    deinit { stop() }

    package func stop() {
        if process.isRunning {
            process.terminate()
            for _ in 0..<100 where process.isRunning { usleep(20_000) }
            if process.isRunning { kill(pid, SIGKILL) }
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: stderrPath)
    }

    package var isAlive: Bool { process.isRunning && kill(pid, 0) == 0 }

    /// The exit status once the process has exited, waiting at most `timeout` seconds; nil if it still runs.
    package func waitForExit(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { return nil }
        process.waitUntilExit()
        return process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
    }

    package func signal(_ signo: Int32) { kill(pid, signo) }

    package var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits until `count` threads whose names start with `prefix` sleep in the futex system call, as
    /// /proc/PID/task/TID/syscall shows: "ready" comes when the demo's lock waiters are started, and a dump
    /// taken before they reach their wait (a slow machine, a sanitizer) finds them on their way to it.
    package func waitForFutexWaiters(named prefix: String, count: Int, timeout: Double = 30) throws {
        let futex = Int(pmp_futex_syscall_number())
        let deadline = Date().addingTimeInterval(timeout)
        var waiting: [String] = []
        while Date() < deadline {
            waiting = []
            for tid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? [] {
                let base = "/proc/\(pid)/task/\(tid)/"
                let name = Self.procFile(base + "comm").trimmingCharacters(in: .newlines)
                // "NUMBER ARGS..." while asleep in a system call, "running" or "-1 ..." otherwise.
                guard name.hasPrefix(prefix),
                      Int(Self.procFile(base + "syscall").prefix { $0 != " " }) == futex else { continue }
                waiting.append(name)
            }
            if waiting.count >= count { return }
            usleep(10_000)
        }
        throw DemoError.timeout("waiting for \(count) \(prefix)* threads in futex; there: \(waiting)")
    }

    private static func procFile(_ path: String) -> String {
        // /proc files have no size: read until the end.
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 512)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count <= 0 { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Waits until stderr holds `count` complete dumps (their `end` lines).
    @discardableResult
    package func waitForDumps(_ count: Int, timeout: Double = 60) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let text = stderr
            if text.components(separatedBy: "] end\n").count - 1 >= count { return text }
            usleep(20_000)
        }
        throw DemoError.timeout("waiting for \(count) dump(s); stderr so far:\n\(stderr.suffix(2000))")
    }

    private func readStdoutLine(timeout: Double) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        let handle = stdoutPipe.fileHandleForReading
        while Date() < deadline {
            if let newline = stdoutBuffer.firstIndex(of: "\n") {
                let line = String(stdoutBuffer[..<newline])
                stdoutBuffer.removeSubrange(...newline)
                return line
            }
            let data = handle.availableData
            if data.isEmpty { throw DemoError.exited(stderr) }
            stdoutBuffer += String(decoding: data, as: UTF8.self)
        }
        throw DemoError.timeout("waiting for pmp-demo's stdout")
    }
}

package enum DemoError: Error, CustomStringConvertible {
    case timeout(String)
    case exited(String)
    case startup(String)
    package var description: String {
        switch self {
        case .startup(let text): return "pmp-demo did not start as expected: \(text)"
        case .timeout(let text): return "timed out \(text)"
        case .exited(let text): return "pmp-demo exited early: \(text)"
        }
    }
}
