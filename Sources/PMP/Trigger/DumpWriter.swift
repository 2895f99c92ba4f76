#if canImport(Glibc)
import Glibc
#endif
import CPMPCapture
import Synchronization

/// Writes triggered dumps on a thread of its own, so that the capture thread never waits on I/O: a stderr pipe
/// nobody drains (a stalled log shipper, `2>&1 | less`, Ctrl-S), a slow file, a logger or closure that blocks.
/// At most `capacity` dumps wait; past that a dump is dropped and counted, and the next dump written says how
/// many were dropped before it (`dropped=N` in its header).
final class DumpWriter: Sendable {
    static let shared = DumpWriter()
    static let capacity = 4

    /// A write: gets the number of dumps dropped since the last one written.
    typealias Job = @Sendable (_ droppedBefore: Int) -> Void

    private struct State {
        var jobs: [Job] = []
        var started = false
        var droppedTotal = 0
        var droppedSinceWrite = 0
    }

    private let state = Mutex(State())
    private let wakeup = Wakeup()
    /// A private copy of stderr taken when the writer is first used, so that a later reuse of fd 2 (stderr
    /// closed, then a file opened) cannot redirect dumps into that file. nil: stderr was not open.
    let standardError: Int32?

    private init() {
        if fcntl(2, F_GETFD) >= 0 {
            let copy = fcntl(2, F_DUPFD_CLOEXEC, 3)
            standardError = copy >= 0 ? copy : nil
        } else {
            standardError = nil
        }
    }

    /// Dumps dropped so far because the writer was behind (or stderr was closed).
    var droppedCount: Int { state.withLock { $0.droppedTotal } }

    /// Starts the writer's thread if it is not running. The trigger calls it at install: a thread started
    /// later, when memory is short, may not get a stack, and its first allocations would need an arena of its
    /// own that an exhausted address space cannot map.
    func start() {
        let needsStart = state.withLock { state -> Bool in
            defer { state.started = true }
            return !state.started
        }
        guard needsStart else { return }
        do {
            try startDetachedThread(name: "pmp-writer") { [self] in run() }
        } catch {
            state.withLock { $0.started = false }
        }
    }

    /// Queues a write; false when it was dropped.
    @discardableResult
    func submit(_ job: @escaping Job) -> Bool {
        let accepted = state.withLock { state -> Bool in
            if state.jobs.count >= Self.capacity {
                state.droppedTotal += 1
                state.droppedSinceWrite += 1
                return false
            }
            state.jobs.append(job)
            return true
        }
        start()
        if accepted { wakeup.signal() }
        return accepted
    }

    /// Counts a dump that could not be written at all (stderr closed).
    func countDropped() {
        state.withLock {
            $0.droppedTotal += 1
            $0.droppedSinceWrite += 1
        }
    }

    private func run() {
        BackgroundSignalMask.apply()
        Self.warmUpAllocator()
        while true {
            let next = state.withLock { state -> (Job, Int)? in
                guard !state.jobs.isEmpty else { return nil }
                let job = state.jobs.removeFirst()
                defer { state.droppedSinceWrite = 0 }
                return (job, state.droppedSinceWrite)
            }
            if let (job, dropped) = next {
                job(dropped)
                continue
            }
            wakeup.sleep(until: Clock.monotonicNanoseconds() + 1_000_000_000) {
                self.state.withLock { !$0.jobs.isEmpty }
            }
        }
    }

    /// Renders a dump-sized text once, so that this thread's malloc arena exists, and has grown, while memory
    /// is still there: a dump written when the address space is exhausted then allocates from it.
    private static func warmUpAllocator() {
        var text = ""
        for line in 0..<1_000 { text += "pmp[0.0]   #\(line)  0x0000000000000000 warm-up in swift-pmp\n" }
        precondition(!text.isEmpty)
    }

    /// Writes `text` to stderr's private copy; false (counted as dropped) when stderr was closed at start-up.
    @discardableResult
    func writeToStandardError(_ text: String) -> Bool {
        guard let fd = standardError else {
            countDropped()
            return false
        }
        DumpDestination.writeAll(fd: fd, text)
        return true
    }
}
