import PMPProfiles
/// How long each task has stayed in the same suspension: its resume function, context and status unchanged
/// since the first capture that saw them so. The runtime keeps no time of suspension, so this is a lower bound
/// that starts at the first capture, like a thread's blocked time.
struct SuspensionTracker {
    private struct Fingerprint: Hashable {
        var resumeFunction: UInt64
        var resumeContext: UInt64
        var statusFlags: UInt32
        var id: UInt64
    }

    private var firstSeen: [UInt64: (fingerprint: Fingerprint, since: UInt64)] = [:]

    /// Seconds the task has been seen in this very suspension, or nil the first time (and for running tasks).
    mutating func observe(_ task: RawTask, running: Bool, now: UInt64) -> Double? {
        guard !running else {
            firstSeen[task.address] = nil
            return nil
        }
        let fingerprint = Fingerprint(resumeFunction: task.resumeFunction, resumeContext: task.resumeContext,
                                      statusFlags: task.statusFlags & ~0xff, id: task.id)
        if let known = firstSeen[task.address], known.fingerprint == fingerprint {
            return (Double(now &- known.since) / 1e6).rounded() / 1e3
        }
        firstSeen[task.address] = (fingerprint, now)
        return nil
    }

    /// Forgets tasks no longer alive.
    mutating func retain(only addresses: Set<UInt64>) {
        firstSeen = firstSeen.filter { addresses.contains($0.key) }
    }
}
