import Foundation
import Logging
@testable import PMP
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
