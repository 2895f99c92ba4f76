import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPTestSupport
import Testing

/// `GET /debug/pprof/goroutine?debug=1`: our snapshots as Go's counted goroutine profile, read back by our Go
/// profile reader, and laid out exactly as Go's own text/tabwriter lays out the same cells.
@Suite("Go goroutine profile renderer (debug=1)") struct GoRendererProfileTests {
    @Test("read back by GoProfileReader: identical stacks counted once, most frequent first, the total adds up")
    func roundTrip() throws {
        let snapshot = GoRendererSnapshots.awkward
        let text = GoProfileRenderer.render(snapshot)
        let run = ReaderDriver.run(GoProfileReader.self, text: text)
        #expect(run.recorder.violations == [])
        #expect(run.malformed == 0 && run.refusedClaims == 0 && run.unclaimed == 0)
        #expect(run.recorder.dumps == [.goProfile])

        let withStacks = snapshot.threads.filter { !$0.frames.isEmpty }
        #expect(text.hasPrefix("goroutine profile: total \(withStacks.count)\n"))
        #expect(run.stacks.map(\.count) == [2, 1, 1], "cond-0 and cond-1 share a stack and a name pattern")
        #expect(run.stacks.map(\.count).reduce(0, +) == withStacks.count, "the thread without a stack is left out")
        let expected = [snapshot.threads[0], snapshot.threads[2], snapshot.threads[4]]
        for (stack, thread) in zip(run.stacks, expected) {
            #expect(stack.functions == thread.frames.map(\.function), "tab-separated: blanks stay in names")
            #expect(stack.frames.map(\.address) == thread.frames.map { Optional($0.address) })
            #expect(stack.frames.map(\.file) == thread.frames.map { $0.function == "?" ? nil : $0.file })
            #expect(stack.frames.map(\.line) == thread.frames.map { $0.function == "?" || $0.file == nil ? nil : ($0.line ?? 0) })
        }
        // The "@" line lists each physical frame once: the inlined frame shares its address with the next.
        let atLine = try #require(text.split(separator: "\n").first { $0.hasPrefix("2 @ ") })
        #expect(atLine == "2 @ 0x7f0000001000 0x7f0000002a10 0x550000003c83 0x550000004d00")
        #expect(text.contains("# labels: {\"thread\":\"cond-#\"}\n"))
    }

    @Test("the columns are padded exactly as Go's text/tabwriter pads them (go run)")
    func tabwriterLayout() throws {
        let text = GoProfileRenderer.render(GoRendererSnapshots.awkward)
        // The cells as Go's pprof hands them to its tabwriter: one tab after each cell.
        // Cells of every width around the tab stops (widest cells of 7, 8, 9, 16 characters…), blocks of rows
        // with fewer cells between, as pprof's "@" and labels lines cut its columns.
        var rows: [[String]] = []
        for length in [0, 1, 6, 7, 8, 9, 15, 16, 17, 23, 24] {
            rows.append(["#", String(repeating: "a", count: length), String(repeating: "é", count: max(1, 24 - length)), "end"])
            if length % 3 == 0 { rows.append(["cut"]) }
        }
        let cells = text.replacing(#/\t+/#, with: "\t") + rows.map { $0.joined(separator: "\t") + "\n" }.joined()
        let formatted = try Self.goTabwriter(cells)
        #expect(formatted == text + TabColumns.lines(rows))
        #expect(text.contains("#\t0x550000004d00\tclosure #1 @Sendable (Swift.Int) -> () in pmp_demo.main()\t/src/main.swift:0\n"))
    }

    @Test("a real capture: two threads parked at the same place are one block counted twice")
    func realCapture() throws {
        let threads = [TestThread.parkedInKnownFunction(), TestThread.parkedInKnownFunction()]
        defer { for thread in threads { thread.finish(); thread.waitUntilFinished() } }
        let snapshot = try PMP.snapshot()
        let text = GoProfileRenderer.render(snapshot)
        let run = ReaderDriver.run(GoProfileReader.self, text: text)
        #expect(run.malformed == 0 && run.recorder.violations == [])
        let parked = run.stacks.filter { $0.functions.contains { $0.contains("parkedInTestFunction") } }
        #expect(parked.map(\.count).reduce(0, +) >= 2)
        let captured = try #require(snapshot.threads.first { $0.tid == threads[0].tid })
        #expect(parked.contains { $0.functions == captured.frames.map(\.function) })
        // Swift tasks are goroutines too (the test runner's own among them).
        let expected = snapshot.threads.filter { !$0.frames.isEmpty }.count + snapshot.tasks.filter { !$0.frames.isEmpty }.count
        #expect(run.stacks.map(\.count).reduce(0, +) == expected)
    }

    /// Runs Go's text/tabwriter, set up as runtime/pprof sets it up, over `text`.
    static func goTabwriter(_ text: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pmp-tabwriter-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let program = directory.appendingPathComponent("main.go")
        try """
        package main

        import (
        \t"io"
        \t"os"
        \t"text/tabwriter"
        )

        func main() {
        \tw := tabwriter.NewWriter(os.Stdout, 1, 8, 1, '\\t', 0)
        \tio.Copy(w, os.Stdin)
        \tw.Flush()
        }

        """.write(to: program, atomically: true, encoding: .utf8)
        let input = directory.appendingPathComponent("input.txt")
        try text.write(to: input, atomically: true, encoding: .utf8)
        let gocache = directory.appendingPathComponent("gocache").path
        let run = try ToolRun.run("/bin/sh", ["-c", "go run \(program.path) < \(input.path)"],
                                  environment: ["GOCACHE": gocache, "GOFLAGS": "", "GO111MODULE": "off"])
        #expect(run.status == 0, "go run failed: \(run.stderr)")
        return run.stdout
    }
}
