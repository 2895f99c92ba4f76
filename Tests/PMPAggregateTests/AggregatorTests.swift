import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPTestSupport
import Testing

/// The aggregation engine: line splitting, log prefixes, several formats and processes in one input, folding
/// options, bounds, and hostile input.
@Suite("aggregator") struct AggregatorTests {
    static let fixtures = TestPaths.fixtures

    static func fixture(_ path: String) throws -> String {
        try String(contentsOf: fixtures.appendingPathComponent(path), encoding: .utf8)
    }

    static func frame(_ function: String, _ address: UInt64 = 0x1000, file: String? = nil, line: Int? = nil,
                      image: String = "app", inlined: Bool = false) -> Frame {
        Frame(address: address, function: function, file: file, line: line, image: image, inlined: inlined)
    }

    /// Threads with repeated stacks, a thread without an answer, odd file and image names.
    static func snapshot(pid: Int32, seed: Int) -> Snapshot {
        let wait = [frame("__futex_abstimed_wait_common64", 0x10, file: "./nptl/futex-internal.c", line: 57,
                          image: "libc.so.6", inlined: true),
                    frame("pthread_cond_wait@@GLIBC_2.3.2", 0x10, image: "libc.so.6"),
                    frame("static app.Worker.run(at: [Swift.String]) -> ()", 0x2000, file: "/src/My App/Worker 100%.swift",
                          line: 42, image: "my app")]
        let sleep = [frame("__GI___clock_nanosleep", 0x20, image: "libc.so.6"),
                     frame("static app.Timer.tick() -> ()", 0x3000, file: "/src/Timer.swift", line: 7)]
        var threads: [ThreadSnapshot] = []
        for index in 0..<(6 + seed % 3) {
            let (frames, reason) = index % 3 == 2 ? (sleep, WaitReason.sleep) : (wait, WaitReason.conditionWait)
            threads.append(ThreadSnapshot(tid: pid + Int32(index), name: "worker-\(index)", kernelState: "S",
                                          waitReason: reason, blockedFor: Double(index), cpuTime: 0.5, frames: frames))
        }
        threads.append(ThreadSnapshot(tid: pid + 99, name: "blocker", kernelState: "S", waitReason: .noAnswer,
                                      cpuTime: 0, frames: [], failure: .signalBlocked))
        threads.append(ThreadSnapshot(tid: pid + 98, name: "spin \"q\"", kernelState: "R", waitReason: .running,
                                      cpuTime: 3, frames: [frame("spin", 0x4000)], truncated: true))
        return Snapshot(pid: pid, time: 1_795_000_000, elapsed: 0.001, maxDepth: 128, threads: threads)
    }

    /// Folded counts straight from snapshots (no reader involved).
    static func expectedCounts(_ snapshots: [Snapshot], byState: Bool = false, perProcess: Bool = false) -> [String: Int] {
        var counts: [String: Int] = [:]
        for snapshot in snapshots {
            for thread in snapshot.threads where !thread.frames.isEmpty {
                // Without byState a stack still shows its samples' wait reason when they share one (they do here).
                counts[key(thread.frames.map(\.function), thread.waitReason.rawValue,
                           perProcess ? "\(snapshot.pid)" : nil), default: 0] += 1
            }
            for task in snapshot.tasks where !task.frames.isEmpty {
                counts[key(task.frames.map(\.function), task.state.foldedText,
                           perProcess ? "\(snapshot.pid)" : nil), default: 0] += 1
            }
        }
        return counts
    }

    static func key(_ functions: [String], _ state: String?, _ process: String?) -> String {
        ([process ?? "-", state ?? "-"] + functions).joined(separator: " | ")
    }

    static func counts(_ profile: Profile) -> [String: Int] {
        var counts: [String: Int] = [:]
        for stack in profile.stacks {
            counts[key(stack.frames.map(\.function), stack.waitReason?.rawValue, stack.process), default: 0] += stack.count
        }
        return counts
    }

    @Test("our dumps of two processes, interleaved, each line with its own log prefix: counts as captured")
    func ownDumpsInterleaved() throws {
        let first = Self.snapshot(pid: 100, seed: 0), second = Self.snapshot(pid: 200, seed: 1)
        let third = Self.snapshot(pid: 100, seed: 2)
        let a = DumpRenderer.lines(first, sequence: 1) + DumpRenderer.lines(third, sequence: 2)
        let b = DumpRenderer.lines(second, sequence: 7)
        var log: [String] = ["2026-11-26T20:51:00+0000 info app : starting", "garbage pmp[ not a tag", "pmp[12.x] nope"]
        for index in 0..<max(a.count, b.count) {
            if index < a.count { log.append("2026-11-26T20:51:\(10 + index % 50).\(index)+0000 info app : [PMP] \(a[index])") }
            if index % 3 == 0 { log.append("Nov 26 20:51:01 host app[100]: unrelated line \(index)") }
            if index < b.count { log.append("[200] WARN  pmp - \(b[index])") }
        }
        let text = log.joined(separator: "\r\n")
        for (byState, perProcess) in [(false, false), (true, false), (false, true), (true, true)] {
            let aggregator = Aggregator(options: AggregateOptions(byState: byState, perProcess: perProcess))
            aggregator.consume(text: text)
            let profile = aggregator.finish()
            #expect(Self.counts(profile) == Self.expectedCounts([first, second, third], byState: byState, perProcess: perProcess),
                    "byState \(byState), perProcess \(perProcess)")
            #expect(profile.captures == 3)
            #expect(profile.unansweredSamples == 3, "the blocker of each dump has no stack")
            let report = aggregator.report
            #expect(report.dumps == [.pmp: 3])
            #expect(report.unplacedLines == 0)
            #expect(report.dumpLines == a.count + b.count)
            #expect(report.linesOutsideDumps == log.count - a.count - b.count)
        }
        // The first frame seen is kept whole: file and image names decoded, inlined marks, addresses.
        let aggregator = Aggregator()
        aggregator.consume(text: text)
        let stack = try #require(aggregator.finish().stacks.first)
        #expect(stack.frames == Self.snapshot(pid: 1, seed: 0).threads[0].frames)
    }

    @Test("a real SIGUSR1 dump of pmp-demo: the same counts as DumpParser reads", .timeLimit(.minutes(2)))
    func realDemoDumps() throws {
        let demo = try DemoProcess(["--threads", "9", "--busy", "1"])
        defer { demo.stop() }
        demo.signal(SIGUSR1)
        _ = try demo.waitForDumps(1)
        demo.signal(SIGUSR1)
        let text = try demo.waitForDumps(2)
        let parsed = DumpParser.parse(text)
        #expect(parsed.count == 2)
        let aggregator = Aggregator(options: AggregateOptions(byState: true))
        aggregator.consume(text: text)
        #expect(Self.counts(aggregator.finish()) == Self.expectedCounts(parsed.map(\.snapshot), byState: true))
        #expect(aggregator.report.dumps == [.pmp: 2])
        #expect(aggregator.report.unplacedLines == 0)
    }

    @Test("a dump cut off mid-stack still counts what it had; stray tagged lines are unplaced")
    func truncatedDump() {
        let lines = DumpRenderer.lines(Self.snapshot(pid: 300, seed: 0), sequence: 1)
        // Header, two whole threads, and the first frame of the third.
        let cut = Array(lines.prefix(1 + 4 + 4 + 2))
        let aggregator = Aggregator(options: AggregateOptions(byState: true))
        aggregator.consume(text: (cut + ["pmp[999.1] thread 5 \"x\" [running] state=R cpu=0.000s",
                                         "pmp[300.1]   #zz garbage"]).joined(separator: "\n"))
        let profile = aggregator.finish()
        #expect(profile.sampleCount == 3)
        #expect(profile.stacks.count == 2)
        #expect(profile.stacks.first { $0.frames.count == 3 }?.count == 2)
        // The third thread (a sleeper) was cut after its first frame.
        #expect(profile.stacks.first { $0.frames.count == 1 }?.frames.first?.function == "__GI___clock_nanosleep")
        #expect(aggregator.report.unplacedLines == 2)
        #expect(aggregator.report.dumps == [.pmp: 1])
    }

    @Test("every format in one log: each dump found and counted")
    func mixedFormats() throws {
        let gdb = try Self.fixture("gdb/pmp-demo-12-threads.txt")
        let euStack = try Self.fixture("eu-stack/plain.txt")
        let goDebug1 = try Self.fixture("go/debug1.txt")
        let pmp = DumpRenderer.text(Self.snapshot(pid: 400, seed: 0))
        var separate: [String: Int] = [:]
        var expectedSamples = 0
        for part in [gdb, euStack, goDebug1, pmp] {
            let aggregator = Aggregator()
            aggregator.consume(text: part)
            expectedSamples += aggregator.finish().sampleCount
            for (format, count) in aggregator.report.dumps { separate[format.rawValue, default: 0] += count }
        }
        let log = ["INFO starting", gdb, "INFO between", euStack, "WARN x", goDebug1, pmp, "INFO done"].joined(separator: "\n")
        let aggregator = Aggregator()
        aggregator.consume(text: log)
        let profile = aggregator.finish()
        #expect(Dictionary(uniqueKeysWithValues: aggregator.report.dumps.map { ($0.key.rawValue, $0.value) }) == separate)
        #expect(Set(separate.keys) == ["gdb", "eu-stack", "go-debug1", "pmp"])
        #expect(profile.sampleCount == expectedSamples)
        #expect(aggregator.report.unplacedLines == 0)
    }

    @Test("--frames keeps the frames nearest the leaf: stacks that differ deeper fold together")
    func maxFrames() throws {
        let text = try Self.fixture("gdb/pmp-demo-12-threads.txt")
        let aggregator = Aggregator(options: AggregateOptions(maxFrames: 1, demangle: false))
        aggregator.consume(text: text)
        let profile = aggregator.finish()
        #expect(profile.stacks.allSatisfy { $0.frames.count == 1 })
        // Leaf functions counted by hand: the first "#0" line after each "Thread" header.
        var leaves: [String: Int] = [:]
        for block in text.components(separatedBy: "\nThread ").dropFirst() {
            let leaf = try #require(block.components(separatedBy: "\n").first { $0.hasPrefix("#0 ") })
            let words = leaf.split(separator: " ")
            leaves[String(words[1].hasPrefix("0x") ? words[3] : words[1]), default: 0] += 1
        }
        #expect(Dictionary(uniqueKeysWithValues: profile.stacks.map { ($0.frames[0].function, $0.count) }) == leaves)
    }

    @Test("past maxStacks distinct stacks, further samples are counted as dropped, not lost")
    func boundedStacks() throws {
        let text = try Self.fixture("gdb/pmp-demo-12-threads.txt")
        let aggregator = Aggregator(options: AggregateOptions(maxStacks: 3))
        aggregator.consume(text: text + text)
        let profile = aggregator.finish()
        #expect(profile.stacks.count == 3)
        #expect(profile.sampleCount + profile.droppedSamples == 36)
        #expect(profile.droppedSamples > 0)
        #expect(aggregator.report.droppedSamples == profile.droppedSamples)
        #expect(aggregator.report.summary.contains("samples dropped"))
    }

    @Test("an enormous line is skipped and counted as unplaced; the lines around it are read")
    func enormousLine() throws {
        let gdb = try Self.fixture("gdb/pmp-demo-12-threads.txt")
        let huge = String(repeating: "#0  0x1 in f (", count: 400_000)  // 5.6 MB, looks like a frame
        let aggregator = Aggregator(options: AggregateOptions(maxLineLength: 64 * 1024))
        aggregator.consume(text: gdb + huge + "\n" + gdb)
        #expect(aggregator.report.overlongLines == 1)
        #expect(aggregator.report.unplacedLines == 1)
        #expect(aggregator.finish().sampleCount == 36)

        // The same through a file descriptor, without a final newline.
        let path = NSTemporaryDirectory() + "pmp-aggregate-huge-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try (gdb + huge).write(toFile: path, atomically: false, encoding: .utf8)
        let fromFile = Aggregator()
        let descriptor = open(path, O_RDONLY)
        defer { close(descriptor) }
        try fromFile.consume(fileDescriptor: descriptor, name: path)
        #expect(fromFile.report.overlongLines == 1)
        #expect(fromFile.report.lines == gdb.components(separatedBy: "\n").count)
        #expect(fromFile.finish().sampleCount == 18)
    }

    @Test("lines split across read chunks: a file read in 1 MiB reads gives what the whole text gives")
    func chunkBoundaries() throws {
        let gdb = try Self.fixture("gdb/pmp-demo-12-threads.txt")
        var text = ""
        for index in 0..<300 { text += (index % 2 == 0 ? gdb : gdb.replacingOccurrences(of: "\n", with: "\r\n")) }
        #expect(text.utf8.count > 3 * Aggregator.chunkSize)
        let path = NSTemporaryDirectory() + "pmp-aggregate-chunks-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        let fromFile = Aggregator()
        let descriptor = open(path, O_RDONLY)
        defer { close(descriptor) }
        var progress: [AggregateProgress] = []
        try fromFile.consume(fileDescriptor: descriptor, name: path) { progress.append($0) }
        let fromText = Aggregator()
        fromText.consume(text: gdb)
        let single = fromText.finish()
        let profile = fromFile.finish()
        #expect(profile.stacks.map(\.frames) == single.stacks.map(\.frames))
        #expect(profile.stacks.map(\.count) == single.stacks.map { $0.count * 300 })
        #expect(fromFile.report.dumps == [.gdb: 300])
        #expect(fromFile.report.bytes == text.utf8.count)
        #expect(fromFile.report.unplacedLines == 0)
        #expect(progress.count >= 3)
        #expect(progress.last?.bytes == text.utf8.count)
        #expect(profile.source == path)
    }

    @Test("binary and unreadable inputs are errors with clear messages")
    func binaryAndUnreadable() throws {
        let binary = open("/bin/ls", O_RDONLY)
        defer { close(binary) }
        let aggregator = Aggregator()
        #expect(throws: AggregateError.binaryInput(name: "/bin/ls")) {
            try aggregator.consume(fileDescriptor: binary, name: "/bin/ls")
        }
        #expect(AggregateError.binaryInput(name: "/bin/ls").description.contains("binary"))
        let directory = open("/tmp", O_RDONLY)
        defer { close(directory) }
        do {
            try aggregator.consume(fileDescriptor: directory, name: "/tmp")
            Issue.record("reading a directory should fail")
        } catch let error as AggregateError {
            guard case .unreadable(let name, let reason) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(name == "/tmp")
            #expect(reason == String(cString: strerror(EISDIR)))
        }
        // Mostly control characters without NULs is binary too; a log with colour escapes is not.
        var noise = [UInt8](repeating: 0x01, count: 4096)
        noise += Array("text\n".utf8)
        #expect(throws: AggregateError.self) { try Self.consumeThroughPipe(noise) }
        let coloured = Array(String(repeating: "\u{1B}[31mERROR\u{1B}[0m something\n", count: 200).utf8)
        #expect(try Self.consumeThroughPipe(coloured).lines == 200)
    }

    static func consumeThroughPipe(_ bytes: [UInt8]) throws -> AggregateReport {
        let pipe = Pipe()
        let writer = Thread {
            pipe.fileHandleForWriting.write(Data(bytes))
            try? pipe.fileHandleForWriting.close()
        }
        writer.start()
        let aggregator = Aggregator()
        defer { try? pipe.fileHandleForReading.close() }
        try aggregator.consume(fileDescriptor: pipe.fileHandleForReading.fileDescriptor, name: "pipe")
        return aggregator.report
    }

    @Test("an empty input gives an empty profile and says so")
    func emptyInput() {
        let aggregator = Aggregator()
        aggregator.consume(text: "")
        let profile = aggregator.finish()
        #expect(profile.stacks.isEmpty)
        #expect(aggregator.report.summary == "read 0 lines: 0 dumps, 0 stacks, 0 distinct; 0 lines could not be placed")
    }

    @Test("the log prefix of later lines is found by its last characters, whatever the timestamp's length")
    func logPrefix() {
        func start(_ claiming: String, _ length: Int, _ line: String) -> Int? {
            var first = Array(claiming.utf8), later = Array(line.utf8)
            return first.withUnsafeMutableBufferPointer { first in
                let prefix = LogPrefix(of: LineBytes(first), length: length)
                return later.withUnsafeMutableBufferPointer { prefix.contentStart(in: LineBytes($0)) }
            }
        }
        let claiming = "12:00:01.5 [w-1] gdb: Thread 1 (LWP 2):"
        let length = claiming.utf8.count - "Thread 1 (LWP 2):".utf8.count
        #expect(start(claiming, length, "12:00:01.7 [w-3] gdb: #0  x") == length)
        #expect(start(claiming, length, "12:00:01.75 [w-31] gdb: #0  x") == length + 2)
        #expect(start(claiming, length, "2:0:1.5 [w-3] gdb: #0  x") == length - 3)
        #expect(start(claiming, length, "12:00:01.7 [w-3] app: #0  x") == nil)
        #expect(start(claiming, length, "#0  x") == nil)
        #expect(start("Thread 1 (LWP 2):", 0, "anything") == 0)
        // A prefix ending in a digit is taken to have a fixed length.
        #expect(start("t=12Thread", 4, "t=99#0") == 4)
        #expect(start("t=12Thread", 4, "t=9") == nil)
    }

    @Test("the byte interner: dense ids in first-seen order, found again after growing")
    func interner() {
        var interner = ByteInterner(capacity: 4)
        var ids: [Int32] = []
        for index in 0..<20_000 {
            var key = Array("function_\(index)_name".utf8)
            if index % 3 == 0 { key = Array(key.prefix(index % 7)) }  // short and empty keys collide by design
            let found = key.withUnsafeBytes { interner.intern($0) }!
            ids.append(found.id)
        }
        let multiplesOfThree = 6667, distinctShortKeys = 7  // "", "f", "fu", … "functi"
        #expect(interner.count == 20_000 - multiplesOfThree + distinctShortKeys)
        for index in stride(from: 1, to: 20_000, by: 3) {
            let key = Array("function_\(index)_name".utf8)
            #expect(key.withUnsafeBytes { interner.find($0) } == ids[index])
            #expect(interner.string(ids[index]) == "function_\(index)_name")
        }
        #expect(Array("absent".utf8).withUnsafeBytes { interner.intern($0, insert: false) } == nil)
    }

    @Test("--match keeps stacks with a matching function, --hide drops them")
    func filters() throws {
        let aggregator = Aggregator()
        aggregator.consume(text: try Self.fixture("gdb/pmp-demo-12-threads.txt"))
        let profile = aggregator.finish()
        let matched = StackFilter(match: try Regex("Workers\\.(blockedOnMutexLock|sleepingInNanosleep)")).apply(to: profile)
        #expect(matched.sampleCount == 3 + 4)
        let hidden = StackFilter(hide: try Regex("_dispatch_worker_thread")).apply(to: profile)
        #expect(hidden.sampleCount == 18 - 3)
        let both = StackFilter(match: try Regex("nanosleep"), hide: try Regex("holdingMutex")).apply(to: profile)
        #expect(both.sampleCount == 3 + 1)
        #expect(StackFilter().apply(to: profile) == profile)
    }
}
