import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import PMP
import Testing

/// pmp-demo in the conditions a production process meets: no address space left, no file descriptors left,
/// libraries loaded and unloaded all the time. Each capture must answer (stacks or an error), never hang.
@Suite("capture engine in a hostile environment", .timeLimit(.minutes(3))) struct HostileEnvironmentTests {
    @Test("with the address space exhausted before the first capture, SIGUSR1 still writes its dumps")
    func addressSpaceExhausted() throws {
        // The churn makes the first capture set up a second unwinder, whose rule cache then cannot be allocated.
        for _ in 0..<2 {
            let demo = try DemoProcess(["--threads", "2", "--churn-libraries", "100"])
            defer { demo.stop() }
            usleep(1_500_000)  // the start-up's own allocations settle
            let size = try #require(Self.virtualMemoryKiB(pid: demo.pid))
            var limit = rlimit(rlim_cur: rlim_t((size + 256) * 1024), rlim_max: rlim_t((size + 256) * 1024))
            #expect(prlimit(demo.pid, __rlimit_resource_t(RLIMIT_AS.rawValue), &limit, nil) == 0)
            demo.signal(SIGUSR1)
            let text = try demo.waitForDumps(1, timeout: 30)
            #expect(text.contains("library churn"))
            demo.signal(SIGUSR1)
            try demo.waitForDumps(2, timeout: 30)
        }
    }

    static func virtualMemoryKiB(pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmSize:") {
            return Int(line.dropFirst("VmSize:".count).split(separator: " ").first ?? "")
        }
        return nil
    }
}
