#if canImport(Glibc)
import PMPProfiles
import Glibc
#endif
import CPMPCapture
import Synchronization

/// A task in a known state, decoded and checked before the layout table is trusted: a named parent that awaits
/// an `async let` child parked on a continuation in `parkedChild`. Any field that does not read back as
/// expected means the runtime is not the one the table describes.
enum TaskLayoutProbe {
    static let name = "pmp.layout-probe"

    private final class Gate: Sendable {
        struct State {
            var parent: UInt64 = 0
            var child: UInt64 = 0
            var continuation: CheckedContinuation<Void, Never>?
            var abandoned = false
        }
        let state = Mutex(State())

        func park(_ continuation: CheckedContinuation<Void, Never>) {
            let resumeNow = state.withLock { state -> Bool in
                if state.abandoned { return true }
                state.continuation = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }

        /// Lets the probe finish (now, or as soon as it parks).
        func release() {
            let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.abandoned = true
                defer { state.continuation = nil }
                return state.continuation
            }
            continuation?.resume()
        }
    }

    enum Outcome: Equatable {
        case verified
        /// The probe task did not get to run in time (the cooperative pool was busy): try again later.
        case didNotRun
        case mismatch(String)
    }

    /// Runs the probe and checks it with `scanner`, waiting at most `timeout` for the probe to park.
    static func run(_ scanner: TaskScanner, timeout: Duration = .seconds(1)) -> Outcome {
        guard scanner.layout != nil else { return .mismatch("not in the layout table") }
        let gate = Gate()
        Task(name: name) {
            let parent = pmp_task_current()
            gate.state.withLock { $0.parent = parent }
            async let child: Void = parkedChild(gate)
            await child
        }
        defer { gate.release() }
        let deadline = ContinuousClock.now + timeout
        var parked = false
        while ContinuousClock.now < deadline {
            parked = gate.state.withLock { $0.continuation != nil }
            if parked { break }
            usleep(500)
        }
        guard parked else { return .didNotRun }
        // The child stores its continuation just before it suspends: give it a moment to finish suspending.
        var outcome = Outcome.didNotRun
        for _ in 0..<200 {
            outcome = check(scanner, gate: gate)
            if outcome == .verified { return outcome }
            usleep(1000)
        }
        return outcome
    }

    private static func check(_ scanner: TaskScanner, gate: Gate) -> Outcome {
        let (parentAddress, childAddress) = gate.state.withLock { ($0.parent, $0.child) }
        scanner.refreshRegions()
        var tasks: [RawTask] = []
        _ = scanner.decode([parentAddress, childAddress], full: true, into: &tasks)
        guard tasks.count == 2, tasks[0].address == parentAddress, tasks[1].address == childAddress else {
            return .mismatch("the probe tasks did not decode")
        }
        let parent = tasks[0], child = tasks[1]
        if parent.name != name { return .mismatch("name read as \(parent.name ?? "nil")") }
        if child.parent != parentAddress { return .mismatch("the child's parent did not read back") }
        if child.jobFlags & RawTask.jobAsyncLet == 0 { return .mismatch("the child's async-let flag did not read back") }
        if parent.id == 0 || child.id == parent.id { return .mismatch("task ids did not read back") }
        if child.dependencyKind != 2 { return .mismatch("the child's continuation wait read as kind \(child.dependencyKind)") }
        if parent.dependencyKind != 1 || parent.dependencyTarget != childAddress {
            return .mismatch("the parent's wait on its child read as kind \(parent.dependencyKind)")
        }
        // The innermost frames are the continuation's (withCheckedContinuation); the probe's function follows.
        // Names alone: reading the executable's DWARF here would cost a first dump ~100 ms for nothing.
        guard Symbolizer.shared.functionNames(Array(child.frames.prefix(4))).contains(where: { $0.contains("parkedChild") })
        else { return .mismatch("the child's async frames are not the probe's") }
        return .verified
    }

    @inline(never) private static func parkedChild(_ gate: Gate) async {
        let child = pmp_task_current()
        gate.state.withLock { $0.child = child }
        await withCheckedContinuation { continuation in gate.park(continuation) }
    }
}
