import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPTestSupport
import Testing

/// Dumps are written off the capture thread: a destination that blocks holds up nothing else.
@Suite("dump writer", .timeLimit(.minutes(2))) struct DumpWriterTests {
    @Test("stderr on a pipe nobody reads, SIGUSR1 over and over: /stacks still answers")
    func undrainedStandardError() async throws {
        let pipe = Pipe()  // never read: once its 64 KiB are full, every write to it blocks
        let demo = try DemoProcess(["--threads", "20", "--pmp", "127.0.0.1:0"], standardError: pipe)
        defer { demo.stop() }
        let pmp = try #require(demo.pmpURL)
        for _ in 0..<40 {
            demo.signal(SIGUSR1)
            usleep(20_000)
        }
        for _ in 0..<3 {
            let answer = try await HostileEnvironmentTests.get(pmp + "/stacks?format=text", timeout: 30)
            #expect(answer.status == 200)
            #expect(answer.text.contains("dump pid="))
        }
        withExtendedLifetime(pipe) {}
    }

    @Test("started with fd 2 closed, a file the program opens later (fd 2) never receives dumps")
    func closedStandardErrorIsNotReused() throws {
        let path = NSTemporaryDirectory() + "pmp-own-file-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let demo = try DemoProcess(["--threads", "2", "--close-stderr-then-open", path])
        defer { demo.stop() }
        #expect(demo.startupLines.contains("opened \(path) fd=2"), "\(demo.startupLines)")
        for _ in 0..<3 {
            demo.signal(SIGUSR1)
            usleep(200_000)
        }
        // Without a private copy of stderr, the dumps arrive within well under a second; give them ample time.
        let deadline = Date().addingTimeInterval(8)
        var text = ""
        while Date() < deadline {
            text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            if text.contains("dump pid=") { break }
            usleep(100_000)
        }
        #expect(demo.isAlive)
        #expect(!text.contains("dump pid="), "\(text.prefix(500))")
    }

    @Test("dumps that do not fit in the queue are dropped and counted; the next one written says so")
    func droppedAreCounted() throws {
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let before = PMP.droppedDumps
        DumpWriter.shared.submit { _ in
            entered.signal()
            _ = release.wait(timeout: .now() + 30)
        }
        #expect(entered.wait(timeout: .now() + 30) == .success)
        var accepted = 0
        for _ in 0..<(DumpWriter.capacity + 3) where DumpWriter.shared.submit({ _ in }) { accepted += 1 }
        #expect(accepted == DumpWriter.capacity)
        #expect(PMP.droppedDumps - before == 3)
        let seen = Box<Int?>(nil)
        release.signal()
        for _ in 0..<500 where !DumpWriter.shared.submit({ dropped in seen.value = dropped }) { usleep(10_000) }
        for _ in 0..<500 where seen.value == nil { usleep(10_000) }
        #expect(seen.value == 0, "the drops were reported to the first write after them, not this one")
        let snapshot = try PMP.snapshot(CaptureOptions(threads: .threads([])))
        #expect(DumpRenderer.text(snapshot, dropped: 3).contains(" dropped=3\n"))
        #expect(DumpParser.parse(DumpRenderer.text(snapshot, dropped: 3)).first?.complete == true)
    }
}
