import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPTestSupport
import Testing

/// The eu-stack fixtures were printed by elfutils 0.188's eu-stack on a running `pmp-demo --threads 12`:
/// plain.txt (`-p PID`), source-module-inlines.txt (`-s -m -i`), verbose-modules.txt (`-v -l`) and
/// one-thread-build-id.txt (`-1 -b -n 4`, stderr included).
@Suite("eu-stack reader") struct EuStackReaderTests {
    /// A thread as the fixture prints it, read here with plain String handling, independently of the reader.
    struct PrintedThread {
        var tid: String
        var functions: [String] = []
        var addresses: [UInt64] = []
        var images: [String?] = []
        var locations: [String?] = []
    }

    static func printedThreads(_ lines: [String]) -> (pid: String?, threads: [PrintedThread]) {
        var pid: String?
        var threads: [PrintedThread] = []
        for line in lines {
            if line.hasPrefix("PID "), line.hasSuffix(" - process") {
                pid = String(line.dropFirst(4).prefix { $0.isNumber })
            } else if line.hasPrefix("TID ") {
                threads.append(PrintedThread(tid: String(line.dropFirst(4).dropLast())))
            } else if line.hasPrefix("#"), !threads.isEmpty {
                let words = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
                threads[threads.count - 1].addresses.append(UInt64(words[1].dropFirst(2), radix: 16)!)
                var rest = words.count > 2 ? String(words[2]) : ""
                if rest.hasPrefix("- 1 ") { rest = String(rest.dropFirst(4)) }
                rest = rest.trimmingCharacters(in: .whitespaces)
                var image: String?
                if let dash = rest.range(of: " - ", options: .backwards) {
                    image = String(rest[dash.upperBound...])
                    rest = String(rest[..<dash.lowerBound])
                }
                threads[threads.count - 1].functions.append(rest.isEmpty ? "?" : rest)
                threads[threads.count - 1].images.append(image)
                threads[threads.count - 1].locations.append(nil)
            } else if line.hasPrefix("    "), !line.hasPrefix("    ["), !threads.isEmpty {
                // file:line or file:line:column: keep file:line.
                var location = line.trimmingCharacters(in: .whitespaces)
                let parts = location.split(separator: ":")
                if parts.count >= 3, Int(parts[parts.count - 1]) != nil, Int(parts[parts.count - 2]) != nil {
                    location = parts.dropLast().joined(separator: ":")
                }
                threads[threads.count - 1].locations[threads[threads.count - 1].locations.count - 1] = location
            }
        }
        return (pid, threads)
    }

    static func read(_ name: String) throws -> ReaderRun {
        ReaderDriver.run(EuStackReader.self, lines: ReaderDriver.lines(of: try ReaderFixture.bytes("eu-stack/\(name)")))
    }

    static func expectAllRead(_ run: ReaderRun, lines: Int) {
        #expect(run.recorder.violations == [])
        #expect(run.malformed == 0)
        #expect(run.refusedClaims == 0)
        #expect(run.consumed == lines, "every line of eu-stack's output belongs to the dump")
    }

    @Test("plain output: one stack per TID, frames and addresses as printed, one dump with the pid")
    func plain() throws {
        let lines = try ReaderFixture.lines("eu-stack/plain.txt")
        let printed = Self.printedThreads(lines)
        let run = try Self.read("plain.txt")
        Self.expectAllRead(run, lines: lines.count)
        #expect(run.recorder.dumps == [.euStack])
        #expect(printed.threads.count == lines.filter { $0.hasPrefix("TID ") }.count)
        #expect(printed.threads.count >= 13, "pmp-demo --threads 12 has more than 12 threads")
        #expect(run.stacks.count == printed.threads.count)
        for (stack, thread) in zip(run.stacks, printed.threads) {
            #expect(stack.format == .euStack)
            #expect(stack.process == printed.pid)
            #expect(stack.threadName == nil && stack.state == nil && stack.count == 1)
            #expect(stack.functions == thread.functions, "TID \(thread.tid)")
            #expect(stack.frames.map(\.address) == thread.addresses, "TID \(thread.tid)")
            #expect(stack.frames.allSatisfy { $0.file == nil && $0.image == nil && !$0.inlined })
        }
        #expect(run.stacks.contains { $0.functions.contains("clock_nanosleep@GLIBC_2.2.5") })
    }

    @Test("stacks folded by function give the counts the tool printed")
    func foldedCounts() throws {
        let printed = Self.printedThreads(try ReaderFixture.lines("eu-stack/plain.txt"))
        let expected = Dictionary(printed.threads.map { ($0.functions, 1) }, uniquingKeysWith: +)
        let run = try Self.read("plain.txt")
        let folded = Dictionary(run.stacks.map { ($0.functions, $0.count) }, uniquingKeysWith: +)
        #expect(folded == expected)
        #expect(folded.values.contains { $0 > 1 }, "the demo's workers share stacks")
    }

    @Test("-s -m -i: source lines, modules, and inlined frames at the address of their caller")
    func sourceModulesInlines() throws {
        let lines = try ReaderFixture.lines("eu-stack/source-module-inlines.txt")
        let printed = Self.printedThreads(lines)
        let run = try Self.read("source-module-inlines.txt")
        Self.expectAllRead(run, lines: lines.count)
        #expect(run.stacks.count == printed.threads.count)
        var inlinedSeen = 0
        for (stack, thread) in zip(run.stacks, printed.threads) {
            #expect(stack.functions == thread.functions, "TID \(thread.tid)")
            #expect(stack.frames.map(\.image) == thread.images, "TID \(thread.tid)")
            #expect(stack.frames.map { frame in frame.file.map { "\($0):\(frame.line!)" } } == thread.locations)
            for index in thread.functions.indices {
                let inlined = index + 1 < thread.functions.count
                    && thread.addresses[index + 1] == thread.addresses[index]
                    && thread.functions[index + 1] != thread.functions[index]
                #expect(stack.frames[index].inlined == inlined, "TID \(thread.tid) frame \(index)")
                if inlined { inlinedSeen += 1 }
            }
        }
        #expect(inlinedSeen > 0, "glibc's futex wait is printed with an inlined frame")
        let futex = try #require(run.stacks.flatMap(\.frames).first { $0.function == "__futex_abstimed_wait_common64" })
        #expect(futex.inlined && futex.file == "./nptl/futex-internal.c" && futex.image == "/usr/lib/x86_64-linux-gnu/libc.so.6")
    }

    @Test("-v -l: the module map is skipped; activation marks and everything else read")
    func verboseWithModuleMap() throws {
        let lines = try ReaderFixture.lines("eu-stack/verbose-modules.txt")
        let printed = Self.printedThreads(lines)
        let run = try Self.read("verbose-modules.txt")
        Self.expectAllRead(run, lines: lines.count)
        #expect(run.recorder.dumps == [.euStack])
        #expect(run.stacks.count == printed.threads.count)
        for (stack, thread) in zip(run.stacks, printed.threads) {
            #expect(stack.functions == thread.functions, "TID \(thread.tid)")
            #expect(stack.frames.map(\.image) == thread.images)
            #expect(stack.process == printed.pid)
        }
        #expect(!run.stacks.flatMap(\.functions).contains { $0.hasPrefix("- 1") || $0.hasPrefix(" ") })
    }

    @Test("-1 -b -n 4 with its stderr: no PID line, build ids and the tool's note consumed")
    func oneThread() throws {
        let lines = try ReaderFixture.lines("eu-stack/one-thread-build-id.txt")
        let run = try Self.read("one-thread-build-id.txt")
        Self.expectAllRead(run, lines: lines.count)
        #expect(run.recorder.dumps == [.euStack])
        #expect(run.stacks.count == 1)
        #expect(run.stacks.first?.process == nil)
        #expect(run.stacks.first?.functions == Self.printedThreads(lines).threads.first?.functions)
        #expect(run.stacks.first?.frames.count == 4)
    }

    @Test("several dumps in one input, each line with a log prefix and other log lines between threads")
    func prefixedAndInterleaved() throws {
        let plain = try ReaderFixture.lines("eu-stack/plain.txt")
        let single = try ReaderFixture.lines("eu-stack/one-thread-build-id.txt")
        var log: [String] = ["2026-11-26T20:51:00.000001Z host cron[12]: starting eu-stack"]
        for (index, line) in (plain + single + single + plain).enumerated() {
            if line.hasPrefix("TID "), index % 2 == 0 {
                log.append("2026-11-26T20:51:01.\(String(format: "%06d", index))Z host sshd[99]: session opened")
            }
            log.append("2026-11-26T20:51:01.\(String(format: "%06d", index))Z host stack-watch[4242]: \(line)")
        }
        let run = ReaderDriver.run(EuStackReader.self, text: log.joined(separator: "\r\n"))
        let printed = Self.printedThreads(plain).threads.map(\.functions)
        let printedSingle = Self.printedThreads(single).threads.map(\.functions)
        #expect(run.recorder.violations == [])
        #expect(run.malformed == 0 && run.refusedClaims == 0)
        #expect(run.recorder.dumps.count == 4, "a PID line, and a thread seen again, start a dump")
        #expect(run.stacks.map(\.functions) == printed + printedSingle + printedSingle + printed)
        #expect(run.stacks.map(\.dump) == Array(repeating: 0, count: printed.count) + [1, 2]
            + Array(repeating: 3, count: printed.count))
        #expect(run.unclaimed >= 2)
    }

    @Test("truncated output: the stacks before the cut, the last one cut short; no out-of-order calls")
    func truncated() throws {
        let bytes = try ReaderFixture.bytes("eu-stack/source-module-inlines.txt")
        let lines = ReaderDriver.lines(of: bytes)
        for cut in [bytes.count / 3, bytes.count / 2 + 7, bytes.count - 5] {
            let run = ReaderDriver.run(EuStackReader.self, lines: ReaderDriver.lines(of: Array(bytes[..<cut])))
            let kept = ReaderDriver.lines(of: Array(bytes[..<cut]))
            #expect(run.recorder.violations == [])
            #expect(run.stacks.count == kept.filter { $0.starts(with: Array("TID ".utf8)) }.count)
            #expect(run.stacks.count <= lines.filter { $0.starts(with: Array("TID ".utf8)) }.count)
        }
    }

    @Test("garbage, empty lines, binary bytes and a 1 MB line: no crash, nothing invented")
    func garbage() throws {
        var lines: [[UInt8]] = [[], Array("PID".utf8), Array("TID :".utf8), Array("TID 12".utf8), Array("#0  0x".utf8)]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 { lines.append((0..<Int.random(in: 0..<300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }) }
        let idle = ReaderDriver.run(EuStackReader.self, lines: lines)
        #expect(idle.stacks.isEmpty && idle.recorder.dumps.isEmpty && idle.recorder.violations == [])

        let huge = [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20)
        var dump: [[UInt8]] = [Array("PID 7 - process".utf8), Array("TID 7:".utf8)]
        dump.append(Array("#0  0x0000000000401000 ".utf8) + huge)
        dump.append(Array("    ".utf8) + huge + Array(":12".utf8))
        dump.append(huge)
        dump.append(Array("TID 8:".utf8))
        dump.append(Array("#0  0x00000000004010".utf8))
        dump += lines
        let run = ReaderDriver.run(EuStackReader.self, lines: dump)
        #expect(run.recorder.violations == [])
        #expect(run.recorder.dumps == [.euStack])
        #expect(run.stacks.count == 2)
        #expect(run.stacks.first?.frames.first?.function.utf8.count == 1 << 20)
        #expect(run.stacks.first?.frames.first?.line == 12)
        #expect(run.stacks.last?.frames.first?.function == "?")
    }

    @Test("claim finds the headers after any prefix and nothing else")
    func claims() {
        func claim(_ text: String) -> Int? {
            var bytes = Array(text.utf8)
            return bytes.withUnsafeMutableBufferPointer { EuStackReader.claim(LineBytes($0)) }
        }
        #expect(claim("PID 28315 - process") == 0)
        #expect(claim("PID 28315 - core") == 0)
        #expect(claim("[info] PID 1 - process module memory map") == 7)
        #expect(claim("TID 28315:") == 0)
        #expect(claim("Nov 26 host x[1]: TID 28315:") == 18)
        #expect(claim("TID 28315: and more") == nil)
        #expect(claim("UUID 12 - x") == nil)
        #expect(claim("the PID 12 is gone") == nil)
        #expect(claim("#0  0x00007f685deed545 clock_nanosleep@GLIBC_2.2.5") == nil)
        #expect(claim("") == nil)
    }
}
