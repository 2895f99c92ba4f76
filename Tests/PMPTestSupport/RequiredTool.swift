import Foundation

/// A program or file a test needs. When it is missing the test fails, naming what installs it: a test that
/// skipped silently would pass on a machine that never ran it.
package enum RequiredTool {
    /// The Debian package of each program the tests run (installed by tools/setup --test).
    package static let packages: [String: String] = [
        "cc": "gcc", "chromium": "chromium", "curl": "curl", "eu-stack": "elfutils", "gdb": "gdb", "go": "golang-go",
        "node": "nodejs", "python3": "python3", "time": "time", "tmux": "tmux", "wrk": "wrk",
    ]

    package struct Missing: Error, CustomStringConvertible {
        package var description: String
    }

    package static func missing(_ what: String, package: String?) -> Missing {
        Missing(description: "\(what) is not installed: run tools/setup --test"
                + (package.map { " (Debian package \($0))" } ?? ""))
    }

    /// The full path of `name`, looked up on PATH (or taken as is when it holds a slash).
    package static func path(_ name: String) throws -> String {
        let base = (name as NSString).lastPathComponent
        if name.contains("/") {
            guard FileManager.default.isExecutableFile(atPath: name) else {
                throw missing(name, package: packages[base])
            }
            return name
        }
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        for directory in directories {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw missing(name, package: packages[base])
    }

    /// A file a Debian package installs, found with `dpkg -L` (its place differs between releases).
    package static func file(endingWith suffix: String, inPackage package: String) throws -> String {
        let listing = try ToolRun.run("/usr/bin/dpkg", ["-L", package], timeout: 30)
        guard listing.status == 0,
              let path = listing.stdout.split(separator: "\n").map(String.init).first(where: { $0.hasSuffix(suffix) })
        else { throw missing("\(suffix) of \(package)", package: package) }
        return path
    }
}
