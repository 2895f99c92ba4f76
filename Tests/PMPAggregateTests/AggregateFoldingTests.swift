import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPTestSupport
import Testing

/// What pmp-aggregate prints for stacks that fold together, and for dumps whose lines other log records cut:
/// real Go goroutine dumps (a program run at test time), and every fixture of every reader.
@Suite("pmp-aggregate folding", .timeLimit(.minutes(5))) struct AggregateFoldingTests {
    static let workersSource = ToolRun.fixtures("go").appendingPathComponent("workers/main.go").path

    /// The goroutine dump of Fixtures/go/workers/main.go run with `counts` goroutines of each kind.
    static func goroutineDump(_ counts: [Int]) throws -> String {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("pmp-go-cache").path
        let run = try ToolRun.run("/usr/bin/go", ["run", workersSource] + counts.map(String.init),
                                  environment: ["GOCACHE": cache, "GO111MODULE": "off", "GOFLAGS": ""], timeout: 240)
        #expect(run.status == 0, "go run: \(run.stderr)")
        let goroutines = run.stdout.components(separatedBy: "\n").filter { $0.hasPrefix("goroutine ") }.count
        #expect(goroutines == counts.reduce(1, +), "every worker and main")
        return run.stdout
    }

    /// The stack count of pmp-aggregate's summary, or its sample count when it gives one.
    static func summaryCount(_ stderr: String) throws -> Int {
        let match = try #require(stderr.firstMatch(of: /, (\d+) stacks?(?: \((\d+) samples?\))?, \d+ distinct/))
        return Int(match.output.2 ?? match.output.1)!
    }

    /// `lines` as a service log writes them: a prefix on every line, and after every `every` lines an
    /// unrelated record with the same prefix.
    static func interleaved(_ lines: [String], every: Int) -> String {
        var log: [String] = []
        for (index, line) in lines.enumerated() {
            let prefix = "2026-12-01T20:00:\(10 + index % 50).\(index % 1000)Z app[42]: "
            log.append(prefix + line)
            if (index + 1) % every == 0 { log.append(prefix + "request \(index) handled in 3 ms") }
        }
        return log.joined(separator: "\n") + "\n"
    }

    @Test("stacks folded by function show their own lines (all of them), never another stack's; wait states shown")
    func ownLinesAndStates() throws {
        // Kind 0 (main.helper above main.worker, line 30) comes first; kinds 1, 2 (lines 32, 34, chan receive)
        // and 3 (line 36, nil chan) fold into one main.worker stack.
        let path = try AggregateTool.temporaryFile("workers.txt", Data(try Self.goroutineDump([20, 50, 50, 30]).utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try AggregateTool.run([path])
        #expect(run.status == 0)
        let blocks = run.output.components(separatedBy: "\n\n").dropFirst()
        let folded = try #require(blocks.first { $0.contains("    130  ") }, "\(run.output)")
        let lines = folded.split(separator: "\n").map { String($0).trimmingCharacters(in: .whitespaces) }
        #expect(lines.first == "130  [chan receive 100, chan receive (nil chan) 30]")
        #expect(lines.count == 2)
        #expect(lines.last?.hasPrefix("main.worker(...)") == false)
        #expect(lines.last?.hasSuffix("workers/main.go:32, 34, 36") == true, "\(lines)")
        let helper = try #require(blocks.first { $0.contains("     20  ") }, "\(run.output)")
        #expect(helper.contains("20  [chan receive]"))
        #expect(helper.contains("main.helper  at "))
        #expect(helper.contains("workers/main.go:30"))
        #expect(!folded.contains("main.go:30"), "a line of another stack")
        let main = try #require(blocks.first { $0.contains("main.main") })
        #expect(main.contains("[running]"))

        // By line, the three stay apart, each at its own line; by state, the nil channel is apart.
        let byLine = try AggregateTool.run(["--fold-by", "line", path])
        #expect(byLine.output.contains("workers/main.go:32\n"))
        #expect(byLine.output.contains("workers/main.go:34\n"))
        #expect(byLine.output.contains("     50  [chan receive]"))
        let byState = try AggregateTool.run(["--by-state", path])
        #expect(byState.output.contains("    100  [chan receive]"))
        #expect(byState.output.contains("workers/main.go:32, 34\n"))
        #expect(byState.output.contains("     30  [chan receive (nil chan)]"))
        let counts = AggregateTool.folded(try AggregateTool.run(["--format", "folded", path]).output)
        #expect(counts == ["main.worker": 130, "main.worker;main.helper": 20, "main.main": 1])
    }

    @Test("a Go dump in a prefixed log with a record every 97 lines: no goroutine cut, split or lost")
    func goDumpAmongRecords() throws {
        let dump = try Self.goroutineDump([40, 50, 50, 30, 30])
        let lines = dump.components(separatedBy: "\n")
        let path = try AggregateTool.temporaryFile("service.log", Data(Self.interleaved(lines, every: 97).utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try AggregateTool.run(["--format", "folded", path])
        #expect(run.status == 0)
        let counts = AggregateTool.folded(run.output)
        #expect(counts == [
            "main.worker": 130, "main.worker;main.helper": 40, "main.main": 1,
            "main.worker;sync.(*Mutex).Lock;sync.(*Mutex).lockSlow;sync.runtime_SemacquireMutex": 30,
        ], "\(run.stderr)")
        #expect(counts.values.reduce(0, +) == (try Self.summaryCount(run.stderr)))
        #expect(run.stderr.contains(", 201 stacks,"), "\(run.stderr)")
        #expect(run.stderr.contains("; 0 lines could not be placed"))
    }

    /// Every reader's fixtures, and one of our dumps.
    static func fixtures() throws -> [(name: String, text: String)] {
        var fixtures: [(String, String)] = []
        for (directory, names) in [("gdb", ["pmp-demo-12-threads.txt"]),
                                   ("eu-stack", ["plain.txt", "one-thread-build-id.txt", "source-module-inlines.txt",
                                                 "verbose-modules.txt"]),
                                   ("go", ["debug1.txt", "debug2.txt", "sigquit-all.txt", "sigquit-crash.txt", "service.log"])] {
            for name in names {
                let url = ToolRun.fixtures(directory).appendingPathComponent(name)
                fixtures.append(("\(directory)/\(name)", try String(contentsOf: url, encoding: .utf8)))
            }
        }
        let ours = (0..<3).flatMap { DumpRenderer.lines(AggregatorTests.snapshot(pid: 300, seed: $0), sequence: $0 + 1) }
        fixtures.append(("pmp", ours.joined(separator: "\n") + "\n"))
        return fixtures
    }

    @Test("every reader: records between a dump's lines change nothing, and the summary adds up to the output")
    func everyReaderAmongRecords() throws {
        for fixture in try Self.fixtures() {
            let clean = try AggregateTool.temporaryFile("clean", Data(fixture.text.utf8))
            defer { try? FileManager.default.removeItem(atPath: clean) }
            let expected = try AggregateTool.run(["--format", "folded", clean])
            let expectedCounts = AggregateTool.folded(expected.output)
            #expect(!expectedCounts.isEmpty, "\(fixture.name)")
            #expect(expectedCounts.values.reduce(0, +) == (try Self.summaryCount(expected.stderr)), "\(fixture.name): \(expected.stderr)")
            var lines = fixture.text.components(separatedBy: "\n")
            if lines.last == "" { lines.removeLast() }
            for every in [3, 7, 97] {
                let path = try AggregateTool.temporaryFile("log", Data(Self.interleaved(lines, every: every).utf8))
                defer { try? FileManager.default.removeItem(atPath: path) }
                let run = try AggregateTool.run(["--format", "folded", path])
                #expect(run.status == 0)
                let counts = AggregateTool.folded(run.output)
                #expect(counts == expectedCounts, "\(fixture.name), a record every \(every) lines: \(run.stderr)")
                #expect(counts.values.reduce(0, +) == (try Self.summaryCount(run.stderr)), "\(fixture.name): \(run.stderr)")
            }
        }
    }
}
