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

/// pmp-demo in the conditions a production process meets: no address space left, no file descriptors left,
/// libraries loaded and unloaded all the time. Each capture must answer (stacks or an error), never hang.
@Suite("capture engine in a hostile environment", .timeLimit(.minutes(3))) struct HostileEnvironmentTests {
    @Test("with the address space exhausted before the first capture, SIGUSR1 still writes its dumps",
          .disabled(if: Sanitizer.active == "address",
                    "AddressSanitizer's allocator aborts the process when it cannot map memory, before swift-pmp sees the failure"))
    func addressSpaceExhausted() throws {
        // The churn makes the first capture set up a second unwinder, whose rule cache then cannot be allocated.
        for _ in 0..<2 {
            let demo = try DemoProcess(["--threads", "2", "--churn-libraries", "100"])
            defer { demo.stop() }
            usleep(1_500_000)  // the start-up's own allocations settle
            let size = try #require(Self.virtualMemoryKiB(pid: demo.pid))
            let limit = try ToolRun.run("/usr/bin/prlimit", ["--pid", "\(demo.pid)", "--as=\((size + 256) * 1024)"])
            #expect(limit.status == 0, "\(limit.stderr)")
            demo.signal(SIGUSR1)
            let text = try demo.waitForDumps(1, timeout: 30)
            #expect(text.contains("library churn"))
            demo.signal(SIGUSR1)
            try demo.waitForDumps(2, timeout: 30)
        }
    }

    @Test("under dlopen/dlclose churn, every /stacks answer still names the workers and their callers")
    func libraryChurnKeepsSymbols() async throws {
        let demo = try DemoProcess(["--threads", "4", "--busy", "0", "--pmp", "127.0.0.1:0",
                                    "--churn-libraries", "300"])
        defer { demo.stop() }
        let pmp = try #require(demo.pmpURL)
        for _ in 0..<10 {
            let answer = try await Self.get(pmp + "/stacks?format=text", timeout: 30)
            #expect(answer.status == 200)
            #expect(answer.text.contains("Workers.blockedInConditionWait()"), "\(answer.text.prefix(2000))")
            #expect(answer.text.contains("library churn"), "\(answer.text.prefix(2000))")
        }
        #expect(demo.isAlive)
    }

    @Test("out of file descriptors, /stacks answers an error with the reason, not an empty dump")
    func outOfDescriptors() async throws {
        let demo = try DemoProcess(["--threads", "2", "--pmp", "127.0.0.1:0", "--exhaust-fds"])
        defer { demo.stop() }
        let exhausted = try demo.nextStdoutLine()
        #expect(exhausted.hasPrefix("exhausted fds"), "\(exhausted)")
        let pmp = try #require(demo.pmpURL)
        let answer = try await Self.get(pmp + "/stacks?format=text", timeout: 30)
        #expect(answer.status != 200, "\(answer.text.prefix(300))")
        #expect(answer.text.contains("Too many open files"), "\(answer.text.prefix(300))")
        #expect(!answer.text.contains("threads=0"))
    }

    @Test("a capture thread that does not answer: every kind of caller gets an error within its wait limit")
    func captureThreadNotResponding() async throws {
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        CaptureThread.shared.submit { _ in
            entered.signal()
            _ = release.wait(timeout: .now() + 30)
        }
        defer { release.signal() }
        #expect(entered.wait(timeout: .now() + 30) == .success)
        let limit = Duration.milliseconds(300)
        let options = CaptureOptions(waitLimit: limit)
        #expect(throws: CaptureThreadError.notResponding(waited: limit)) { try PMP.capture(options) }
        await #expect(throws: CaptureThreadError.notResponding(waited: limit)) { try await PMP.snapshot(options) }
        let box = ResultBox<Snapshot>()
        PMP.snapshot(options) { box.set($0) }
        let result = try #require(box.wait(timeout: .seconds(10)), "the completion was called")
        #expect(throws: CaptureThreadError.notResponding(waited: limit)) { try result.get() }
        release.signal()
        // Once free again, the thread answers.
        #expect(try PMP.capture(CaptureOptions(threads: .threads([]))).pid == getpid())
    }

    static func get(_ url: String, timeout: Double) async throws -> HTTPAnswer {
        var request = URLRequest(url: URL(string: url)!)
        request.timeoutInterval = timeout
        let (data, response) = try await HTTPClient.session.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        return HTTPAnswer(status: http.statusCode, headers: [:], body: data)
    }

    static func virtualMemoryKiB(pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmSize:") {
            return Int(line.dropFirst("VmSize:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
        }
        return nil
    }
}
