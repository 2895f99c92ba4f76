import Foundation
import Testing

/// The built `pmp-aggregate` executable, run as a real process on real files.
@Suite("pmp-aggregate command", .timeLimit(.minutes(3))) struct AggregateCommandTests {
    struct Run {
        var status: Int32
        var stdout: Data
        var stderr: String
        /// Peak resident set of the process in bytes, measured by /usr/bin/time when it is installed.
        var peakRSS: Int?
        var output: String { String(decoding: stdout, as: UTF8.self) }
    }

    static var executable: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("pmp-aggregate").path
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let gdbFixture = fixtures.appendingPathComponent("gdb/pmp-demo-12-threads.txt").path

    static let timeCommand = "/usr/bin/time"

    /// Runs pmp-aggregate with `arguments`, standard input from `stdin` (a path; /dev/null by default), output
    /// and errors into files. With `measureMemory`, under /usr/bin/time (when installed) for its peak RSS: the
    /// rusage of a child spawned straight from this large test process would count this process's pages too.
    static func run(_ arguments: [String], stdin: String = "/dev/null", stderr: String? = nil,
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

    static func temporaryFile(_ name: String, _ contents: Data) throws -> String {
        let path = NSTemporaryDirectory() + "pmp-aggregate-\(UUID().uuidString)-\(name)"
        try contents.write(to: URL(fileURLWithPath: path))
        return path
    }

    /// `root;…;leaf COUNT` lines as a dictionary.
    static func folded(_ output: String) -> [String: Int] {
        var counts: [String: Int] = [:]
        for line in output.split(separator: "\n") {
            guard let space = line.lastIndex(of: " "), let count = Int(line[line.index(after: space)...]) else { continue }
            counts[String(line[..<space]), default: 0] += count
        }
        return counts
    }

    @Test("folded output of the real gdb dump: one line per distinct stack, counts as gdb printed them")
    func foldedGDB() throws {
        let run = try Self.run(["--format", "folded", Self.gdbFixture])
        #expect(run.status == 0)
        let counts = Self.folded(run.output)
        #expect(counts.values.reduce(0, +) == 18)
        #expect(counts.count == 10)
        let conditionWaits = counts.filter { $0.key.contains("Workers.blockedInConditionWait()") }
        #expect(conditionWaits.values.reduce(0, +) == 3)
        #expect(counts.keys.allSatisfy { $0.hasPrefix("clone3;") || $0.hasPrefix("pmp_demo_main;") })
        #expect(run.stderr == "pmp-aggregate: read 218 lines: 1 dump (gdb 1), 18 stacks, 10 distinct; 0 lines could not be placed\n")
    }

    @Test("gdb's mangled Swift names come out short, as Swift's backtracer prints them; --full-names keeps them whole")
    func shortAndFullNames() throws {
        let short = try Self.run(["--format", "folded", Self.gdbFixture])
        #expect(short.status == 0)
        #expect(short.output.contains(";closure #1 in static Workers.startThread(name:_:);"), "\(short.output)")
        #expect(!short.output.contains("pmp_demo.Workers"), "no module names")
        let full = try Self.run(["--format", "folded", "--full-names", Self.gdbFixture])
        #expect(full.status == 0)
        #expect(full.output.contains(";closure #1 (Swift.Optional<Swift.UnsafeMutableRawPointer>) -> "
            + "Swift.Optional<Swift.UnsafeMutableRawPointer> in static pmp_demo.Workers.startThread(name: Swift.String, "
            + "_: () -> ()) -> ();"), "\(full.output)")
        // Folding is by the symbols read, not the names shown: both give the same counts.
        #expect(Self.folded(short.output).values.sorted() == Self.folded(full.output).values.sorted())
    }

    @Test("an empty file: an empty profile, and the summary says no dumps were found")
    func emptyFile() throws {
        let path = try Self.temporaryFile("empty.log", Data())
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try Self.run(["--format", "folded", path])
        #expect(run.status == 0)
        #expect(run.output.isEmpty)
        #expect(run.stderr.contains("read 0 lines: 0 dumps"))
        #expect(run.stderr.contains("no dumps found"))
    }

    @Test("a binary file, a missing file, a directory: a clear message and a non-zero exit")
    func badInputs() throws {
        let binary = try Self.run(["/bin/ls"])
        #expect(binary.status != 0)
        #expect(binary.stderr.contains("/bin/ls: binary data, not a text log"))
        #expect(binary.stdout.isEmpty)

        let missing = try Self.run([Self.gdbFixture, "/nonexistent/stacks.log"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("/nonexistent/stacks.log: cannot open: No such file or directory"))
        #expect(missing.stdout.isEmpty, "nothing is read before every file is open")

        let directory = try Self.run(["/tmp"])
        #expect(directory.status != 0)
        #expect(directory.stderr.contains("/tmp: cannot read: Is a directory"))

        let none = try Self.run([])
        #expect(none.status != 0)
        #expect(none.stderr.contains("give at least one FILE"))
    }

    @Test("a bad regular expression is reported before anything is read")
    func badRegex() throws {
        let run = try Self.run(["--match", "Workers.(", Self.gdbFixture])
        #expect(run.status != 0)
        #expect(run.stderr.contains("--match: not a valid regular expression: Workers.("))
        let hide = try Self.run(["--hide", "[z-a]", Self.gdbFixture])
        #expect(hide.status != 0)
        #expect(hide.stderr.contains("--hide: not a valid regular expression"))
    }

    @Test("truncated dumps (ours and gdb's cut mid-stack): what was there is counted, stray lines reported")
    func truncatedDumps() throws {
        let gdb = try String(contentsOfFile: Self.gdbFixture, encoding: .utf8)
        // Cut inside "Thread 14" (a mutex worker), after its frame #2.
        let thread14 = try #require(gdb.range(of: "Thread 14 ("))
        let cut = try #require(gdb.range(of: "#3  ___pthread_mutex_lock", range: thread14.upperBound..<gdb.endIndex))
        let cutGDB = String(gdb[..<cut.lowerBound])
        let pmp = """
            2026-11-26T20:51:01Z info pmp[77.1] dump pid=77 time=2026-11-26T20:51:01.000Z threads=3 captured=3 elapsed=1.000ms depth=128
            2026-11-26T20:51:01Z info pmp[77.1] thread 78 "w-1" [sleep] state=S cpu=0.000s
            2026-11-26T20:51:01Z info pmp[77.1]   #0  0x0000000000001000 nanosleep in libc.so.6
            2026-11-26T20:51:01Z info pmp[77.1]   #1  0x0000000000002000 app.Worker.run() at /src/W.swift:3 in app
            2026-11-26T20:51:01Z info pmp[77.1] thread 79 "w-2" [sleep] state=S cpu=0.000s
            2026-11-26T20:51:01Z info pmp[77.1]   #0  0x0000000000001000 nanosleep in libc.so.6
            2026-11-26T20:51:01Z info pmp[77.1]   #1  0x00000000000
            """
        let path = try Self.temporaryFile("truncated.log", Data((pmp + "\n" + cutGDB).utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try Self.run(["--format", "folded", path])
        #expect(run.status == 0)
        let counts = Self.folded(run.output)
        #expect(counts["app.Worker.run();nanosleep"] == 1)
        #expect(counts["nanosleep"] == 1, "the second thread kept its one readable frame")
        // gdb: threads 18 … 15 whole, 14 up to its frame #2.
        let gdbStacks = counts.filter { $0.key != "app.Worker.run();nanosleep" && $0.key != "nanosleep" }
        #expect(gdbStacks.values.reduce(0, +) == 5)
        #expect(counts["lll_mutex_lock_optimized;__GI___lll_lock_wait;futex_wait"] == 1)
        #expect(run.stderr.contains("2 dumps (pmp 1, gdb 1)"))
        #expect(run.stderr.contains("; 1 line could not be placed"), "the cut frame line")
    }

    @Test("a 50 MB line without a newline: skipped, reported, memory stays small")
    func enormousLine() throws {
        let gdb = try Data(contentsOf: URL(fileURLWithPath: Self.gdbFixture))
        var contents = gdb
        contents.append(Data(repeating: UInt8(ascii: "x"), count: 50 * 1024 * 1024))
        let path = try Self.temporaryFile("enormous.log", contents)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try Self.run(["--format", "folded", path], measureMemory: true)
        #expect(run.status == 0)
        #expect(Self.folded(run.output).values.reduce(0, +) == 18)
        #expect(run.stderr.contains("read 219 lines"))
        #expect(run.stderr.contains("1 line could not be placed (1 longer than the line limit)"))
        if FileManager.default.isExecutableFile(atPath: Self.timeCommand) {
            let peak = try #require(run.peakRSS)
            if Sanitizer.boundsMemory("pmp-aggregate's peak RSS") {
                #expect(peak < 32 * 1024 * 1024, "peak RSS \(peak / 1024) KiB")
            }
        }
    }

    @Test("- reads standard input: the same profile as the file")
    func standardInput() throws {
        let fromFile = try Self.run(["--format", "folded", Self.gdbFixture])
        let fromStdin = try Self.run(["--format", "folded", "-"], stdin: Self.gdbFixture)
        #expect(fromStdin.status == 0)
        #expect(fromStdin.stdout == fromFile.stdout)
        #expect(!fromStdin.stdout.isEmpty)
        let twice = try Self.run(["-", "-"], stdin: Self.gdbFixture)
        #expect(twice.status != 0)
    }

    @Test("several files of several formats: one profile, every dump counted")
    func severalFiles() throws {
        let files = [Self.gdbFixture, Self.fixtures.appendingPathComponent("eu-stack/plain.txt").path,
                     Self.fixtures.appendingPathComponent("go/debug1.txt").path, Self.gdbFixture]
        var separate: [String: Int] = [:]
        for file in files {
            for (stack, count) in Self.folded(try Self.run(["--format", "folded", file]).output) {
                separate[stack, default: 0] += count
            }
        }
        let together = try Self.run(["--format", "folded"] + files)
        #expect(together.status == 0)
        #expect(Self.folded(together.output) == separate)
        #expect(together.stderr.contains("4 dumps (gdb 2, eu-stack 1, go-debug1 1)"))
    }

    @Test("-o picks the format from the extension; --format wins over it")
    func outputFiles() throws {
        let directory = NSTemporaryDirectory() + "pmp-aggregate-out-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let svg = try Self.run(["-o", directory + "/flame.svg", Self.gdbFixture])
        #expect(svg.status == 0)
        #expect(svg.stdout.isEmpty)
        let svgText = try String(contentsOfFile: directory + "/flame.svg", encoding: .utf8)
        #expect(svgText.contains("<svg"))
        #expect(svgText.contains("blockedInConditionWait"))

        let json = try Self.run(["--output", directory + "/profile.json", Self.gdbFixture])
        #expect(json.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/profile.json")))
        #expect(object is [String: Any])

        let forced = try Self.run(["--format", "folded", "-o", directory + "/profile.svg", Self.gdbFixture])
        #expect(forced.status == 0)
        let folded = try String(contentsOfFile: directory + "/profile.svg", encoding: .utf8)
        #expect(Self.folded(folded).values.reduce(0, +) == 18)

        let pprof = try Self.run(["-o", directory + "/profile.pb.gz", Self.gdbFixture])
        #expect(pprof.status == 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/profile.pb.gz"))
        #expect(bytes.prefix(2) == Data([0x1F, 0x8B]), "gzip")
    }

    @Test("--frames, --match, --hide, --fold-by, --root-first and --by-state change what is printed")
    func options() throws {
        let leafOnly = Self.folded(try Self.run(["--format", "folded", "--frames", "1", Self.gdbFixture]).output)
        #expect(leafOnly.keys.allSatisfy { !$0.contains(";") })
        #expect(leafOnly.values.reduce(0, +) == 18)

        let matched = Self.folded(try Self.run(["--format", "folded", "--match", "blockedOnMutexLock|blockedInPipeRead",
                                                Self.gdbFixture]).output)
        #expect(matched.values.reduce(0, +) == 5)
        let hidden = try Self.run(["--format", "folded", "--hide", "^_dispatch_", Self.gdbFixture])
        #expect(Self.folded(hidden.output).values.reduce(0, +) == 15)
        #expect(hidden.stderr.contains("8 of 10 distinct stacks kept by --match/--hide"))

        let byLine = Self.folded(try Self.run(["--format", "folded", "--fold-by", "line", Self.gdbFixture]).output)
        #expect(byLine.count == 10)
        let badKey = try Self.run(["--fold-by", "colour", Self.gdbFixture])
        #expect(badKey.status != 0)

        let leafFirst = try Self.run(["--frames", "2", Self.gdbFixture]).output
        let rootFirst = try Self.run(["--frames", "2", "--root-first", Self.gdbFixture]).output
        #expect(leafFirst != rootFirst)
        let leafLines = leafFirst.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let nanosleep = try #require(leafLines.firstIndex { $0.hasPrefix("__GI___clock_nanosleep") })
        #expect(leafLines[nanosleep + 1].hasPrefix("__GI___nanosleep"))

        // Our own dump with wait reasons: --by-state puts the reason in the stack.
        let dump = """
            pmp[5.1] dump pid=5 time=2026-11-26T20:51:01.000Z threads=2 captured=2 elapsed=1.000ms depth=128
            pmp[5.1] thread 6 "a" [condition wait, 3.000s] state=S cpu=0.000s
            pmp[5.1]   #0  0x0000000000001000 wait in app
            pmp[5.1] thread 7 "b" [mutex lock] state=S cpu=0.000s
            pmp[5.1]   #0  0x0000000000001000 wait in app
            pmp[5.1] end
            """
        let path = try Self.temporaryFile("states.log", Data(dump.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(Self.folded(try Self.run(["--format", "folded", path]).output) == ["wait": 2])
        #expect(Self.folded(try Self.run(["--format", "folded", "--by-state", path]).output)
                == ["[condition wait];wait": 1, "[mutex lock];wait": 1])
    }

    @Test("--help explains the command with examples")
    func help() throws {
        let run = try Self.run(["--help"])
        #expect(run.status == 0)
        let text = run.output + run.stderr
        #expect(text.contains("Fold the stacks of every dump found in logs"))
        #expect(text.contains("Examples:"))
        #expect(text.contains("--fold-by"))
        #expect(text.contains("--root-first"))
    }

    @Test("on a terminal: a progress bar on stderr (bytes of the total, stacks), erased before the summary")
    func progressOnTerminal() throws {
        let gdb = try String(contentsOfFile: Self.gdbFixture, encoding: .utf8)
        let path = try Self.temporaryFile("progress.log", Data(String(repeating: gdb, count: 150).utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        // A pseudo-terminal pair (posix_openpt and friends are not visible from Swift's Glibc module).
        let terminal = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        try #require(terminal >= 0)
        defer { close(terminal) }
        var unlock: Int32 = 0, number: UInt32 = 0
        #expect(ioctl(terminal, 0x4004_5431 /* TIOCSPTLCK */, &unlock) == 0)
        #expect(ioctl(terminal, 0x8004_5430 /* TIOCGPTN */, &number) == 0)
        let name = "/dev/pts/\(number)"
        // A terminal's buffer is small: read it while the command runs.
        let collected = LockedBuffer()
        let reader = Thread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(terminal, &buffer, buffer.count)
                if count <= 0 { break }
                collected.append(buffer[..<count])
            }
        }
        reader.start()
        let run = try Self.run(["--format", "folded", path], stderr: name)
        #expect(run.status == 0)
        #expect(Self.folded(run.output).values.reduce(0, +) == 18 * 150)
        let deadline = Date().addingTimeInterval(10)
        while !collected.text.contains("could not be placed"), Date() < deadline { usleep(10_000) }
        let text = collected.text
        let size = Double(gdb.utf8.count * 150) / 1_048_576
        #expect(text.contains("/ \(String(format: "%.1f", size)) MB"), "\(text.debugDescription)")
        #expect(text.contains("stacks"))
        #expect(text.contains("[#") || text.contains("[."))
        let summary = try #require(text.range(of: "pmp-aggregate: read"))
        #expect(text[..<summary.lowerBound].hasSuffix("\r\u{1B}[K"), "the bar is erased before the summary")
    }
}

/// Bytes collected by one thread and read by another.
final class LockedBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes: [UInt8] = []

    func append(_ more: ArraySlice<UInt8>) {
        lock.lock()
        bytes += more
        lock.unlock()
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: bytes, as: UTF8.self)
    }
}
