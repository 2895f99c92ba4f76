import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPTestSupport
import Testing

/// Our pprof files opened by the real client, Debian's `go tool pprof`.
@Suite("pprof files in go tool pprof") struct PprofGoToolTests {
    /// Runs `go tool pprof ARGUMENTS FILE` on the rendered profile.
    static func pprof(_ profile: Profile, _ arguments: [String]) throws -> ToolRun {
        let file = ToolRun.temporaryFile(".pb.gz")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(PprofRenderer.render(profile)).write(to: file)
        let run = try GoTool.pprof(arguments + [file.path])
        #expect(run.status == 0, "go tool pprof failed: \(run.stderr)")
        return run
    }

    /// The rows of `-top`: name → (flat, cum).
    static func topRows(_ output: String) -> [String: (flat: Int, cum: Int)] {
        var rows: [String: (flat: Int, cum: Int)] = [:]
        var inTable = false
        for line in output.split(separator: "\n") {
            if line.contains("flat%") && line.contains("cum%") {
                inTable = true
                continue
            }
            guard inTable else { continue }
            // "       300 70.09% 70.09%        300 70.09%  name with spaces"
            var rest = Substring(line)
            var numbers: [Substring] = []
            for _ in 0..<5 {
                rest = rest.drop { $0 == " " }
                numbers.append(rest.prefix { $0 != " " })
                rest = rest.drop { $0 != " " }
            }
            let name = String(rest.drop { $0 == " " })
            guard !name.isEmpty, let flat = Int(numbers[0]), let cum = Int(numbers[3]) else { continue }
            rows[name, default: (0, 0)].flat += flat
            rows[name, default: (0, 0)].cum += cum
        }
        return rows
    }

    /// The name pprof shows for one of our frames.
    static func displayName(_ frame: Frame) -> String {
        if frame.function == "?" { return frame.image == "?" ? "<unknown>" : "[\(frame.image)]" }
        return frame.function + (frame.inlined ? " (inline)" : "")
    }

    @Test("-top shows our function names with their flat and cumulative sample counts")
    func top() throws {
        let profile = RendererTestProfiles.sample
        let run = try Self.pprof(profile, ["-top", "-sample_index=samples", "-nodefraction=0", "-nodecount=100000"])
        let rows = Self.topRows(run.stdout)
        var expected: [String: (flat: Int, cum: Int)] = [:]
        for stack in profile.stacks {
            let names = stack.frames.map(Self.displayName)
            expected[names[0], default: (0, 0)].flat += stack.count
            for name in Set(names) { expected[name, default: (0, 0)].cum += stack.count }
        }
        #expect(rows.count == expected.count, "\(run.stdout)")
        for (name, counts) in expected {
            #expect(rows[name]?.flat == counts.flat, "flat of \(name) in \(run.stdout)")
            #expect(rows[name]?.cum == counts.cum, "cum of \(name) in \(run.stdout)")
        }
        #expect(rows["std::map<int, int>::find(int const&)"]?.flat == 7, "names are shown unshortened")
        #expect(run.stdout.contains("Total samples = \(profile.sampleCount)"))
        #expect(run.stdout.contains("File: app"), "the executable is the main mapping")
        #expect(run.stdout.contains("source: pid 4242"), "comments are shown")
        #expect(!run.stderr.contains("symbolization"), "pprof does not try to symbolize again: \(run.stderr)")
    }

    @Test("-traces shows every stack, leaf first, with its thread, state and process labels")
    func traces() throws {
        let profile = RendererTestProfiles.twoProcesses
        let run = try Self.pprof(profile, ["-traces", "-sample_index=samples"])
        struct Trace: Hashable {
            var labels: [String: String]
            var count: Int
            var names: [String]
        }
        var traces: [Trace] = []
        for block in run.stdout.components(separatedBy: "-----------+").dropFirst() {
            var trace = Trace(labels: [:], count: 0, names: [])
            for line in block.split(separator: "\n").dropFirst() where line.count > 13 {
                let characters = Array(line)
                if characters[10] == ":" {
                    let key = String(characters[..<10]).trimmingCharacters(in: .whitespaces)
                    trace.labels[key] = String(characters[13...])
                } else {
                    if let count = Int(String(characters[..<10]).trimmingCharacters(in: .whitespaces)) { trace.count = count }
                    trace.names.append(String(characters[13...]))
                }
            }
            if !trace.names.isEmpty { traces.append(trace) }
        }
        let expected = profile.stacks.map { stack in
            var labels: [String: String] = [:]
            labels["thread"] = stack.threadName
            labels["state"] = stack.waitReason?.rawValue
            labels["process"] = stack.process
            return Trace(labels: labels, count: stack.count, names: stack.frames.map(Self.displayName))
        }
        #expect(traces.count == expected.count, "\(run.stdout)")
        #expect(Set(traces) == Set(expected), "\(run.stdout)")
    }

    @Test("wall time is the default sample type when the rate is known, counts otherwise")
    func defaultSampleType() throws {
        let timed = try Self.pprof(RendererTestProfiles.sample, ["-top"])
        #expect(timed.stdout.contains("Type: wall"))
        // 428 samples at 99.5 Hz: 428 × 10 050 251 ns.
        #expect(timed.stdout.contains("Total samples = 4301.51ms"), "\(timed.stdout)")
        var untimed = RendererTestProfiles.sample
        untimed.achievedRate = nil
        untimed.requestedRate = nil
        let counted = try Self.pprof(untimed, ["-top"])
        #expect(counted.stdout.contains("Type: samples"))
        #expect(counted.stdout.contains("Total samples = 428"), "\(counted.stdout)")
    }

    @Test("a goroutine profile written by Go's runtime/pprof reads back: stacks leaf first, counts per stack")
    func goRuntimeProfile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pmp-goprof-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let program = directory.appendingPathComponent("parked.go")
        try """
            package main

            import (
            	"os"
            	"runtime/pprof"
            	"time"
            )

            //go:noinline
            func parked(ch chan int) { <-ch }

            func main() {
            	ch := make(chan int)
            	for i := 0; i < 5; i++ {
            		go parked(ch)
            	}
            	time.Sleep(200 * time.Millisecond)
            	f, _ := os.Create(os.Args[1])
            	pprof.Lookup("goroutine").WriteTo(f, 0)
            	f.Close()
            }

            """.write(to: program, atomically: true, encoding: .utf8)
        let output = directory.appendingPathComponent("goroutine.pb.gz")
        let run = try ToolRun.run("/usr/bin/env", ["go", "run", program.path, output.path],
                                  environment: ["GOCACHE": directory.appendingPathComponent("cache").path,
                                                "GOFLAGS": "", "GO111MODULE": "off"])
        try #require(run.status == 0, "go run failed: \(run.stderr)")
        let profile = try PprofParser.parse(Array(try Data(contentsOf: output)))
        let parked = try #require(profile.stacks.first { $0.frames.contains { $0.function == "main.parked" } })
        #expect(parked.count == 5)
        #expect(parked.frames.first?.function == "runtime.gopark", "leaf first")
        #expect(parked.frames.first { $0.function == "main.parked" }?.file?.hasSuffix("parked.go") == true)
        #expect(parked.frames.first { $0.function == "main.parked" }?.line == 10)
        #expect(profile.stacks.contains { $0.count == 1 && $0.frames.contains { $0.function == "main.main" } })
        #expect(profile.sampleCount >= 6)
    }

    @Test("an empty profile opens")
    func empty() throws {
        let run = try Self.pprof(RendererTestProfiles.empty, ["-top"])
        #expect(run.stdout.contains("0 total"), "\(run.stdout)")
    }

    @Test("20 000 distinct stacks 200 deep open, with the right total")
    func huge() throws {
        let profile = RendererTestProfiles.huge
        let run = try Self.pprof(profile, ["-top", "-sample_index=samples", "-nodecount=5"])
        #expect(run.stdout.contains("of \(profile.sampleCount) total"), "\(run.stdout.prefix(2000))")
        // Every stack passes through the single root-most function.
        #expect(Self.topRows(run.stdout).isEmpty == false)
        let traces = try Self.pprof(profile, ["-traces", "-sample_index=samples"])
        #expect(traces.stdout.components(separatedBy: "-----------+").count - 2 == 20_000)
    }
}
