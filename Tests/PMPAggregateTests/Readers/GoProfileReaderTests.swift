import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPTestSupport
import Testing

/// debug1.txt is /debug/pprof/goroutine?debug=1 of Fixtures/go/src/main.go, fetched just before debug2.txt from
/// the same process (Go 1.19; see Fixtures/go/capture.sh).
@Suite("Go goroutine profile (debug=1) reader") struct GoProfileReaderTests {
    /// A block as the fixture prints it, read here with plain String handling, independently of the reader.
    struct PrintedBlock: Equatable {
        var count: Int
        var functions: [String] = []
        var addresses: [UInt64] = []
        var locations: [String] = []
    }

    static func printedProfile(_ lines: [String]) -> (total: Int?, blocks: [PrintedBlock]) {
        var total: Int?
        var blocks: [PrintedBlock] = []
        for line in lines {
            if line.hasPrefix("goroutine profile: total ") {
                total = Int(line.dropFirst("goroutine profile: total ".count))
            } else if let at = line.range(of: " @ 0x") {
                blocks.append(PrintedBlock(count: Int(line[..<at.lowerBound])!))
            } else if line.hasPrefix("#\t"), !blocks.isEmpty {
                let fields = line.split(separator: "\t", omittingEmptySubsequences: true)
                blocks[blocks.count - 1].addresses.append(UInt64(fields[1].dropFirst(2), radix: 16)!)
                let name = fields[2]
                blocks[blocks.count - 1].functions.append(String(name[..<name.range(of: "+0x", options: .backwards)!.lowerBound]))
                blocks[blocks.count - 1].locations.append(String(fields[3]))
            }
        }
        return (total, blocks)
    }

    static func readBlocks(_ run: ReaderRun) -> [PrintedBlock] {
        run.stacks.map { stack in
            PrintedBlock(count: stack.count, functions: stack.functions, addresses: stack.frames.compactMap(\.address),
                         locations: stack.frames.map { "\($0.file ?? "nil"):\($0.line.map(String.init) ?? "nil")" })
        }
    }

    @Test("debug=1: one counted stack per block; the counts add up to the profile's total")
    func debug1() throws {
        let lines = try ReaderFixture.lines("go/debug1.txt")
        let printed = Self.printedProfile(lines)
        let run = ReaderDriver.run(GoProfileReader.self, lines: ReaderDriver.lines(of: try ReaderFixture.bytes("go/debug1.txt")))
        #expect(run.recorder.violations == [])
        #expect(run.malformed == 0 && run.refusedClaims == 0)
        #expect(run.consumed == lines.count, "labels and blank lines belong to the profile too")
        #expect(run.recorder.dumps == [.goProfile])
        let total = try #require(printed.total)
        #expect(printed.blocks.count == lines.filter { $0.contains(" @ 0x") }.count)
        #expect(printed.blocks.map(\.count).reduce(0, +) == total)
        #expect(run.stacks.map(\.count).reduce(0, +) == total)
        #expect(Self.readBlocks(run) == printed.blocks)
        #expect(run.stacks.allSatisfy { $0.format == .goProfile && $0.state == nil && $0.threadName == nil })
        #expect(run.stacks.first { $0.functions == ["main.receiveForever"] }?.count == 5)
        #expect(lines.contains { $0.hasPrefix("# labels: ") })
    }

    @Test("debug=1 and debug=2 of the same process agree on its blocked goroutines")
    func agreesWithDebug2() throws {
        let profile = ReaderDriver.run(GoProfileReader.self, text: try ReaderFixture.text("go/debug1.txt"))
        let traceback = ReaderDriver.run(GoTracebackReader.self, text: try ReaderFixture.text("go/debug2.txt"))
        let goroutines = Dictionary(traceback.stacks.map { ($0.functions, 1) }, uniquingKeysWith: +)
        // The goroutines of main.go, blocked the whole time. (debug=1 keeps 32 frames of the deep recursion,
        // debug=2 a hundred; debug=2 hides runtime frames, debug=1 only those at the leaf; the goroutine serving
        // each request differs.)
        let blocked = profile.stacks.filter {
            $0.functions.contains { $0.hasPrefix("main.") } && !$0.functions.contains("main.recurse")
                && !$0.functions.contains { $0.hasPrefix("runtime.") }
        }
        #expect(blocked.count >= 10)
        for stack in blocked {
            #expect(goroutines[stack.functions] == stack.count, "\(stack.functions)")
        }
    }

    @Test("a service log that logged the profile with a prefix per line and other messages between blocks")
    func serviceLog() throws {
        let log = try ReaderFixture.lines("go/service.log")
        let tag = " DEBUG [pprof] "
        let bare = log.compactMap { line in line.range(of: tag).map { String(line[$0.upperBound...]) } }
        let printed = Self.printedProfile(bare)
        let run = ReaderDriver.run(GoProfileReader.self, lines: ReaderDriver.lines(of: try ReaderFixture.bytes("go/service.log")))
        #expect(run.recorder.violations == [])
        #expect(run.malformed == 0 && run.refusedClaims == 0)
        #expect(run.recorder.dumps == [.goProfile], "blocks after other messages stay in the same profile")
        #expect(Self.readBlocks(run) == printed.blocks)
        #expect(run.stacks.map(\.count).reduce(0, +) == printed.total)
        #expect(run.unclaimed > 5)
    }

    @Test("two profiles are two dumps; a block without the header line still counts")
    func severalProfiles() throws {
        let lines = try ReaderFixture.lines("go/debug1.txt")
        let printed = Self.printedProfile(lines)
        let run = ReaderDriver.run(GoProfileReader.self, text: (lines + lines + ["other"] + lines.dropFirst()).joined(separator: "\n"))
        #expect(run.recorder.violations == [])
        #expect(run.recorder.dumps.count == 2)
        #expect(run.stacks.map(\.count).reduce(0, +) == 3 * printed.total!)
    }

    @Test("truncated, garbage, binary and 1 MB lines: no crash, nothing invented")
    func badInput() throws {
        let bytes = try ReaderFixture.bytes("go/debug1.txt")
        for cut in [10, bytes.count / 3, bytes.count / 2 + 5, bytes.count - 3] {
            let kept = ReaderDriver.lines(of: Array(bytes[..<cut])).map { String(decoding: $0, as: UTF8.self) }
            let run = ReaderDriver.run(GoProfileReader.self, text: kept.joined(separator: "\n"))
            #expect(run.recorder.violations == [])
            #expect(run.stacks.count == kept.filter { $0.contains(" @ 0x") }.count)
        }
        var generator = SystemRandomNumberGenerator()
        var noise: [[UInt8]] = [[], Array("goroutine profile: total".utf8), Array("5 @".utf8), Array("5 @ 12".utf8),
                                Array("# labels: {}".utf8), Array("#\t0x1\tmain.f+0x1\t/a.go:1".utf8)]
        for _ in 0..<200 { noise.append((0..<Int.random(in: 0..<300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }) }
        let idle = ReaderDriver.run(GoProfileReader.self, lines: noise)
        #expect(idle.stacks.isEmpty && idle.recorder.dumps.isEmpty && idle.recorder.violations == [])

        let huge = [UInt8](repeating: UInt8(ascii: "y"), count: 1 << 20)
        var lines: [[UInt8]] = [Array("goroutine profile: total 3".utf8), Array("3 @ 0x1 0x2".utf8)]
        lines.append(Array("#\t0x1\tmain.".utf8) + huge + Array("+0x10\t/src/a.go:7".utf8))
        lines.append(Array("#\t0x2\tmain.g+0x1\t/src/".utf8) + huge + Array(".go:9".utf8))
        lines.append(Array("#\t0x3".utf8))
        lines.append(huge)
        lines += noise
        let run = ReaderDriver.run(GoProfileReader.self, lines: lines)
        #expect(run.recorder.violations == [])
        #expect(run.stacks.count == 1)
        #expect(run.stacks.first?.count == 3)
        #expect(run.stacks.first?.frames.map(\.address) == [1, 2, 3])
        #expect(run.stacks.first?.frames.first?.function.utf8.count == (1 << 20) + 5)
        #expect(run.stacks.first?.frames.map(\.line) == [7, 9, nil])
        #expect(run.stacks.first?.frames.last?.function == "?")
    }

    @Test("claim finds the total line and block lines after any prefix, and nothing else")
    func claims() {
        func claim(_ text: String) -> Int? {
            var bytes = Array(text.utf8)
            return bytes.withUnsafeMutableBufferPointer { GoProfileReader.claim(LineBytes($0)) }
        }
        #expect(claim("goroutine profile: total 27") == 0)
        #expect(claim("I1126 pprof] goroutine profile: total 1") == 13)
        #expect(claim("5 @ 0x43b296 0x407e9b") == 0)
        #expect(claim("2026-11-26 DEBUG 12 @ 0x43b296") == 17)
        #expect(claim("goroutine profile: total") == nil)
        #expect(claim("mail me @ 0x10") == nil)
        #expect(claim("5 @ 10:00") == nil)
        #expect(claim("5 @") == nil)
        #expect(claim("#\t0x674dd2\tmain.receiveForever+0x52\t/src/main.go:36") == nil)
        #expect(claim("goroutine 1 [running]:") == nil)
    }
}
