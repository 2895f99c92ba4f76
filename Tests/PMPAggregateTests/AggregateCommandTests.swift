import Foundation
import PMPTestSupport
import Testing

/// The built `pmp-aggregate` executable, run as a real process on real files.
@Suite("pmp-aggregate command", .timeLimit(.minutes(3))) struct AggregateCommandTests {
    @Test("folded output of the real gdb dump: one line per distinct stack, counts as gdb printed them")
    func foldedGDB() throws {
        let run = try AggregateTool.run(["--format", "folded", AggregateTool.gdbFixture])
        #expect(run.status == 0)
        let counts = AggregateTool.folded(run.output)
        #expect(counts.values.reduce(0, +) == 18)
        #expect(counts.count == 10)
        let conditionWaits = counts.filter { $0.key.contains("Workers.blockedInConditionWait()") }
        #expect(conditionWaits.values.reduce(0, +) == 3)
        #expect(counts.keys.allSatisfy { $0.hasPrefix("clone3;") || $0.hasPrefix("pmp_demo_main;") })
        #expect(run.stderr == "pmp-aggregate: read 218 lines: 1 dump (gdb 1), 18 stacks, 10 distinct; 0 lines could not be placed\n")
    }

    @Test("gdb's mangled Swift names come out short, as Swift's backtracer prints them; --full-names keeps them whole")
    func shortAndFullNames() throws {
        let short = try AggregateTool.run(["--format", "folded", AggregateTool.gdbFixture])
        #expect(short.status == 0)
        #expect(short.output.contains(";closure #1 in static Workers.startThread(name:_:);"), "\(short.output)")
        #expect(!short.output.contains("pmp_demo.Workers"), "no module names")
        let full = try AggregateTool.run(["--format", "folded", "--full-names", AggregateTool.gdbFixture])
        #expect(full.status == 0)
        #expect(full.output.contains(";closure #1 (Swift.Optional<Swift.UnsafeMutableRawPointer>) -> "
            + "Swift.Optional<Swift.UnsafeMutableRawPointer> in static pmp_demo.Workers.startThread(name: Swift.String, "
            + "_: () -> ()) -> ();"), "\(full.output)")
        // Folding is by the symbols read, not the names shown: both give the same counts.
        #expect(AggregateTool.folded(short.output).values.sorted() == AggregateTool.folded(full.output).values.sorted())
    }

    @Test("an empty file: an empty profile, and the summary says no dumps were found")
    func emptyFile() throws {
        let path = try AggregateTool.temporaryFile("empty.log", Data())
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try AggregateTool.run(["--format", "folded", path])
        #expect(run.status == 0)
        #expect(run.output.isEmpty)
        #expect(run.stderr.contains("read 0 lines: 0 dumps"))
        #expect(run.stderr.contains("no dumps found"))
    }

    @Test("a binary file, a missing file, a directory: a clear message and a non-zero exit")
    func badInputs() throws {
        let binary = try AggregateTool.run(["/bin/ls"])
        #expect(binary.status != 0)
        #expect(binary.stderr.contains("/bin/ls: binary data, not a text log"))
        #expect(binary.stdout.isEmpty)

        let missing = try AggregateTool.run([AggregateTool.gdbFixture, "/nonexistent/stacks.log"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("/nonexistent/stacks.log: cannot open: No such file or directory"))
        #expect(missing.stdout.isEmpty, "nothing is read before every file is open")

        let directory = try AggregateTool.run(["/tmp"])
        #expect(directory.status != 0)
        #expect(directory.stderr.contains("/tmp: cannot read: Is a directory"))

        let none = try AggregateTool.run([])
        #expect(none.status != 0)
        #expect(none.stderr.contains("give at least one FILE"))
    }

    @Test("a bad regular expression is reported before anything is read")
    func badRegex() throws {
        let run = try AggregateTool.run(["--match", "Workers.(", AggregateTool.gdbFixture])
        #expect(run.status != 0)
        #expect(run.stderr.contains("--match: not a valid regular expression: Workers.("))
        let hide = try AggregateTool.run(["--hide", "[z-a]", AggregateTool.gdbFixture])
        #expect(hide.status != 0)
        #expect(hide.stderr.contains("--hide: not a valid regular expression"))
    }

    @Test("truncated dumps (ours and gdb's cut mid-stack): what was there is counted, stray lines reported")
    func truncatedDumps() throws {
        let gdb = try String(contentsOfFile: AggregateTool.gdbFixture, encoding: .utf8)
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
        let path = try AggregateTool.temporaryFile("truncated.log", Data((pmp + "\n" + cutGDB).utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try AggregateTool.run(["--format", "folded", path])
        #expect(run.status == 0)
        let counts = AggregateTool.folded(run.output)
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
        let gdb = try Data(contentsOf: URL(fileURLWithPath: AggregateTool.gdbFixture))
        var contents = gdb
        contents.append(Data(repeating: UInt8(ascii: "x"), count: 50 * 1024 * 1024))
        let path = try AggregateTool.temporaryFile("enormous.log", contents)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try AggregateTool.run(["--format", "folded", path], measureMemory: true)
        #expect(run.status == 0)
        #expect(AggregateTool.folded(run.output).values.reduce(0, +) == 18)
        #expect(run.stderr.contains("read 219 lines"))
        #expect(run.stderr.contains("1 line could not be placed (1 longer than the line limit)"))
        if FileManager.default.isExecutableFile(atPath: AggregateTool.timeCommand) {
            let peak = try #require(run.peakRSS)
            if Sanitizer.boundsMemory("pmp-aggregate's peak RSS") {
                #expect(peak < 32 * 1024 * 1024, "peak RSS \(peak / 1024) KiB")
            }
        }
    }

    @Test("- reads standard input: the same profile as the file")
    func standardInput() throws {
        let fromFile = try AggregateTool.run(["--format", "folded", AggregateTool.gdbFixture])
        let fromStdin = try AggregateTool.run(["--format", "folded", "-"], stdin: AggregateTool.gdbFixture)
        #expect(fromStdin.status == 0)
        #expect(fromStdin.stdout == fromFile.stdout)
        #expect(!fromStdin.stdout.isEmpty)
        let twice = try AggregateTool.run(["-", "-"], stdin: AggregateTool.gdbFixture)
        #expect(twice.status != 0)
    }

    @Test("several files of several formats: one profile, every dump counted")
    func severalFiles() throws {
        let files = [AggregateTool.gdbFixture, AggregateTool.fixtures.appendingPathComponent("eu-stack/plain.txt").path,
                     AggregateTool.fixtures.appendingPathComponent("go/debug1.txt").path, AggregateTool.gdbFixture]
        var separate: [String: Int] = [:]
        for file in files {
            for (stack, count) in AggregateTool.folded(try AggregateTool.run(["--format", "folded", file]).output) {
                separate[stack, default: 0] += count
            }
        }
        let together = try AggregateTool.run(["--format", "folded"] + files)
        #expect(together.status == 0)
        #expect(AggregateTool.folded(together.output) == separate)
        #expect(together.stderr.contains("4 dumps (gdb 2, eu-stack 1, go-debug1 1)"))
    }

    @Test("-o picks the format from the extension; --format wins over it")
    func outputFiles() throws {
        let directory = NSTemporaryDirectory() + "pmp-aggregate-out-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let svg = try AggregateTool.run(["-o", directory + "/flame.svg", AggregateTool.gdbFixture])
        #expect(svg.status == 0)
        #expect(svg.stdout.isEmpty)
        let svgText = try String(contentsOfFile: directory + "/flame.svg", encoding: .utf8)
        #expect(svgText.contains("<svg"))
        #expect(svgText.contains("blockedInConditionWait"))

        let json = try AggregateTool.run(["--output", directory + "/profile.json", AggregateTool.gdbFixture])
        #expect(json.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/profile.json")))
        #expect(object is [String: Any])

        let forced = try AggregateTool.run(["--format", "folded", "-o", directory + "/profile.svg", AggregateTool.gdbFixture])
        #expect(forced.status == 0)
        let folded = try String(contentsOfFile: directory + "/profile.svg", encoding: .utf8)
        #expect(AggregateTool.folded(folded).values.reduce(0, +) == 18)

        let pprof = try AggregateTool.run(["-o", directory + "/profile.pb.gz", AggregateTool.gdbFixture])
        #expect(pprof.status == 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/profile.pb.gz"))
        #expect(bytes.prefix(2) == Data([0x1F, 0x8B]), "gzip")
    }

    @Test("--frames, --match, --hide, --fold-by, --root-first and --by-state change what is printed")
    func options() throws {
        let leafOnly = AggregateTool.folded(try AggregateTool.run(["--format", "folded", "--frames", "1", AggregateTool.gdbFixture]).output)
        #expect(leafOnly.keys.allSatisfy { !$0.contains(";") })
        #expect(leafOnly.values.reduce(0, +) == 18)

        let matched = AggregateTool.folded(try AggregateTool.run(["--format", "folded", "--match", "blockedOnMutexLock|blockedInPipeRead",
                                                AggregateTool.gdbFixture]).output)
        #expect(matched.values.reduce(0, +) == 5)
        let hidden = try AggregateTool.run(["--format", "folded", "--hide", "^_dispatch_", AggregateTool.gdbFixture])
        #expect(AggregateTool.folded(hidden.output).values.reduce(0, +) == 15)
        #expect(hidden.stderr.contains("8 of 10 distinct stacks kept by --match/--hide"))

        let byLine = AggregateTool.folded(try AggregateTool.run(["--format", "folded", "--fold-by", "line", AggregateTool.gdbFixture]).output)
        #expect(byLine.count == 10)
        let badKey = try AggregateTool.run(["--fold-by", "colour", AggregateTool.gdbFixture])
        #expect(badKey.status != 0)

        let leafFirst = try AggregateTool.run(["--frames", "2", AggregateTool.gdbFixture]).output
        let rootFirst = try AggregateTool.run(["--frames", "2", "--root-first", AggregateTool.gdbFixture]).output
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
        let path = try AggregateTool.temporaryFile("states.log", Data(dump.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(AggregateTool.folded(try AggregateTool.run(["--format", "folded", path]).output) == ["wait": 2])
        #expect(AggregateTool.folded(try AggregateTool.run(["--format", "folded", "--by-state", path]).output)
                == ["[condition wait];wait": 1, "[mutex lock];wait": 1])
    }

    @Test("a real dump's Swift tasks: folded with the threads, alone (--tasks-only) or left out (--threads-only)")
    func tasksOfARealDump() throws {
        let demo = try DemoProcess(["--threads", "2", "--busy", "0", "--tasks", "0", "--task-states", "3"])
        defer { demo.stop() }
        demo.signal(SIGUSR1)
        let text = try demo.waitForDumps(1)
        let path = try AggregateTool.temporaryFile("tasks.log", Data(text.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        func total(_ counts: [String: Int], _ predicate: (String) -> Bool) -> Int {
            counts.filter { predicate($0.key) }.values.reduce(0, +)
        }

        let tasks = try AggregateTool.run(["--tasks-only", "--by-state", "--format", "folded", path])
        #expect(tasks.status == 0, "\(tasks.stderr)")
        let taskCounts = AggregateTool.folded(tasks.output)
        #expect(taskCounts.keys.allSatisfy { $0.hasPrefix("[task ") }, "\(taskCounts.keys)")
        #expect(total(taskCounts) { $0.hasPrefix("[task suspended on continuation];") && $0.contains("parkedOnContinuation") } >= 3)
        #expect(total(taskCounts) { $0.hasPrefix("[task sleeping];") && $0.contains("sleepingForAnHour") } == 3)
        #expect(total(taskCounts) { $0.hasPrefix("[task enqueued on an actor];") && $0.contains("queuedOnBusyActor") } == 3)
        #expect(tasks.stderr.contains("thread stacks left out (tasks only)"), "\(tasks.stderr)")

        let threads = try AggregateTool.run(["--threads-only", "--by-state", "--format", "folded", path])
        #expect(threads.status == 0)
        let threadCounts = AggregateTool.folded(threads.output)
        #expect(!threadCounts.isEmpty && !threadCounts.keys.contains { $0.hasPrefix("[task ") })
        #expect(threads.stderr.contains("task stacks left out (threads only)"), "\(threads.stderr)")

        let both = try AggregateTool.run(["--by-state", "--format", "folded", path])
        let bothTotal = AggregateTool.folded(both.output).values.reduce(0, +)
        let taskTotal = taskCounts.values.reduce(0, +), threadTotal = threadCounts.values.reduce(0, +)
        #expect(bothTotal == taskTotal + threadTotal)
        #expect(both.stderr.contains("tasks among them"), "\(both.stderr)")

        let conflicting = try AggregateTool.run(["--tasks-only", "--threads-only", path])
        #expect(conflicting.status != 0)
        #expect(conflicting.stderr.contains("--tasks-only and --threads-only cannot be given together"))
    }

    @Test("--help explains the command with examples")
    func help() throws {
        let run = try AggregateTool.run(["--help"])
        #expect(run.status == 0)
        let text = run.output + run.stderr
        #expect(text.contains("Fold the stacks of every dump found in logs"))
        #expect(text.contains("Examples:"))
        #expect(text.contains("--fold-by"))
        #expect(text.contains("--root-first"))
    }

    @Test("on a terminal: a progress bar on stderr (bytes of the total, stacks), erased before the summary")
    func progressOnTerminal() throws {
        let gdb = try String(contentsOfFile: AggregateTool.gdbFixture, encoding: .utf8)
        let path = try AggregateTool.temporaryFile("progress.log", Data(String(repeating: gdb, count: 150).utf8))
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
        let run = try AggregateTool.run(["--format", "folded", path], stderr: name)
        #expect(run.status == 0)
        #expect(AggregateTool.folded(run.output).values.reduce(0, +) == 18 * 150)
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
