import PMPTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Debian's headless Chromium, driven over the DevTools protocol on `--remote-debugging-pipe`: the browser
/// reads commands from its fd 3 and writes answers and events to its fd 4, each message one JSON text ended
/// by a NUL byte. One socket pair serves as both (so a write to a browser that died fails with EPIPE instead of
/// killing the test with SIGPIPE). No port, no WebSocket, no driver: the same browser a person would use.
///
/// The browser runs in a process group of its own with a fresh profile directory and HOME, and is stopped with
/// that group (it starts helpers) when the value is closed or released.
final class HeadlessChromium {
    struct ProtocolError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    let pid: pid_t
    let windowWidth: Int
    let windowHeight: Int
    private let channel: Int32
    private let directory: URL
    private var received: [UInt8] = []
    private var lastID = 0
    private var sessionID: String?
    private var closed = false
    /// Console errors and uncaught exceptions of the page, for failure messages.
    private(set) var pageErrors: [String] = []
    /// Every URL the page requested (with `recordRequests`).
    private(set) var requestedURLs: [String] = []

    /// The browser's path, or nil when it is not installed (`tools/setup --test` installs `chromium`).
    static var executable: String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let names = ["chromium", "chromium-browser", "google-chrome"]
        for directory in path.split(separator: ":") {
            for name in names where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
                return "\(directory)/\(name)"
            }
        }
        return nil
    }

    init(windowWidth: Int = 1280, windowHeight: Int = 800) throws {
        guard let executable = Self.executable else {
            throw ProtocolError("chromium is not installed: run tools/setup --test (Debian package chromium)")
        }
        self.windowWidth = windowWidth
        self.windowHeight = windowHeight
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pmp-chromium-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)

        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw ProtocolError("socketpair: errno \(errno)")
        }
        // The browser's end is moved above 3 and 4 first, so that placing it on 3 and 4 cannot clobber it.
        let browserEnd = fcntl(pair[1], F_DUPFD_CLOEXEC, 10)
        Glibc.close(pair[1])
        channel = pair[0]
        defer { Glibc.close(browserEnd) }

        let arguments = [
            executable, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--remote-debugging-pipe", "--user-data-dir=\(directory.path)/profile",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
            "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
            "--mute-audio", "--window-size=\(windowWidth),\(windowHeight)", "about:blank",
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = directory.path
        let logPath = directory.appendingPathComponent("chromium.log").path

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_adddup2(&actions, browserEnd, 3)
        posix_spawn_file_actions_adddup2(&actions, browserEnd, 4)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&defaultSignals, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        guard spawned == 0 else {
            Glibc.close(channel)
            throw ProtocolError("posix_spawn \(executable): error \(spawned)")
        }
        pid = child
        // Blocks until the browser reads commands: its first answer says it is up.
        _ = try command("Browser.getVersion", session: false, timeout: 60)
    }

    deinit { close() }

    /// Closes the browser (politely, then its whole process group) and removes its profile.
    func close() {
        guard !closed else { return }
        closed = true
        _ = try? command("Browser.close", session: false, timeout: 5)
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(5)
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(-pid, SIGKILL)
                waitpid(pid, &status, 0)
                break
            }
            usleep(20_000)
        }
        kill(-pid, SIGKILL)  // helpers left behind, if any
        Glibc.close(channel)
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: - Pages

    /// Opens a tab of the window's size on `url` and makes it the target of later commands.
    func open(_ url: String, recordRequests: Bool = false) throws {
        let target = try command("Target.createTarget", ["url": "about:blank"], session: false)
        let targetID = try Self.string(target["targetId"], "Target.createTarget")
        let attached = try command("Target.attachToTarget", ["targetId": targetID, "flatten": true], session: false)
        sessionID = try Self.string(attached["sessionId"], "Target.attachToTarget")
        _ = try command("Runtime.enable")
        _ = try command("Page.enable")
        if recordRequests { _ = try command("Network.enable") }
        _ = try command("Emulation.setDeviceMetricsOverride",
                        ["width": windowWidth, "height": windowHeight, "deviceScaleFactor": 1, "mobile": false])
        _ = try command("Page.navigate", ["url": url])
    }

    /// The value of a JavaScript expression in the page (promises awaited); a thrown exception is thrown here.
    @discardableResult
    func evaluate(_ expression: String) throws -> Any? {
        let result = try command("Runtime.evaluate",
                                 ["expression": expression, "returnByValue": true, "awaitPromise": true])
        if let exception = result["exceptionDetails"] as? [String: Any] {
            let description = (exception["exception"] as? [String: Any])?["description"] as? String
            throw ProtocolError("the page threw: \(description ?? "\(exception)")\n  in: \(expression)")
        }
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Evaluates `expression` until it gives something other than null, false, 0, "" or an empty array, and
    /// returns that; fails after `timeout` seconds with the last value and the page's errors.
    @discardableResult
    func waitFor(_ what: String, timeout: Double = 20, _ expression: String) throws -> Any {
        let deadline = Date().addingTimeInterval(timeout)
        var last: Any?
        while true {
            last = try evaluate(expression)
            if let value = last, Self.isTruthy(value) { return value }
            if Date() > deadline {
                throw ProtocolError("timed out after \(timeout) s waiting for \(what); last value: \(String(describing: last))"
                                    + (pageErrors.isEmpty ? "" : "; page errors: \(pageErrors)"))
            }
            usleep(100_000)
        }
    }

    /// A PNG of the tab as it is now.
    func screenshot(to path: String) throws {
        let result = try command("Page.captureScreenshot", ["format": "png"])
        guard let encoded = result["data"] as? String, let data = Data(base64Encoded: encoded) else {
            throw ProtocolError("Page.captureScreenshot gave no image")
        }
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: path))
    }

    // MARK: - The protocol

    /// Sends a command (to the page's session unless `session` is false) and returns its result; events that
    /// arrive meanwhile are noted.
    @discardableResult
    func command(_ method: String, _ parameters: [String: Any] = [:], session: Bool = true,
                 timeout: Double = 30) throws -> [String: Any] {
        lastID += 1
        let id = lastID
        var message: [String: Any] = ["id": id, "method": method, "params": parameters]
        if session, let sessionID { message["sessionId"] = sessionID }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { send(channel, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { throw ProtocolError("\(method): the browser is gone (errno \(errno))") }
            offset += written
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            while let end = received.firstIndex(of: 0) {
                let text = Array(received[..<end])
                received.removeSubrange(...end)
                guard let reply = try JSONSerialization.jsonObject(with: Data(text)) as? [String: Any] else { continue }
                if let replyID = reply["id"] as? Int {
                    guard replyID == id else { continue }
                    if let error = reply["error"] as? [String: Any] {
                        throw ProtocolError("\(method) failed: \(error["message"] ?? error)")
                    }
                    return reply["result"] as? [String: Any] ?? [:]
                }
                note(event: reply)
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw ProtocolError("\(method): no answer within \(timeout) s") }
            var poller = pollfd(fd: channel, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(remaining, 1) * 1000))
            if ready <= 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let count = chunk.withUnsafeMutableBytes { recv(channel, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw ProtocolError("\(method): the browser closed the connection") }
            received.append(contentsOf: chunk[..<count])
        }
    }

    private func note(event: [String: Any]) {
        let parameters = event["params"] as? [String: Any] ?? [:]
        switch event["method"] as? String {
        case "Runtime.exceptionThrown":
            let details = parameters["exceptionDetails"] as? [String: Any]
            let exception = details?["exception"] as? [String: Any]
            pageErrors.append("exception: \(exception?["description"] ?? details?["text"] ?? "?")")
        case "Runtime.consoleAPICalled" where parameters["type"] as? String == "error":
            let arguments = parameters["args"] as? [[String: Any]] ?? []
            pageErrors.append("console.error: " + arguments.map { "\($0["value"] ?? $0["description"] ?? "")" }
                .joined(separator: " "))
        case "Network.requestWillBeSent":
            if let url = (parameters["request"] as? [String: Any])?["url"] as? String { requestedURLs.append(url) }
        default:
            break
        }
    }

    private static func string(_ value: Any?, _ what: String) throws -> String {
        guard let text = value as? String else { throw ProtocolError("\(what) gave no id") }
        return text
    }

    private static func isTruthy(_ value: Any) -> Bool {
        switch value {
        case let flag as Bool: return flag
        case let number as NSNumber: return number.doubleValue != 0
        case let text as String: return !text.isEmpty
        case let array as [Any]: return !array.isEmpty
        case is NSNull: return false
        default: return true
        }
    }
}
