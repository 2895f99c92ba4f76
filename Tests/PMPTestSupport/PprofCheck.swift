import Foundation
import Testing

/// Google's pprof library (Debian's golang-github-google-pprof-dev) in a small checker, built once per run
/// offline with Debian's Go: Tests/Fixtures/pprof-check.
package enum PprofCheck {
    package static let binary: Result<String, any Error> = Result {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("pmp-pprof-check-\(getpid())")
        let gocache = FileManager.default.temporaryDirectory.appendingPathComponent("pmp-gocache-check-\(getpid())")
        let source = ToolRun.fixtures("pprof-check").appendingPathComponent("main.go").path
        let run = try ToolRun.run("/usr/bin/env", ["go", "build", "-o", output.path, source],
                                  environment: ["GO111MODULE": "off", "GOPATH": "/usr/share/gocode", "GOPROXY": "off",
                                                "GOFLAGS": "", "GOCACHE": gocache.path], timeout: 300)
        guard run.status == 0 else {
            throw CheckFailure(message: "go build of pprof-check failed (tools/setup --test installs golang-github-google-pprof-dev): \(run.stderr)")
        }
        return output.path
    }

    package struct CheckFailure: Error, CustomStringConvertible {
        package var message: String
        package var description: String { message }
    }

    /// One summary per file; `ok` false (and `error`) for a file the library refuses.
    package static func check(_ files: [String]) throws -> [[String: Any]] {
        let run = try ToolRun.run(try binary.get(), files, timeout: 120)
        return run.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    package static func check(bytes: [UInt8]) throws -> [String: Any] {
        let file = ToolRun.temporaryFile(".pb")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(bytes).write(to: file)
        return try #require(try check([file.path]).first)
    }
}
