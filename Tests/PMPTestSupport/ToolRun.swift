import Foundation

/// Runs a command with its output in files (no pipe to fill up), a fresh HOME and a time limit.
package struct ToolRun {
    package var status: Int32
    package var stdout: String
    package var stderr: String

    package init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }

    package static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                    timeout: Double = 120) throws -> ToolRun {
        // A missing program fails the test by its name, not as an exit status of 127 to puzzle over.
        _ = try RequiredTool.path(executable)
        if executable == "/usr/bin/env", let program = arguments.first, !program.contains("=") {
            _ = try RequiredTool.path(program)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pmp-tool-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let stdoutURL = directory.appendingPathComponent("stdout")
        let stderrURL = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["HOME"] = directory.path
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        let stdoutHandle = try FileHandle(forWritingTo: stdoutURL)
        let stderrHandle = try FileHandle(forWritingTo: stderrURL)
        process.standardOutput = stdoutHandle
        process.standardError = stderrHandle
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try stdoutHandle.close()
        try stderrHandle.close()
        return ToolRun(status: process.terminationStatus,
                       stdout: (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "",
                       stderr: (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "")
    }

    /// The directory of a fixture set under Tests/Fixtures.
    package static func fixtures(_ name: String) -> URL {
        TestPaths.fixtures.appendingPathComponent(name)
    }

    /// A fresh temporary file path with the given suffix.
    package static func temporaryFile(_ suffix: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("pmp-\(UUID().uuidString)\(suffix)")
    }
}
