import Foundation
@testable import PMP
import PMPTestSupport
import Testing

/// Profiles of tasks: where tasks spend their time suspended, by state, in process (`PMP.record(tasks:)`) and
/// from a real process (`GET /profile?tasks=1`).
@Suite("task profiles", .serialized, .timeLimit(.minutes(2))) struct TaskProfileTests {
    /// Keeps a task suspended on a continuation until `release()`.
    final class Gate: @unchecked Sendable {
        private let lock = NSLock()
        private var continuation: CheckedContinuation<Void, Never>?
        private var released = false

        @inline(never) func parkInTaskProfileTest() async {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                lock.lock()
                if released { lock.unlock(); continuation.resume(); return }
                self.continuation = continuation
                lock.unlock()
            }
        }

        var isParked: Bool { lock.withLock { continuation != nil } }

        func release() {
            lock.lock()
            released = true
            let waiting = continuation
            continuation = nil
            lock.unlock()
            waiting?.resume()
        }
    }

    @Test("PMP.record(tasks: true): a parked task is in the profile, its state the wait reason, counted like a thread")
    func recordSamplesTasks() async throws {
        let gate = Gate()
        let parked = Task(name: "parked-for-profile") { await gate.parkInTaskProfileTest() }
        defer { gate.release() }
        try await waitUntil(seconds: 10) { gate.isParked }

        let profile = try await PMP.record(for: .milliseconds(1500), rate: 50, tasks: true)
        let stacks = profile.stacks.filter { stack in
            stack.waitReason?.rawValue == "task suspended on continuation"
                && stack.frames.contains { $0.function.contains("parkInTaskProfileTest") }
        }
        let count = stacks.map(\.count).reduce(0, +)
        #expect(count > 0, "the parked task: \(profile.stacks.map { $0.waitReason?.rawValue ?? "-" })")
        // Sampled every 5th tick and counted 5 times: about one per capture, as a thread would be.
        #expect(count <= profile.captures + 5, "\(count) samples in \(profile.captures) captures")
        #expect(count >= profile.captures / 2, "\(count) samples in \(profile.captures) captures")

        let threadsOnly = try await PMP.record(for: .milliseconds(300), rate: 50)
        #expect(!threadsOnly.stacks.contains { $0.waitReason?.rawValue.hasPrefix("task ") == true })
        gate.release()
        await parked.value
    }

    @Test("GET /profile?tasks=1 of pmp-demo: the demo's tasks by state in the folded profile")
    func profileEndpointSamplesTasks() async throws {
        let demo = try DemoProcess.withTaskStates(2, pmp: true)
        defer { demo.stop() }
        let base = try #require(demo.pmpURL)
        let answer = try await HTTPClient.get(base + "/profile?seconds=1&hz=50&tasks=1&format=folded&state=1")
        #expect(answer.status == 200)
        let lines = answer.text.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("[task sleeping];") && $0.contains("sleepingForAnHour") }, "\(answer.text.prefix(3000))")
        #expect(lines.contains { $0.hasPrefix("[task enqueued on an actor];") && $0.contains("queuedOnBusyActor") })
        let plain = try await HTTPClient.get(base + "/profile?seconds=0.3&hz=50&format=folded&state=1")
        #expect(!plain.text.contains("[task "))
        let bad = try await HTTPClient.get(base + "/profile?seconds=0.3&tasks=yes-please")
        #expect(bad.status == 400)
    }
}
