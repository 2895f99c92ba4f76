import Foundation
import Logging
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPTestSupport
import Testing

/// The trigger inside this test process, writing through a swift-log Logger.
@Suite("trigger", .serialized, .timeLimit(.minutes(1))) struct TriggerTests {
    @Test("a dump to a Logger arrives one record per line, prefixed, and parses back")
    func loggerDestination() throws {
        let records = RecordedLines()
        let logger = Logger(label: "pmp-test") { label in RecordingHandler(label: label, records: records) }
        try PMP.installTrigger(TriggerConfiguration(signal: SIGUSR2, destination: .logger(logger, level: .notice)))
        defer { PMP.removeTrigger() }
        kill(getpid(), SIGUSR2)

        var dumps: [DumpParser.ParsedDump] = []
        for _ in 0..<500 where dumps.first?.complete != true {
            usleep(20_000)
            dumps = DumpParser.parse(records.lines.joined(separator: "\n"))
        }
        let dump = try #require(dumps.first)
        #expect(dump.complete)
        #expect(dump.snapshot.pid == getpid())
        #expect(records.lines.allSatisfy { $0.hasPrefix("notice pmp-test: pmp[") })
        #expect(dump.snapshot.threads.contains { $0.failure == .captureThread })
        #expect(dump.snapshot.threads.contains { $0.failure == nil && !$0.frames.isEmpty })
    }
}

final class RecordedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func append(_ line: String) { lock.withLock { stored.append(line) } }
    var lines: [String] { lock.withLock { stored } }
}

/// A log handler that keeps "LEVEL LABEL: MESSAGE" lines, the way a real handler prefixes each record.
struct RecordingHandler: LogHandler {
    let label: String
    let records: RecordedLines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        records.append("\(event.level) \(label): \(event.message)")
    }
}

extension TriggerTests {
    @Test("a thread started after the trigger is installed is captured and symbolized before any dump")
    func warmUpCapturesLaterThreads() throws {
        Trigger.shared.warmedThreads.withLock { $0 = [] }
        try PMP.installTrigger(TriggerConfiguration(signal: SIGUSR2, destination: .standardError))
        defer { PMP.removeTrigger() }
        var pipeFDs: [Int32] = [0, 0]
        #expect(pipe(&pipeFDs) == 0)
        defer { close(pipeFDs[0]); close(pipeFDs[1]) }
        let started = TidBox()
        let readFD = pipeFDs[0]
        let thread = Thread {
            started.set(ThreadList.currentThreadID())
            var byte: UInt8 = 0
            _ = read(readFD, &byte, 1)
        }
        thread.start()
        var tid: Int32 = 0
        for _ in 0..<500 where tid == 0 { usleep(10_000); tid = started.value }
        var warmed = false
        for _ in 0..<500 where !warmed {
            usleep(20_000)
            warmed = Trigger.shared.warmedThreads.withLock { $0.contains(tid) }
        }
        var one: UInt8 = 1
        _ = write(pipeFDs[1], &one, 1)
        #expect(tid != 0)
        #expect(warmed)
    }
}

final class TidBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Int32 = 0
    func set(_ tid: Int32) { lock.withLock { stored = tid } }
    var value: Int32 { lock.withLock { stored } }
}
