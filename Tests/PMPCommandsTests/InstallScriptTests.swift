import Foundation
import PMPTestSupport
import Testing

/// tools/install, run for real into a temporary directory. The commands are taken from this build (`--from`):
/// building them again here would double the suite's time.
@Suite("tools/install", .timeLimit(.minutes(2))) struct InstallScriptTests {
    static let script = TestPaths.file("tools/install").path

    @Test("installs pmp and pmp-aggregate into --prefix; from there they run")
    func installsIntoPrefix() throws {
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent("pmp-install-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: prefix) }
        let bin = prefix.appendingPathComponent("bin").path
        let built = URL(fileURLWithPath: PMPTool.executable).deletingLastPathComponent().path
        let install = try ToolRun.run("/bin/bash", [Self.script, "--from", built, "--prefix", bin], timeout: 60)
        #expect(install.status == 0, "stderr: \(install.stderr)")
        #expect(install.stdout.contains("installed \(bin)/pmp\n") && install.stdout.contains("installed \(bin)/pmp-aggregate\n"))
        for command in ["pmp", "pmp-aggregate"] {
            #expect(FileManager.default.isExecutableFile(atPath: "\(bin)/\(command)"), "\(command)")
        }
        // Found on PATH, as a user would run them.
        let path = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let help = try ToolRun.run("/bin/sh", ["-c", "pmp --help && pmp-aggregate --help"], environment: ["PATH": path], timeout: 30)
        #expect(help.status == 0, "stderr: \(help.stderr)")
        #expect(help.stdout.contains("pmp dump") && help.stdout.contains("pmp-aggregate"), "\(help.stdout.prefix(500))")
    }

    @Test("--help explains the options; a wrong option is a usage error")
    func usage() throws {
        let help = try ToolRun.run("/bin/bash", [Self.script, "--help"], timeout: 30)
        #expect(help.status == 0)
        for option in ["--prefix DIR", "/usr/local/bin", "--configuration", "--static-swift-stdlib", "--from"] {
            #expect(help.stdout.contains(option), "\(option)")
        }
        let wrong = try ToolRun.run("/bin/bash", [Self.script, "--no-such-option"], timeout: 30)
        #expect(wrong.status == 64)
        #expect(wrong.stderr.contains("unknown argument: --no-such-option"))
        let configuration = try ToolRun.run("/bin/bash", [Self.script, "--configuration", "fast"], timeout: 30)
        #expect(configuration.status == 64)
    }
}
