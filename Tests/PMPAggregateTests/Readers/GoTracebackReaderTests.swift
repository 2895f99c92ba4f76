import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPTestSupport
import Testing

/// The Go fixtures were printed by Debian's Go 1.19 runtime for Fixtures/go/src/main.go (see capture.sh there):
/// SIGQUIT tracebacks at GOTRACEBACK=all (its goroutines blocked for over a minute), default, system and crash,
/// /debug/pprof/goroutine?debug=2 and ?debug=1 of the same process, and a service log that prefixed every line.
@Suite("Go traceback reader") struct GoTracebackReaderTests {
    /// A goroutine as the fixture prints it, read here with plain String handling, independently of the reader.
    struct PrintedGoroutine: Equatable {
        var id: Int
        var state: String
        var functions: [String] = []
        var inlined: [Bool] = []
        var locations: [String] = []
        var unavailable = false
    }

    static func printedGoroutines(_ lines: [String]) -> [PrintedGoroutine] {
        var goroutines: [PrintedGoroutine] = []
        var current: PrintedGoroutine?
        var creatorNext = false
        func close() {
            if let goroutine = current { goroutines.append(goroutine) }
            current = nil
        }
        for line in lines {
            if line.hasPrefix("goroutine "), line.hasSuffix("]:"), let open = line.range(of: " [") {
                close()
                let bracket = line[open.upperBound..<line.index(line.endIndex, offsetBy: -2)]
                current = PrintedGoroutine(id: Int(line.split(separator: " ")[1])!,
                                           state: bracket.components(separatedBy: ", ")[0])
                creatorNext = false
            } else if current != nil {
                if line.isEmpty {
                    close()
                } else if line.hasPrefix("\t") {
                    if line.contains("stack unavailable") {
                        current!.unavailable = true
                    } else if creatorNext {
                        creatorNext = false
                    } else {
                        current!.locations.append(String(line.dropFirst().split(separator: " ")[0]))
                    }
                } else if line.hasPrefix("created by ") {
                    creatorNext = true
                } else if line.hasPrefix("...") {
                    continue
                } else if line.hasSuffix(")"), let paren = line.lastIndex(of: "(") {
                    current!.functions.append(String(line[..<paren]))
                    current!.inlined.append(line.hasSuffix("(...)"))
                } else {
                    close()
                }
            }
        }
        close()
        return goroutines
    }

    static func read(_ name: String) throws -> ReaderRun {
        ReaderDriver.run(GoTracebackReader.self, lines: ReaderDriver.lines(of: try ReaderFixture.bytes("go/\(name)")))
    }

    /// The reader's stacks as goroutines, to compare with what was printed.
    static func readGoroutines(_ run: ReaderRun) -> [PrintedGoroutine] {
        run.stacks.map { stack in
            PrintedGoroutine(id: 0, state: stack.state ?? "", functions: stack.functions,
                             inlined: stack.frames.map(\.inlined),
                             locations: stack.frames.map { "\($0.file ?? "nil"):\($0.line.map(String.init) ?? "nil")" })
        }
    }

    static func withoutIDs(_ goroutines: [PrintedGoroutine]) -> [PrintedGoroutine] {
        goroutines.map { var goroutine = $0; goroutine.id = 0; goroutine.unavailable = false; return goroutine }
    }

    static func expectEveryLineRead(_ run: ReaderRun, lines: Int) {
        #expect(run.recorder.violations == [])
        #expect(run.malformed == 0)
        #expect(run.refusedClaims == 0)
        #expect(run.consumed == lines, "preamble, goroutines, blank lines and registers all belong to the dump")
    }

    @Test("SIGQUIT, GOTRACEBACK=all: one stack per goroutine, wait reasons without durations, as printed")
    func sigquitAll() throws {
        let lines = try ReaderFixture.lines("go/sigquit-all.txt")
        let printed = Self.printedGoroutines(lines)
        let run = try Self.read("sigquit-all.txt")
        Self.expectEveryLineRead(run, lines: lines.count)
        #expect(run.recorder.dumps == [.goTraceback])
        #expect(printed.count == lines.filter { $0.hasPrefix("goroutine ") && $0.hasSuffix("]:") }.count)
        #expect(printed.count >= 25)
        #expect(Self.readGoroutines(run) == Self.withoutIDs(printed))
        #expect(run.stacks.allSatisfy { $0.format == .goTraceback && $0.count == 1 && $0.threadName == nil && $0.process == nil })
        #expect(lines.contains { $0.hasPrefix("goroutine ") && $0.contains(" minutes") }, "the fixture has durations to strip")
        #expect(lines.contains { $0.hasSuffix(", locked to thread]:") })
        #expect(!run.stacks.contains { $0.state?.contains(",") ?? true })
        let states = Set(run.stacks.compactMap(\.state))
        #expect(states.isSuperset(of: ["chan receive", "semacquire", "sleep", "select", "IO wait", "sync.Cond.Wait",
                                       "select (no cases)"]))
        let inlined = try #require(run.stacks.flatMap(\.frames).first { $0.function == "main.receiveOne" })
        #expect(inlined.inlined && inlined.file?.hasSuffix("src/main.go") == true && inlined.address == nil)
        let recursion = try #require(run.stacks.first { $0.functions.contains("main.recurse") })
        #expect(recursion.frames.count >= 100, "frames up to the elision are kept")
        #expect(!run.stacks.flatMap(\.functions).contains { $0.hasPrefix("created by") || $0.hasPrefix("...") })
    }

    @Test("SIGQUIT, default GOTRACEBACK: the goroutine running on another thread is a stack without frames")
    func sigquitDefault() throws {
        let lines = try ReaderFixture.lines("go/sigquit-default.txt")
        let printed = Self.printedGoroutines(lines)
        let run = try Self.read("sigquit-default.txt")
        Self.expectEveryLineRead(run, lines: lines.count)
        #expect(run.recorder.dumps == [.goTraceback])
        let unavailable = printed.filter(\.unavailable)
        #expect(unavailable.count == 1)
        // Stacks without frames are handed on when the dump ends (a later part of it could still print them).
        #expect(Self.readGoroutines(run) == Self.withoutIDs(printed.filter { !$0.unavailable } + unavailable))
        #expect(run.stacks.last?.state == "running" && run.stacks.last?.frames.isEmpty == true)
    }

    @Test("SIGQUIT, GOTRACEBACK=crash: every thread's part is one dump; the running goroutine's stack is read once")
    func sigquitCrash() throws {
        let lines = try ReaderFixture.lines("go/sigquit-crash.txt")
        let printed = Self.printedGoroutines(lines)
        let run = try Self.read("sigquit-crash.txt")
        Self.expectEveryLineRead(run, lines: lines.count)
        #expect(lines.filter { $0 == "SIGQUIT: quit" }.count > 1)
        #expect(run.recorder.dumps == [.goTraceback])
        let unavailable = try #require(printed.first { $0.unavailable })
        let printedLater = printed.filter { $0.id == unavailable.id && !$0.unavailable }
        #expect(printedLater.count == 1)
        #expect(Self.readGoroutines(run) == Self.withoutIDs(printed.filter { !$0.unavailable }))
        #expect(run.stacks.contains { $0.functions.first == "main.spin" && $0.state == "running" })
        #expect(!run.stacks.contains { $0.frames.isEmpty })
    }

    @Test("SIGQUIT, GOTRACEBACK=system: runtime frames with fp/sp/pc read like the others")
    func sigquitSystem() throws {
        let lines = try ReaderFixture.lines("go/sigquit-system.txt")
        let run = try Self.read("sigquit-system.txt")
        Self.expectEveryLineRead(run, lines: lines.count)
        #expect(Self.readGoroutines(run) == Self.withoutIDs(Self.printedGoroutines(lines)))
        #expect(run.stacks.flatMap(\.functions).contains("runtime.gopark"))
    }

    @Test("a panic, GOTRACEBACK=all: the panicking goroutine first; the message is not a dump line")
    func panicOutput() throws {
        let lines = try ReaderFixture.lines("go/panic-all.txt")
        let printed = Self.printedGoroutines(lines)
        let run = try Self.read("panic-all.txt")
        #expect(run.recorder.violations == [])
        #expect(run.malformed == 0 && run.refusedClaims == 0)
        #expect(run.recorder.dumps == [.goTraceback])
        #expect(Self.readGoroutines(run) == Self.withoutIDs(printed))
        #expect(lines.first?.hasPrefix("panic: ") == true)
        let firstHeader = try #require(lines.firstIndex { $0.hasPrefix("goroutine ") })
        #expect(run.unclaimed == firstHeader, "the panic message and the blank line after it are outside the dump")
        #expect(run.stacks.first?.state == "running")
        #expect(run.stacks.first?.functions == ["main.fail", "main.main"])
    }

    @Test("debug=2: one dump per goroutine listing; two listings one after the other are two dumps")
    func debug2() throws {
        let lines = try ReaderFixture.lines("go/debug2.txt")
        let printed = Self.printedGoroutines(lines)
        let run = try Self.read("debug2.txt")
        Self.expectEveryLineRead(run, lines: lines.count)
        #expect(run.recorder.dumps == [.goTraceback])
        #expect(Self.readGoroutines(run) == Self.withoutIDs(printed))
        #expect(run.stacks.first?.state == "running", "the goroutine serving the request comes first")

        let twice = ReaderDriver.run(GoTracebackReader.self, text: (lines + lines).joined(separator: "\n"))
        #expect(twice.recorder.dumps.count == 2, "a goroutine number seen again starts the next dump")
        #expect(twice.stacks.count == 2 * printed.count)
        #expect(twice.recorder.violations == [])
    }

    @Test("a service log: every line prefixed, other messages between goroutines; same stacks as the bare output")
    func serviceLog() throws {
        let log = try ReaderFixture.lines("go/service.log")
        let tag = " ERROR [stderr] "
        let bare = log.compactMap { line in line.range(of: tag).map { String(line[$0.upperBound...]) } }
        #expect(bare.contains("SIGQUIT: quit"))
        let foreign = log.filter { !$0.contains(tag) && !$0.contains(" DEBUG [pprof] ") }
        #expect(foreign.count > 5, "other messages interleave")
        let expected = ReaderDriver.run(GoTracebackReader.self, text: bare.joined(separator: "\n"))
        #expect(Self.readGoroutines(expected) == Self.withoutIDs(Self.printedGoroutines(bare)))

        let run = ReaderDriver.run(GoTracebackReader.self, lines: ReaderDriver.lines(of: try ReaderFixture.bytes("go/service.log")))
        #expect(run.recorder.violations == [])
        #expect(run.malformed == 0 && run.refusedClaims == 0)
        #expect(run.recorder.dumps == [.goTraceback])
        #expect(run.stacks == expected.stacks)
    }

    @Test("log prefixes longer than the one learned leave stray text before the content: still read")
    func strayLeadingText() throws {
        let lines = try ReaderFixture.lines("go/sigquit-all.txt")
        // "[7] " then "[10] ", "[100] ", …: each prefix is longer than the one learned at the last claim.
        let prefixed = lines.enumerated().map { "[\($0.offset)] \($0.element)" }
        let run = ReaderDriver.run(GoTracebackReader.self, text: prefixed.joined(separator: "\n"))
        #expect(run.recorder.violations == [])
        #expect(run.malformed == 0 && run.refusedClaims == 0)
        #expect(run.recorder.dumps == [.goTraceback])
        #expect(Self.readGoroutines(run) == Self.withoutIDs(Self.printedGoroutines(lines)))
    }

    @Test("truncated output: stacks before the cut, the last cut short; no out-of-order calls")
    func truncated() throws {
        let bytes = try ReaderFixture.bytes("go/sigquit-all.txt")
        for cut in [11, bytes.count / 4, bytes.count / 2 + 3, bytes.count - 40] {
            let kept = Array(bytes[..<cut])
            let keptLines = ReaderDriver.lines(of: kept).map { String(decoding: $0, as: UTF8.self) }
            let run = ReaderDriver.run(GoTracebackReader.self, lines: ReaderDriver.lines(of: kept))
            #expect(run.recorder.violations == [])
            #expect(run.stacks.count == keptLines.filter { $0.hasPrefix("goroutine ") && $0.hasSuffix("]:") }.count)
        }
    }

    @Test("garbage, binary bytes, empty lines and 1 MB lines: no crash, nothing invented")
    func garbage() throws {
        var generator = SystemRandomNumberGenerator()
        var noise: [[UInt8]] = [[], Array("goroutine".utf8), Array("goroutine 1 [".utf8), Array("goroutine x [a]:".utf8),
                                Array("SIGQUIT: quit now".utf8), Array("\t/a.go:1".utf8), Array("main.f()".utf8)]
        for _ in 0..<200 { noise.append((0..<Int.random(in: 0..<300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }) }
        let idle = ReaderDriver.run(GoTracebackReader.self, lines: noise)
        #expect(idle.stacks.isEmpty && idle.recorder.dumps.isEmpty && idle.recorder.violations == [])

        let huge = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)
        var lines: [[UInt8]] = [Array("goroutine 1 [".utf8) + huge + Array("]:".utf8)]
        lines.append(Array("main.".utf8) + huge + Array("(0x1)".utf8))
        lines.append(Array("\t/src/".utf8) + huge + Array(".go:42 +0x1d".utf8))
        lines.append(Array("main.f(".utf8) + huge + Array(")".utf8))
        lines.append(huge)
        lines.append(Array("goroutine 2 [sleep]:".utf8))
        lines.append(Array("time.Sleep(0x1)".utf8))
        lines += noise
        let run = ReaderDriver.run(GoTracebackReader.self, lines: lines)
        #expect(run.recorder.violations == [])
        #expect(run.recorder.dumps == [.goTraceback])
        #expect(run.stacks.count == 2)
        #expect(run.stacks.first?.state?.utf8.count == 1 << 20)
        #expect(run.stacks.first?.frames.map(\.line) == [42, nil])
        #expect(run.stacks.first?.frames.first?.function.utf8.count == (1 << 20) + 5)
        #expect(run.stacks.first?.frames.last?.function == "main.f")
        #expect(run.stacks.last?.functions.first == "time.Sleep")
    }

    @Test("claim finds headers and the SIGQUIT line after any prefix, and nothing else")
    func claims() {
        func claim(_ text: String) -> Int? {
            var bytes = Array(text.utf8)
            return bytes.withUnsafeMutableBufferPointer { GoTracebackReader.claim(LineBytes($0)) }
        }
        #expect(claim("goroutine 1 [running]:") == 0)
        #expect(claim("2026-11-26 ERROR goroutine 21 [chan receive, 5 minutes, locked to thread]:") == 17)
        #expect(claim("goroutine 1 gp=0xc000002380 m=0 mp=0x5f3b40 [running]:") == 0)
        #expect(claim("x: SIGQUIT: quit") == 3)
        #expect(claim("goroutine profile: total 27") == nil)
        #expect(claim("\tgoroutine running on other thread; stack unavailable") == nil)
        #expect(claim("the goroutine 5 [x] said") == nil)
        #expect(claim("goroutine 5 [x]") == nil)
        #expect(claim("SIGQUIT: quit received") == nil)
        #expect(claim("") == nil)
    }
}
