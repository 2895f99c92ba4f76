import Foundation
import PMPTestSupport
import Testing

/// A tmux server of its own (its own socket), with one detached session running a command: keys are sent with
/// `send-keys`, the screen read with `capture-pane`, as a person would see it.
final class Tmux: @unchecked Sendable {
    static let executable = "/usr/bin/tmux"
    let socketName = "pmp-test-\(UUID().uuidString.prefix(8))"
    let session = "top"

    /// The shell of the session's pane (pmp top is its child), and when it started (to know it is still ours).
    private(set) var panePID: Int32 = 0
    private var paneStart: String?

    init(command: String, width: Int = 200, height: Int = 50) throws {
        _ = try RequiredTool.path(Self.executable)
        let started = try run(["new-session", "-d", "-s", session, "-x", String(width), "-y", String(height), command])
        guard started.status == 0 else { throw TestFailure("tmux new-session failed: \(started.stderr)") }
        let pane = try run(["display-message", "-p", "-t", session, "#{pane_pid}"]).stdout
        panePID = Int32(pane.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        paneStart = Self.startTime(of: panePID)
    }

    deinit {
        // What runs in the pane may outlive the server's end (tmux sends SIGHUP to the shell only): stop it first.
        if panePID > 0, let paneStart, Self.startTime(of: panePID) == paneStart {
            for child in Self.children(of: panePID) { kill(child, SIGKILL) }
            kill(panePID, SIGKILL)
        }
        _ = try? run(["kill-server"])
    }

    /// A process's start time in clock ticks since boot (field 22 of its stat), which tells it from a later
    /// process with the same pid.
    static func startTime(of pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? String(fields[19]) : nil
    }

    /// The processes whose parent is `pid`.
    static func children(of pid: Int32) -> [Int32] {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        return text.split(separator: " ").compactMap { Int32($0) }
    }

    /// Runs tmux with `arguments`. Spawned without Foundation's Process: the tmux server that `new-session`
    /// leaves behind would inherit the descriptor Process watches for its child's exit and keep it open, and
    /// it would inherit the test thread's blocked signals. Here the child starts with no signal blocked and
    /// closes every descriptor above 2 before it becomes tmux.
    @discardableResult
    func run(_ arguments: [String]) throws -> ToolRun {
        let directory = NSTemporaryDirectory() + "pmp-tmux-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let script = #"for fd in /proc/self/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done; exec "$@""#
        // bash: dash cannot name descriptors above 9 in a redirection.
        let command = ["/bin/bash", "-c", script, "bash", Self.executable, "-L", socketName, "-f", "/dev/null"] + arguments
        let (outPath, errPath) = (directory + "/stdout", directory + "/stderr")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, &attributes, argv, environ)
        guard spawned == 0 else { throw TestFailure("cannot run tmux: \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(20)
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw TestFailure("tmux \(arguments.first ?? "") did not finish")
            }
            usleep(5_000)
        }
        let exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return ToolRun(status: exitStatus, stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                       stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }

    /// The screen's text, one line per row (trailing blanks dropped).
    func capture() throws -> String {
        try run(["capture-pane", "-p", "-t", session]).stdout
    }

    /// Keys by tmux name ("Enter", "Escape", "q").
    func send(keys: String...) throws {
        try run(["send-keys", "-t", session] + keys)
    }

    /// Text typed literally.
    func type(_ text: String) throws {
        try run(["send-keys", "-t", session, "-l", text])
    }

    func resize(width: Int, height: Int) throws {
        try run(["resize-window", "-t", session, "-x", String(width), "-y", String(height)])
    }

    /// Waits until the screen satisfies `condition`; returns that screen. Throws with the last screen otherwise.
    @discardableResult
    func waitForScreen(timeout: Double = 15, _ what: String, _ condition: (String) -> Bool) async throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var screen = ""
        while Date() < deadline {
            screen = try capture()
            if condition(screen) { return screen }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("timed out waiting for \(what); the screen:\n\(screen)")
    }
}
