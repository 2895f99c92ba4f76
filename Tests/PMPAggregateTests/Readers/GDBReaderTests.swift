import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPTestSupport
import Testing

/// gdb's `thread apply all bt` / `bt` read by `GDBReader`: a real gdb run on pmp-demo, and hand-made lines for
/// the shapes that run did not print.
@Suite("gdb reader") struct GDBReaderTests {
    static let fixtureDirectory = TestPaths.fixtures.appendingPathComponent("gdb")

    /// `gdb -p PID -batch -ex "set pagination off" -ex "thread apply all bt"` on `pmp-demo --threads 12`.
    static func realDump() throws -> String {
        try String(contentsOf: fixtureDirectory.appendingPathComponent("pmp-demo-12-threads.txt"), encoding: .utf8)
    }

    static func read(_ text: String) -> StackRecorder {
        var reader = GDBReader()
        var recorder = StackRecorder()
        var active = false
        text.split(separator: "\n", omittingEmptySubsequences: false).forEach { line in
            var bytes = Array(line.utf8)
            bytes.withUnsafeMutableBufferPointer { buffer in
                let line = LineBytes(buffer)
                if !active, GDBReader.claim(line) == nil { return }
                active = reader.feed(line, into: &recorder) != .ended
            }
        }
        reader.finish(into: &recorder)
        return recorder
    }

    /// Stacks counted straight from the text: split on the "Thread " headers, take each "#" line's function
    /// (the word after "in ", or after the frame number when gdb printed no address).
    static func countByHand(_ text: String) -> [[String]: Int] {
        var counts: [[String]: Int] = [:]
        for block in text.components(separatedBy: "\nThread ").dropFirst() {
            let functions = block.components(separatedBy: "\n").filter { $0.hasPrefix("#") }.map { line -> String in
                let words = line.split(separator: " ", omittingEmptySubsequences: true)
                return String(words[1].hasPrefix("0x") ? words[3] : words[1])
            }
            counts[functions, default: 0] += 1
        }
        return counts
    }

    @Test("a real gdb dump of pmp-demo: every thread's stack, counted as gdb printed them")
    func realGDBDump() throws {
        let text = try Self.realDump()
        let expected = Self.countByHand(text)
        let threads = text.components(separatedBy: "\n").filter { $0.hasPrefix("Thread ") }.count
        #expect(threads == 18)
        #expect(expected.values.reduce(0, +) == threads)

        let aggregator = Aggregator(options: AggregateOptions(demangle: false))
        aggregator.consume(text: text)
        let profile = aggregator.finish()
        var folded: [[String]: Int] = [:]
        for stack in profile.stacks { folded[stack.frames.map(\.function), default: 0] += stack.count }
        #expect(folded == expected)
        #expect(profile.captures == 1)
        let report = aggregator.report
        #expect(report.dumps == [.gdb: 1])
        #expect(report.stacks == threads)
        #expect(report.unplacedLines == 0)
        // The dump runs from the first thread header to gdb's "[Inferior 1 … detached]"; the chatter around it
        // ("[New LWP …]", the attach frame, the blank line before the first header) is outside.
        let lines = text.components(separatedBy: "\n").dropLast()
        let first = try #require(lines.firstIndex { $0.hasPrefix("Thread ") })
        let detached = try #require(lines.firstIndex { $0.hasPrefix("[Inferior 1") })
        #expect(report.lines == lines.count)
        #expect(report.dumpLines == detached - first)
        #expect(report.linesOutsideDumps == lines.count - (detached - first))

        // The condition-wait workers, frame by frame: inlined frames without address, file and line, thread names.
        let recorder = Self.read(text)
        #expect(recorder.violations.isEmpty)
        let cond = try #require(recorder.stacks.first { $0.threadName == "cond-1" })
        #expect(cond.frames.count == 11)
        #expect(cond.frames[0] == .init(function: "__futex_abstimed_wait_common64", address: nil,
                                        file: "./nptl/futex-internal.c", line: 57, image: nil, inlined: true))
        #expect(cond.frames[2] == .init(function: "__GI___futex_abstimed_wait_cancelable64", address: 0x7f09_9dca_3f7b,
                                        file: "./nptl/futex-internal.c", line: 139, image: nil, inlined: false))
        let pool = try #require(recorder.stacks.first { $0.threadName == "oot.default-qos" })
        #expect(pool.frames[5] == .init(function: "_dispatch_sema4_timedwait", address: 0x7f09_9e16_fd81, file: nil,
                                        line: nil, image: "/opt/swift/usr/lib/swift/linux/libdispatch.so", inlined: false))
        #expect(Set(recorder.stacks.compactMap(\.threadName)).isSuperset(of: ["main", "pmp-capture", "busy-0", "read-8"]))
    }

    @Test("Swift names gdb leaves mangled are demangled in the profile")
    func demangled() throws {
        let aggregator = Aggregator()
        aggregator.consume(text: try Self.realDump())
        let frames = aggregator.finish().stacks.flatMap(\.frames)
        #expect(frames.contains { $0.function == "static Workers.blockedInConditionWait()" })
        #expect(frames.contains { $0.fullFunction == "static pmp_demo.Workers.blockedInConditionWait() -> ()" })
        #expect(!frames.contains { $0.function.hasPrefix("$s") || $0.fullFunction.hasPrefix("$s") })
    }

    static let handMade = """
        Thread 3 (Thread 0x7f00000003 (LWP 103) "worker "x""):
        #0  0x00007f0000001000 in ?? ()
        #1  0x00007f0000001010 in std::function<void ()>::operator() (this=0x1) at /usr/include/c++/12/bits/std_function.h:591
        #2  <signal handler called>
        #3  0x00007f0000001020 in log (fmt=0x5 "took %d at x.c:9 (slow)", args=((a=1, b=(c=2)), "q)")) at src/log.c:42
        #4  0x00007f0000001030 in start_thread () from /lib/x86_64-linux-gnu/libc.so.6
        Backtrace stopped: previous frame inner to this frame (corrupt stack?)

        Thread 2 (Thread 0x7f00000002 (LWP 102)):
        #0  inlined_leaf (x=<optimized out>) at a.c:1
        #1  0x00007f0000002000 in caller (s=0x1 "in ( at") at a.c:20
        #2  0x00007f0000002010 in main ()
        (More stack frames follow...)
        """

    @Test("frames with and without address, from an image, signal frames, arguments with parentheses and strings")
    func handMadeShapes() throws {
        let recorder = Self.read(Self.handMade)
        #expect(recorder.violations.isEmpty)
        #expect(recorder.dumps == [.gdb])
        #expect(recorder.stacks.count == 2)
        let first = try #require(recorder.stacks.first)
        #expect(first.threadName == #"worker "x""#)
        #expect(first.functions == ["??", "std::function<void ()>::operator()", "<signal handler called>", "log", "start_thread"])
        #expect(first.frames[1].file == "/usr/include/c++/12/bits/std_function.h")
        #expect(first.frames[1].line == 591)
        #expect(first.frames[3].file == "src/log.c")
        #expect(first.frames[3].line == 42)
        #expect(first.frames[4].image == "/lib/x86_64-linux-gnu/libc.so.6")
        #expect(first.frames[4].file == nil)
        let second = recorder.stacks[1]
        #expect(second.threadName == nil)
        #expect(second.functions == ["inlined_leaf", "caller", "main"])
        #expect(second.frames[0].inlined)
        #expect(second.frames[0].address == nil)
        #expect(second.frames[1].file == "a.c")
        #expect(!second.frames[1].inlined)
    }

    @Test("a lone bt (no thread header) is a stack and a dump of its own")
    func loneBacktrace() {
        let text = """
            #0  0x0000000000401000 in spin () at spin.c:3
            #1  0x0000000000401100 in main () at spin.c:9
            (gdb) bt
            #0  0x0000000000401000 in spin () at spin.c:3
            #1  0x0000000000401100 in main () at spin.c:9
            """
        let aggregator = Aggregator()
        aggregator.consume(text: text)
        let profile = aggregator.finish()
        #expect(profile.stacks.count == 1)
        #expect(profile.stacks.first?.count == 2)
        #expect(profile.stacks.first?.frames.map(\.function) == ["spin", "main"])
        #expect(aggregator.report.dumps == [.gdb: 2])
        #expect(aggregator.report.linesOutsideDumps == 1)
    }

    @Test("two thread apply all bt runs in a row are two dumps: the thread numbers start over")
    func consecutiveDumps() throws {
        let text = try Self.realDump()
        let aggregator = Aggregator()
        // Without gdb's "[Inferior 1 … detached]" between them: thread 18 after thread 1 starts the second.
        aggregator.consume(text: text.replacingOccurrences(of: "[Inferior 1 (process 27346) detached]\n", with: "") + text)
        #expect(aggregator.report.dumps == [.gdb: 2])
        #expect(aggregator.finish().sampleCount == 36)
    }

    @Test("log prefixes of varying length on every line, other records interleaved mid-stack: same stacks")
    func prefixedAndInterleaved() throws {
        let text = try Self.realDump()
        var log: [String] = []
        for (index, line) in text.components(separatedBy: "\n").enumerated() {
            let stamp = "2026-11-26T20:51:\(index % 60).\(String(repeating: "7", count: 1 + index % 6))Z"
            log.append("\(stamp) [pid \(index % 1000)] DEBUG gdb: \(line)")
            if index % 7 == 3 {
                log.append("\(stamp) [pid 1] INFO app: request \(index) done")
                log.append("Nov 26 20:51:01 host kernel: unrelated line \(index)")
            }
            if index % 5 == 2 {
                // The same prefix, not gdb's: the reader lets go, and the next frame line takes the stack up again.
                log.append("\(stamp) [pid 7] DEBUG gdb: warning: could not load symbols for vdso")
            }
        }
        let clean = Aggregator()
        clean.consume(text: text)
        let prefixed = Aggregator()
        prefixed.consume(text: log.joined(separator: "\r\n"))
        let expected = clean.finish()
        let found = prefixed.finish()
        #expect(found.stacks == expected.stacks)
        #expect(prefixed.report.unplacedLines == 0)
        #expect(prefixed.report.stacks == 18)
        #expect(prefixed.report.dumps == [.gdb: 1])
    }

    @Test("fold by function+line keeps call sites apart, by address keeps addresses apart; by function merges both")
    func foldKeys() throws {
        // Two sleep workers changed: one calls from another line (same address), one from another address.
        var blocks = try Self.realDump().components(separatedBy: "\nThread ")
        let call = "0x0000558c2f718575 in $s8pmp_demo7WorkersO19sleepingInNanosleepyyFZ (self=...) at /work/main/Sources/pmp-demo/Workers.swift:62"
        let sleep7 = try #require(blocks.firstIndex { $0.hasPrefix("11 (") && $0.contains(call) })
        blocks[sleep7] = blocks[sleep7].replacingOccurrences(of: "Workers.swift:62", with: "Workers.swift:63")
        let sleep3 = try #require(blocks.firstIndex { $0.hasPrefix("7 (") && $0.contains(call) })
        blocks[sleep3] = blocks[sleep3].replacingOccurrences(of: "0x0000558c2f718575", with: "0x0000558c2f718579")
        let text = blocks.joined(separator: "\nThread ")

        func distinct(_ key: FoldKey) -> [Profile.Stack] {
            let aggregator = Aggregator(options: AggregateOptions(foldBy: key))
            aggregator.consume(text: text)
            return aggregator.finish().stacks
        }
        let byFunction = distinct(.function)
        let byLine = distinct(.functionAndLine)
        let byAddress = distinct(.address)
        #expect(byFunction.count == 10)
        #expect(byLine.count == 11)
        #expect(byAddress.count == 11)
        #expect(byFunction.map(\.count).reduce(0, +) == 18)
        #expect(byLine.map(\.count).reduce(0, +) == 18)
        let lines = byLine.compactMap { stack in stack.frames.first { $0.function.contains("sleepingInNanosleep") }?.line }
        #expect(Set(lines) == [62, 63])
        let addresses = byAddress.compactMap { stack in stack.frames.first { $0.function.contains("sleepingInNanosleep") }?.address }
        #expect(Set(addresses) == [0x558c_2f71_8575, 0x558c_2f71_8579])
    }
}
