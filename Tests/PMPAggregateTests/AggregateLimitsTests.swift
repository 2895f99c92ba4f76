import Foundation
import PMPTestSupport
import Testing

/// pmp-aggregate on degenerate input: its memory stays flat, what it cuts is counted in the summary, and text
/// it used to refuse or misread (NUL bytes, lone CR line endings) is read.
@Suite("pmp-aggregate limits", .timeLimit(.minutes(5))) struct AggregateLimitsTests {
    /// Writes `lines()` to a temporary file in large writes: the input never sits in this process whole.
    static func streamedFile(_ name: String, _ lines: (inout String) -> Bool) throws -> String {
        let path = NSTemporaryDirectory() + "pmp-aggregate-\(UUID().uuidString)-\(name)"
        guard FileManager.default.createFile(atPath: path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var chunk = ""
        var more = true
        while more {
            chunk.removeAll(keepingCapacity: true)
            while more, chunk.utf8.count < 1 << 20 { more = lines(&chunk) }
            try handle.write(contentsOf: Data(chunk.utf8))
        }
        return path
    }

    static let header = "pmp[77.1] dump pid=77 time=2026-11-26T20:51:01.000Z threads=1 captured=1 elapsed=1.000ms depth=128\n"

    static func expectPeak(_ run: AggregateTool.Run, below megabytes: Int) throws {
        try #require(FileManager.default.isExecutableFile(atPath: AggregateTool.timeCommand),
                     "\(AggregateTool.timeCommand) is missing: tools/setup --test installs it")
        guard Sanitizer.boundsMemory("pmp-aggregate's peak RSS") else { return }
        let peak = try #require(run.peakRSS)
        #expect(peak < megabytes * 1024 * 1024, "peak RSS \(peak / 1024) KiB")
    }

    @Test("one stack of a million frames (45 MB): cut to 1024 frames while reading, or to --frames; counted")
    func millionFrames() throws {
        let frames = 1_000_000
        var written = -2
        let path = try Self.streamedFile("deep.log") { chunk in
            if written == -2 {
                chunk += Self.header + "pmp[77.1] thread 78 \"deep\" [running] state=R cpu=1.000s\n"
            } else if written < frames {
                chunk += "pmp[77.1]   #\(written)  0x0000000000001000 f\(written) in app\n"
            } else {
                chunk += "pmp[77.1] end\n"
                return false
            }
            written = written == -2 ? 0 : written + 1
            return true
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try AggregateTool.run(["--format", "folded", path], measureMemory: true)
        #expect(run.status == 0)
        let counts = AggregateTool.folded(run.output)
        #expect(counts.count == 1)
        #expect(counts.keys.first?.split(separator: ";").count == 1024)
        #expect(counts.keys.first?.hasSuffix(";f1;f0") == true, "the frames nearest the leaf are kept")
        #expect(run.stderr.contains("1 stack, 1 distinct"), "\(run.stderr)")
        #expect(run.stderr.contains("; 1 stack cut to 1024 frames (998976 frames dropped)"), "\(run.stderr)")
        try Self.expectPeak(run, below: 64)

        let short = try AggregateTool.run(["--format", "folded", "--frames", "10", path], measureMemory: true)
        #expect(AggregateTool.folded(short.output).keys.first?.split(separator: ";").count == 10)
        #expect(short.stderr.contains("; 1 stack cut to 10 frames (999990 frames dropped)"), "\(short.stderr)")
        try Self.expectPeak(short, below: 64)
    }

    @Test("1 000 stacks with 60 KB names (60 MB): names cut to 4 KiB while reading, counted")
    func longNames() throws {
        let stacks = 1_000
        var written = -1
        let path = try Self.streamedFile("names.log") { chunk in
            if written == -1 {
                chunk += Self.header.replacingOccurrences(of: "threads=1", with: "threads=\(stacks)")
            } else if written < stacks {
                let name = "f\(written)_" + String(repeating: "é", count: 30_000)
                chunk += "pmp[77.1] thread \(100 + written) \"w\" [sleep] state=S cpu=0.000s\n"
                chunk += "pmp[77.1]   #0  0x0000000000001000 \(name) in app\n"
            } else {
                chunk += "pmp[77.1] end\n"
                return false
            }
            written += 1
            return true
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try AggregateTool.run(["--format", "folded", path], measureMemory: true)
        #expect(run.status == 0)
        let counts = AggregateTool.folded(run.output)
        #expect(counts.count == stacks)
        #expect(counts.keys.allSatisfy { $0.utf8.count <= 4096 && $0.hasSuffix("é") }, "cut at a character boundary")
        #expect(run.stderr.contains("\(stacks) stacks, \(stacks) distinct"), "\(run.stderr)")
        #expect(run.stderr.contains("; \(stacks) names cut to 4096 bytes"), "\(run.stderr)")
        try Self.expectPeak(run, below: 64)
    }

    @Test("NUL bytes (a truncated log's hole, a stray one) do not make a log binary; binary data still is")
    func nulBytes() throws {
        let gdb = try Data(contentsOf: URL(fileURLWithPath: AggregateTool.gdbFixture))
        var log = Data(repeating: 0, count: 100_000)
        log.append(gdb)
        if let line = log.range(of: Data("Thread 14 (".utf8)) { log.insert(0, at: line.lowerBound + 3) }
        let path = try AggregateTool.temporaryFile("holed.log", log)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try AggregateTool.run(["--format", "folded", path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(AggregateTool.folded(run.output).values.reduce(0, +) == 18)
        #expect(run.stderr.contains("; 2 lines held NUL bytes (removed)"), "\(run.stderr)")

        var random = SystemRandomNumberGenerator()
        let noise = Data((0..<200_000).map { _ in UInt8.random(in: 1...255, using: &random) })
        let noisePath = try AggregateTool.temporaryFile("noise.bin", noise)
        defer { try? FileManager.default.removeItem(atPath: noisePath) }
        let binary = try AggregateTool.run([noisePath])
        #expect(binary.status != 0)
        #expect(binary.stderr.contains("binary data"))
    }

    @Test("lone CR line endings are read as lines, and the summary says so")
    func carriageReturns() throws {
        let gdb = try String(contentsOfFile: AggregateTool.gdbFixture, encoding: .utf8)
        let path = try AggregateTool.temporaryFile("mac.log", Data(gdb.replacingOccurrences(of: "\n", with: "\r").utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try AggregateTool.run(["--format", "folded", path])
        #expect(run.status == 0)
        let expected = try AggregateTool.run(["--format", "folded", AggregateTool.gdbFixture])
        #expect(AggregateTool.folded(run.output) == AggregateTool.folded(expected.output))
        #expect(run.stderr.contains("; 1 input with CR line endings"), "\(run.stderr)")
    }
}
