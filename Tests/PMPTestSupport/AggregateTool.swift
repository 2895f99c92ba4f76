#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The built `pmp-aggregate` executable, run as a real process on real files.
package enum AggregateTool {
    package struct Run {
        package var status: Int32
        package var stdout: Data
        package var stderr: String
        /// Peak resident set of the process in bytes, measured by /usr/bin/time when it is installed.
        package var peakRSS: Int?
        package var output: String { String(decoding: stdout, as: UTF8.self) }
    }

    package static var executable: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("pmp-aggregate").path
    }

    package static let fixtures = TestPaths.fixtures
    package static let gdbFixture = fixtures.appendingPathComponent("gdb/pmp-demo-12-threads.txt").path

    package static let timeCommand = "/usr/bin/time"

    /// Runs pmp-aggregate with `arguments`, standard input from `stdin` (a path; /dev/null by default), output
    /// and errors into files. With `measureMemory`, under /usr/bin/time (when installed) for its peak RSS: the
    /// rusage of a child spawned straight from this large test process would count this process's pages too.
    package static func run(_ arguments: [String], stdin: String = "/dev/null", stderr: String? = nil,
                    measureMemory: Bool = false) throws -> Run {
        let directory = NSTemporaryDirectory() + "pmp-aggregate-run-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outPath = directory + "/stdout", errPath = directory + "/stderr", rssPath = directory + "/rss"
        let timed = measureMemory && FileManager.default.isExecutableFile(atPath: timeCommand)
        let command = timed ? [timeCommand, "-f", "%M", "-o", rssPath, executable] : [executable]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr ?? errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv = (command + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, environ)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EINVAL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        let kilobytes = timed ? (try? String(contentsOfFile: rssPath, encoding: .utf8))?
            .split(separator: "\n").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } : nil
        return Run(status: exitStatus, stdout: FileManager.default.contents(atPath: outPath) ?? Data(),
                   stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "",
                   peakRSS: kilobytes.map { $0 * 1024 })
    }

    package static func temporaryFile(_ name: String, _ contents: Data) throws -> String {
        let path = NSTemporaryDirectory() + "pmp-aggregate-\(UUID().uuidString)-\(name)"
        try contents.write(to: URL(fileURLWithPath: path))
        return path
    }

    /// `root;…;leaf COUNT` lines as a dictionary.
    package static func folded(_ output: String) -> [String: Int] {
        var counts: [String: Int] = [:]
        for line in output.split(separator: "\n") {
            guard let space = line.lastIndex(of: " "), let count = Int(line[line.index(after: space)...]) else { continue }
            counts[String(line[..<space]), default: 0] += count
        }
        return counts
    }
}
