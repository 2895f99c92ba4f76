import Foundation
import PMP
import PMPTestSupport
import Testing

/// Dumps written by SIGUSR1 through a logging framework, aggregated by `pmp-aggregate`, against the same
/// captures folded in process.
@Suite("dumps in a log, aggregated", .timeLimit(.minutes(3))) struct AggregateRoundTripTests {
    @Test("pmp-aggregate over prefixed, interleaved SIGUSR1 dumps gives the in-process folded counts")
    func sameCountsAsInProcess() throws {
        let demo = try DemoProcess(["--threads", "13", "--busy", "1", "--tasks", "2", "--dump-to", "log"])
        defer { demo.stop() }
        let dumpCount = 5
        for index in 1...dumpCount {
            demo.signal(SIGUSR1)
            try demo.waitForDumps(index)
        }
        let log = demo.stderr
        #expect(log.contains(" info pmp-demo: [PMP] pmp["), "every line carries swift-log's prefix")

        // In process: the same captures, read back and folded the way the collector folds snapshots.
        let dumps = DumpParser.parse(log)
        #expect(dumps.count == dumpCount)
        var builder = ProfileBuilder(keepThreadNames: false)
        for dump in dumps { builder.add(dump.snapshot) }
        let inProcess = builder.build()

        // Another process's log lines between the dump's lines, as a shared log file would have them.
        var mixed = ""
        for (index, line) in log.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            mixed += line + "\n"
            if index % 7 == 3 { mixed += "2026-11-26T10:00:00+0000 warning other-service: [HTTP] request \(index) took 12 ms\n" }
        }
        let path = try AggregateTool.temporaryFile("demo.log", Data(mixed.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }

        for byState in [false, true] {
            let run = try AggregateTool.run(["--format", "folded"] + (byState ? ["--by-state"] : []) + [path])
            #expect(run.status == 0, "\(run.stderr)")
            let expected = FoldedRenderer.render(inProcess, options: RenderOptions(byState: byState))
            #expect(lines(run.output) == lines(expected), "by state: \(byState)")
            #expect(run.stderr.contains("\(dumpCount) dumps") || run.stderr.contains("\(dumpCount) dump"), "\(run.stderr)")
        }
    }

    private func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init).sorted() }
}
