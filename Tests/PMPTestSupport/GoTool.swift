import Foundation

/// Debian's `go tool pprof`, the real client, run with a build cache of its own (the tests may run as root with
/// no writable home, and in parallel).
package enum GoTool {
    package static func pprof(_ arguments: [String]) throws -> ToolRun {
        let gocache = FileManager.default.temporaryDirectory.appendingPathComponent("pmp-gocache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: gocache) }
        return try ToolRun.run("/usr/bin/env", ["go", "tool", "pprof"] + arguments,
                               environment: ["GOCACHE": gocache.path, "GOFLAGS": "", "PPROF_TMPDIR": gocache.path])
    }
}
