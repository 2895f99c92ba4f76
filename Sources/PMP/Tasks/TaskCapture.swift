#if canImport(Glibc)
import PMPProfiles
import Glibc
#endif
import CPMPCapture

/// Finds every live task of this process at one moment: the layout is checked once with the probe, then each
/// capture scans resident anonymous memory for the task isa and decodes what it finds. Runs on the capture
/// thread only.
final class TaskCapture {
    private let scanner: TaskScanner?
    private var verification: TaskLayoutProbe.Outcome = .didNotRun
    private var probeAttempts = 0

    init() {
        scanner = TaskScanner()
    }

    /// Verifies the layout (at most a few attempts, each bounded), so that the first dump does not wait for it.
    func prepare() {
        guard let scanner, scanner.runtimePresent, scanner.layout != nil, verification == .didNotRun,
              probeAttempts < 3
        else { return }
        probeAttempts += 1
        verification = TaskLayoutProbe.run(scanner)
    }

    /// A thread running a task, as its capture handler saw it.
    struct RunningTask {
        var tid: Int32
        var asyncContext: UInt64
    }

    func capture(running: [UInt64: RunningTask], timeLimit: Duration) -> RawTasks {
        let start = pmp_monotonic_ns()
        guard let scanner, scanner.runtimePresent else {
            return RawTasks(tasks: [], fullLayout: false,
                            summary: TaskSummary(method: "none", note: "no Swift concurrency runtime"))
        }
        prepare()
        let full = scanner.layout != nil && verification == .verified
        var note: String?
        if !full {
            switch verification {
            case .mismatch(let reason) where scanner.layout != nil:
                note = "layout check failed (\(reason)): ids, resume functions and async frames only"
            case .didNotRun where scanner.layout != nil:
                note = "layout not verified yet (the probe task did not run): ids, resume functions and async frames only"
            default:
                note = "\(scanner.layoutDescription): ids, resume functions and async frames only"
            }
        }
        if scanner.runtime.pointee.has_registry != 0 {
            note = (note.map { $0 + "; " } ?? "") + "the runtime's task registry is not read yet: memory scanned"
        }
        guard scanner.refreshRegions() else {
            return RawTasks(tasks: [], fullLayout: full,
                            summary: TaskSummary(method: "scan", layout: full ? scanner.layoutDescription : nil,
                                                 note: "the memory map could not be read", incomplete: true))
        }
        let deadline = start &+ UInt64(max(0, timeLimit.nanoseconds))
        let scan = scanner.scan(deadline: deadline)
        var tasks: [RawTask] = []
        tasks.reserveCapacity(scan.candidates.count)
        _ = scanner.decode(scan.candidates, full: full, into: &tasks)
        // Tasks a thread is running are known even when the scan missed them (out of time, an unusual arena).
        var found = Set(tasks.map(\.address))
        let missing = running.keys.filter { !found.contains($0) }.sorted()
        if !missing.isEmpty {
            var extra: [RawTask] = []
            _ = scanner.decode(missing, full: full, into: &extra)
            tasks += extra
            found.formUnion(extra.map(\.address))
        }
        // Keep one entry per task: a task copied elsewhere in memory would otherwise be listed twice.
        var seenIDs: [UInt64: Int] = [:]
        var copies = 0
        var unique: [RawTask] = []
        unique.reserveCapacity(tasks.count)
        for var task in tasks {
            if let thread = running[task.address], task.statusFlags & RawTask.statusRunning != 0 || !full {
                task.frames = scanner.contextChain(thread.asyncContext)
            }
            if task.dependencyKind == 4 || task.statusFlags & RawTask.statusEnqueued != 0, task.dependencyTarget != 0 {
                task.executorMetadata = scanner.readWord(task.dependencyTarget)
            }
            if let earlier = seenIDs[task.id], full {
                copies += 1
                if unique[earlier].changed && !task.changed { unique[earlier] = task }
                continue
            }
            seenIDs[task.id] = unique.count
            unique.append(task)
        }
        var incomplete = false
        if scan.stats.out_of_time != 0 {
            incomplete = true
            note = (note.map { $0 + "; " } ?? "") + "scan stopped at its time limit of \(timeLimit)"
        }
        if copies > 0 {
            note = (note.map { $0 + "; " } ?? "") + "\(copies) cop\(copies == 1 ? "y" : "ies") of tasks found elsewhere in memory left out"
        }
        if scan.stats.huge_regions > 0 {
            let gib = scan.stats.huge_bytes >> 30
            note = (note.map { $0 + "; " } ?? "")
                + "\(scan.stats.huge_regions) region\(scan.stats.huge_regions == 1 ? "" : "s") of \(gib) GiB left out (over 64 GiB: reserved address space, such as a sanitizer's shadow)"
        }
        if scan.stats.out_of_room != 0 {
            incomplete = true
            note = (note.map { $0 + "; " } ?? "") + "more than \(TaskScanner.candidateCapacity) candidates"
        }
        let seconds = Double(pmp_monotonic_ns() &- start) / 1e9
        return RawTasks(tasks: unique, fullLayout: full,
                        summary: TaskSummary(method: "scan", layout: full ? scanner.layoutDescription : nil, note: note,
                                             scannedBytes: scan.stats.bytes_scanned,
                                             seconds: (seconds * 1e6).rounded() / 1e6, incomplete: incomplete))
    }
}
