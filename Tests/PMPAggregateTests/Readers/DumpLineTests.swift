@testable import PMPAggregate
@testable import PMPProfiles
import PMPSupport
import PMPTestSupport
import Testing

/// The dump grammar's one reading: both readers of dumps, the whole-text parser and the aggregator's streaming
/// reader, take a line's parts from `DumpLine`, so odd and hostile lines come out of the two the same way.
@Suite("dump line grammar") struct DumpLineTests {
    static func withBytes<T>(_ text: String, _ body: (DumpLine.Bytes) -> T) -> T {
        var text = text
        return text.withUTF8 { body($0) }
    }

    @Test("a tag anywhere after a log prefix; a broken tag is no tag; the pid's digits are where they stand")
    func tags() throws {
        let tag = try #require(Self.withBytes("2026-12-02T01:02:03Z app: pmp[4242.7] end") { DumpLine.firstTag($0) })
        #expect(tag.pid == 4242 && tag.sequence == 7)
        #expect(tag.pidDigits == 30..<34 && tag.bodyStart == 38)
        for broken in ["pmp[4242] end", "pmp[.1] end", "pmp[1.]x", "pmp[1.1]end", "pm[1.1] end", "[pmp[", ""] {
            #expect(Self.withBytes(broken) { DumpLine.firstTag($0) } == nil, "\(broken)")
        }
        // A false start before the real tag.
        #expect(Self.withBytes("x [a] pmp[ pmp[5.6] end") { DumpLine.firstTag($0)?.pid } == 5)
    }

    @Test("thread lines: name escapes, lock holder, time, failures; malformed parts refuse the line")
    func threads() throws {
        let body = #"12 "a \"quoted\" [name]" [mutex lock, held by thread 99 "holder, 1.5s", 2.250s] state=S cpu=0.010s task=7"#
        let line = try #require(Self.withBytes(body) { DumpLine.thread($0) })
        #expect(line.tid == 12 && line.holder == 99)
        Self.withBytes(body) { bytes in
            #expect(LineScan.string(LineScan.slice(bytes, line.reason)) == "mutex lock")
            #expect(LineScan.string(LineScan.slice(bytes, line.blockedFor!)) == "2.250")
            #expect(LineScan.string(LineScan.slice(bytes, line.quotedHolderName!)) == #""holder, 1.5s""#)
            #expect(LineScan.string(LineScan.slice(bytes, line.name)) == #"a \"quoted\" [name]"#)
        }
        // A negative time (what the renderer writes for one read from a hostile file) is a time too.
        let negative = try #require(Self.withBytes(#"1 "x" [sleeping, -0.005s] state=S cpu=0.000s"#) { DumpLine.thread($0) })
        Self.withBytes(#"1 "x" [sleeping, -0.005s] state=S cpu=0.000s"#) { bytes in
            #expect(LineScan.string(LineScan.slice(bytes, negative.reason)) == "sleeping")
            #expect(negative.blockedFor.map { LineScan.string(LineScan.slice(bytes, $0)) } == "-0.005")
        }
        // A time that is not a number stays part of the reason; a holder that is not a tid refuses the line.
        let odd = try #require(Self.withBytes(#"1 "x" [custom, soon] state=S cpu=0.000s"#) { DumpLine.thread($0) })
        #expect(odd.blockedFor == nil)
        for malformed in [#"1 "x" [mutex lock, held by thread zz] state=S"#, #"1 "x" [mutex lock, held by thread 5 junk]"#,
                          #"1 "unterminated [running]"#, #"x "x" [running]"#, #"1 "x" running"#,
                          #"99999999999999999 "x" [running]"#] {
            #expect(Self.withBytes(malformed) { DumpLine.thread($0) } == nil, "\(malformed)")
        }
    }

    @Test("frame lines: inlined, file:line, spaces and ` in ` inside names, percent-encoded paths")
    func frames() throws {
        let body = "3  0x00007f00000000ab [inlined] closure #1 in f(x:) in g at /src/My%20Dir/a.swift:42 in lib%25.so"
        let line = try #require(Self.withBytes(body) { DumpLine.frame($0) })
        #expect(line.address == 0x7f00000000ab && line.inlined && line.line == 42)
        Self.withBytes(body) { bytes in
            #expect(LineScan.string(LineScan.slice(bytes, line.function)) == "closure #1 in f(x:) in g")
            #expect(LineScan.string(LineScan.slice(bytes, line.file!)) == "/src/My%20Dir/a.swift")
            #expect(LineScan.string(LineScan.slice(bytes, line.image)) == "lib%25.so")
        }
        for malformed in ["x  0x1 f in a", "1  1 f in a", "1  0x f in a", "1  0x1 f", "1  0x12345678901234567 f in a"] {
            #expect(Self.withBytes(malformed) { DumpLine.frame($0) } == nil, "\(malformed)")
        }
    }

    @Test("the parser and the streaming reader read the same threads, states and frames from odd dumps")
    func bothReadersAgree() throws {
        let dump = [
            "log: pmp[77.1] dump pid=77 time=2026-12-02T01:02:03.000Z threads=3 captured=3 elapsed=0.100ms depth=128",
            #"log: pmp[77.1] thread 1 "a \"b\"" [mutex lock, held by thread 2 "c", 1.000s] state=S cpu=0.000s"#,
            "log: pmp[77.1]   #0  0x0000000000000010 lock in in in libc.so.6",
            "log: pmp[77.1]   #1  0x0000000000000020 main at /a%20b.swift:3 in app%25",
            #"log: pmp[77.1] thread 2 "c" [no answer: signal blocked] state=S cpu=0.000s"#,
            "log: pmp[77.1]   #0  0x0000000000000040 blocker in app",
            #"log: pmp[77.1] thread 3 "d" [running] state=R cpu=1.000s"#,
            "log: pmp[77.1]   #0  0x0000000000000030 spin at x.swift in app",
            "log: pmp[77.1]   ... truncated at 1 frames",
            "log: pmp[77.1] end",
        ].joined(separator: "\n")
        let parsed = try #require(DumpParser.parse(dump).first?.snapshot)
        #expect(parsed.threads.map(\.tid) == [1, 2, 3])
        #expect(parsed.threads[0].name == #"a "b""# && parsed.threads[0].heldBy?.name == "c")
        #expect(parsed.threads[1].failure?.rawValue == "signal blocked")
        #expect(parsed.threads[0].frames.map(\.function) == ["lock in in", "main"])
        #expect(parsed.threads[0].frames[1].file == "/a b.swift" && parsed.threads[0].frames[1].image == "app%")

        let aggregator = Aggregator(options: AggregateOptions(byState: true, demangle: false))
        aggregator.consume(text: dump)
        let profile = aggregator.finish()
        #expect(aggregator.report.unplacedLines == 0)
        let byState = Dictionary(profile.stacks.map { ($0.waitReason?.rawValue ?? "", $0) }, uniquingKeysWith: { first, _ in first })
        #expect(Set(byState.keys) == ["mutex lock", "no answer", "running"])
        #expect(byState["mutex lock"]?.frames.map(\.function) == parsed.threads[0].frames.map(\.function))
        #expect(byState["mutex lock"]?.frames.map(\.file) == parsed.threads[0].frames.map(\.file))
        #expect(byState["mutex lock"]?.frames.map(\.image) == parsed.threads[0].frames.map(\.image))
        #expect(byState["running"]?.frames.map(\.file) == parsed.threads[2].frames.map(\.file))
    }
}
