import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPTestSupport
import Testing

@Suite("dump format") struct DumpFormatTests {
    static func sample(pid: Int32 = 4242) -> Snapshot {
        Snapshot(pid: pid, time: 1_795_000_000.123, elapsed: 0.001234, maxDepth: 128, threads: [
            ThreadSnapshot(tid: pid, name: "main", kernelState: "S", waitReason: .conditionWait, blockedFor: 12.345,
                           cpuTime: 0.01, frames: [
                               Frame(address: 0x7f5a_1c2d_3e4f, function: "__futex_abstimed_wait_common64",
                                     file: "./nptl/futex-internal.c", line: 57, image: "libc.so.6", inlined: true),
                               Frame(address: 0x7f5a_1c2d_3e4f, function: "pthread_cond_wait@@GLIBC_2.3.2", image: "libc.so.6"),
                               Frame(address: 0x55d1_c3a1_b2c4,
                                     function: "closure #1 (Swift.Int) -> () in static app.Worker.run(at: [Swift.String]) -> ()",
                                     file: "/src/My App/Worker 100%.swift", line: 42, image: "my app"),
                               Frame(address: 0x55d1_c3a1_b2d0, function: "?", image: "?"),
                           ]),
            ThreadSnapshot(tid: pid + 1, name: "odd \"name\" \\ with\ttab", kernelState: "R", waitReason: .running,
                           cpuTime: 3.5, frames: [Frame(address: 1, function: "spin", file: "a.c", image: "app")],
                           truncated: true),
            ThreadSnapshot(tid: pid + 2, name: "blocker", kernelState: "S", waitReason: .noAnswer, blockedFor: 1,
                           cpuTime: 0, frames: [], failure: .signalBlocked),
        ])
    }

    @Test("the holder in a text dump reads back exactly, whatever its name; the stream reader keeps the reason alone")
    func heldByInDump() throws {
        let names: [String?] = ["lock-holder", "odd \"name\", 5s] [x", nil]
        for name in names {
            let thread = ThreadSnapshot(tid: 11, name: "waiter", kernelState: "S", waitReason: .mutexLock,
                                        blockedFor: 3.2, cpuTime: 0.001,
                                        frames: [Frame(address: 0x1000, function: "__lll_lock_wait", image: "libc.so.6")],
                                        heldBy: LockHolder(tid: 1234, name: name))
            var unblocked = thread
            unblocked.blockedFor = nil
            for candidate in [thread, unblocked] {
                let snapshot = Snapshot(pid: 10, time: 1_700_000_000, elapsed: 0.001, maxDepth: 128, threads: [candidate])
                let text = DumpRenderer.text(snapshot)
                let parsed = try #require(DumpParser.parse(text).first)
                #expect(parsed.snapshot.threads == [candidate], "\(text)")
                // Aggregated by state, the holder (a thread's, not the stack's) stays out of the state.
                let aggregator = Aggregator(options: AggregateOptions(byState: true))
                aggregator.consume(text: text)
                #expect(aggregator.finish().stacks.map(\.waitReason) == [.mutexLock], "\(text)")
            }
        }
        let line = DumpRenderer.lines(Snapshot(pid: 10, time: 1_700_000_000, elapsed: 0.001, maxDepth: 128, threads: [
            ThreadSnapshot(tid: 11, name: "waiter", kernelState: "S", waitReason: .mutexLock, blockedFor: 3.2,
                           cpuTime: 0.001, frames: [], heldBy: LockHolder(tid: 1234, name: "lock-holder")),
        ]))[1]
        #expect(line.hasSuffix(#"thread 11 "waiter" [mutex lock, held by thread 1234 "lock-holder", 3.200s] state=S cpu=0.001s"#))
    }

    @Test("render then parse gives the same snapshot")
    func roundTrip() {
        let snapshot = Self.sample()
        let text = DumpRenderer.text(snapshot, sequence: 7)
        let dumps = DumpParser.parse(text)
        #expect(dumps.count == 1)
        #expect(dumps.first?.sequence == 7)
        #expect(dumps.first?.complete == true)
        #expect(dumps.first?.snapshot == snapshot)
        #expect(DumpRenderer.text(dumps[0].snapshot, sequence: 7) == text)
    }

    @Test("a thread running a task: its stack goes on with the task's async frames, read back and folded once")
    func runningTaskContinuesItsThread() throws {
        let handle = Frame(address: 0x5000, function: "Server.handle()", file: "/src/Server.swift", line: 21, image: "app")
        let entry = Frame(address: 0x6000, function: "completeTaskWithClosure", image: "libswift_Concurrency.so")
        let physical = [Frame(address: 0x4000, function: "Server.parse()", image: "app"),
                        Frame(address: 0x7000, function: "swift_job_run", image: "libswift_Concurrency.so")]
        let snapshot = Snapshot(pid: 10, time: 1_700_000_000, elapsed: 0.001, maxDepth: 128, threads: [
            ThreadSnapshot(tid: 11, name: "pool", kernelState: "R", waitReason: .running, cpuTime: 1, frames: physical,
                           task: 61),
            ThreadSnapshot(tid: 12, name: "idle", kernelState: "S", waitReason: .conditionWait, cpuTime: 0,
                           frames: [physical[1]]),
        ], tasks: [TaskSnapshot(id: 61, state: .running(thread: 11), frames: [handle, entry])],
           taskSummary: TaskSummary(method: "scan"))
        let lines = DumpRenderer.lines(snapshot)
        let threadAt = try #require(lines.firstIndex { $0.contains("] thread 11 ") })
        #expect(lines[threadAt + 3].hasSuffix("  ^0  0x0000000000005000 Server.handle() at /src/Server.swift:21 in app"))
        #expect(lines[threadAt + 4].hasSuffix("  ^1  0x0000000000006000 completeTaskWithClosure in libswift_Concurrency.so"))
        #expect(lines[threadAt + 5].contains("] thread 12 "))
        var parser = DumpParser()
        var parsed: [DumpParser.ParsedDump] = []
        for line in lines { parsed += parser.feed(line) }
        #expect(parsed.first?.snapshot == snapshot)
        #expect(parser.unplacedLines == 0)
        // Folded, the async frames count once: as the task's stack, not again under the thread's.
        var builder = ProfileBuilder(keepThreadNames: false)
        builder.add(snapshot, kinds: .all)
        let aggregator = Aggregator(options: AggregateOptions(byState: true))
        aggregator.consume(text: lines.joined(separator: "\n"))
        let folded = aggregator.finish()
        func functions(_ profile: Profile) -> [[String]: Int] {
            profile.stacks.reduce(into: [:]) { $0[$1.frames.map(\.function), default: 0] += $1.count }
        }
        #expect(functions(folded) == functions(builder.build()))
        #expect(functions(folded)[["Server.handle()", "completeTaskWithClosure"]] == 1)
        #expect(folded.sampleCount == 3)
        #expect(aggregator.report.unplacedLines == 0)
        // A `^` line anywhere but under a thread is not placed.
        var stray = DumpParser()
        let task = try #require(lines.firstIndex { $0.contains("] task 61 ") })
        for line in lines[...task] + [lines[threadAt + 3]] + lines[(task + 1)...] { _ = stray.feed(line) }
        #expect(stray.unplacedLines == 1)
        // Nor is one that is not a frame line, under a thread or not.
        var broken = DumpParser()
        for line in lines[...(threadAt + 2)] + ["pmp[10.1]   ^garbage"] + lines[(threadAt + 3)...] { _ = broken.feed(line) }
        #expect(broken.unplacedLines == 1)
        let aggregator2 = Aggregator(options: AggregateOptions(byState: true))
        aggregator2.consume(text: (lines[...(threadAt + 2)] + ["pmp[10.1]   ^garbage"] + lines[(threadAt + 3)...])
            .joined(separator: "\n"))
        _ = aggregator2.finish()
        #expect(aggregator2.report.unplacedLines == 1)
    }

    @Test("log prefixes on every line, other log lines and another process's dump interleaved")
    func prefixedAndInterleaved() {
        let first = Self.sample(pid: 100)
        var second = Self.sample(pid: 200)
        second.threads.removeLast()
        let a = DumpRenderer.lines(first, sequence: 1)
        let b = DumpRenderer.lines(second, sequence: 3)
        var log: [String] = ["2026-11-26T20:51:00+0000 info app : starting", "garbage pmp[ not a tag", "pmp[12.x] nope"]
        for index in 0..<max(a.count, b.count) {
            if index < a.count { log.append("2026-11-26T20:51:01+0000 info app : [PMP] \(a[index])") }
            if index % 3 == 0 { log.append("Nov 26 20:51:01 host app[100]: unrelated line \(index)") }
            if index < b.count { log.append("[200] WARN  pmp - \(b[index])") }
        }
        let dumps = DumpParser.parse(log.joined(separator: "\r\n"))
        #expect(dumps.count == 2)
        #expect(dumps.first { $0.snapshot.pid == 100 }?.snapshot == first)
        #expect(dumps.first { $0.snapshot.pid == 200 }?.snapshot == second)
    }

    @Test("a dump cut off before its end is returned, marked incomplete; stray tagged lines are counted")
    func truncatedInput() {
        let lines = DumpRenderer.lines(Self.sample(), sequence: 1)
        var parser = DumpParser()
        var dumps: [DumpParser.ParsedDump] = []
        for line in lines.prefix(4) { dumps += parser.feed(line) }
        dumps += parser.feed("pmp[999.1] thread 5 \"x\" [running] state=R cpu=0.000s")
        dumps += parser.feed("pmp[4242.1]   #zz garbage")
        dumps += parser.finish()
        #expect(dumps.count == 1)
        #expect(dumps.first?.complete == false)
        #expect(dumps.first?.snapshot.threads.first?.frames.count == 2)
        #expect(parser.unplacedLines == 2)
    }

    @Test("binary noise and enormous lines do not crash the parser")
    func hostileInput() {
        var generator = SystemRandomNumberGenerator()
        let noise = (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let text = String(decoding: noise, as: UTF8.self) + "\n" + String(repeating: "pmp[1.1] ", count: 50_000)
            + "\n" + DumpRenderer.text(Self.sample(), sequence: 1)
        let dumps = DumpParser.parse(text)
        #expect(dumps.last?.snapshot == Self.sample())
    }

    @Test("a header with a timestamp of a hundred fraction digits reads as a dump, without overflow")
    func longTimestampFraction() throws {
        let text = String(decoding: try ReaderFixture.bytes("fuzz/dump-long-fraction.txt"), as: UTF8.self)
        let dumps = DumpParser.parse(text)
        #expect(dumps.count == 1)
        #expect(dumps.first.map { abs($0.snapshot.time - 1_795_726_769.667) < 0.001 } == true)
    }

    @Test("a header dated in the year 7431 (found by fuzzing): not a time 64-bit nanoseconds hold, read without a trap")
    func farFutureTimestamp() throws {
        let text = String(decoding: try ReaderFixture.bytes("fuzz/dump-year-7431.txt"), as: UTF8.self)
        #expect(Timestamp.parse("7431-11-26T20:59:29.075Z") == nil)
        // The lines are read; a header whose time cannot be read does not open a dump.
        #expect(DumpParser.parse(text).allSatisfy { $0.snapshot.time < 1e10 })
    }

    @Test("timestamps and numbers keep their precision")
    func timestamps() {
        #expect(Timestamp.iso8601(0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.parse("2026-11-26T20:51:01.123Z") == Timestamp.parse(Timestamp.iso8601(1_795_726_261.123)))
        // A fraction of any length reads as far as a Double holds it.
        #expect(Timestamp.parse("2026-11-26T20:51:01.1234567890123456789012345Z") == Timestamp.parse("2026-11-26T20:51:01.123Z"))
        #expect(Timestamp.parse("2026-11-26T20:51:01.1234567890x23Z") == nil)
        #expect(Decimal3.format(12.3456) == "12.346")
        #expect(Decimal3.format(0.0004) == "0.000")
        #expect(QuotedString.unquote(Substring(QuotedString.quote("a\"b\\c\u{1}"))).map(\.0) == "a\"b\\c\u{1}")
        #expect(PercentEscape.decode(PercentEscape.encode("a b%c")) == "a b%c")
    }
}
