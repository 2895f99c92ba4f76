/// Symbolizes a raw capture and names each thread's wait reason.
public enum SnapshotBuilder {
    public static func build(_ raw: RawCapture, symbolizer: Symbolizer = .shared) -> Snapshot {
        // Threads of a service mostly share a few stacks: classify each distinct stack once.
        struct StackKey: Hashable {
            var state: Character
            var addresses: [UInt64]
        }
        var reasons: [StackKey: WaitReason] = [:]
        let threads = raw.threads.map { thread -> ThreadSnapshot in
            let state = String(thread.kernelState)
            let frames = thread.addresses.isEmpty ? [] : symbolizer.symbolize(thread.addresses)
            let reason: WaitReason
            if thread.failure != nil {
                reason = .noAnswer
            } else {
                let key = StackKey(state: thread.kernelState, addresses: thread.addresses)
                if let known = reasons[key] {
                    reason = known
                } else {
                    reason = WaitReasonClassifier.classify(kernelState: state, functions: frames.lazy.map(\.function))
                    reasons[key] = reason
                }
            }
            let blockedFor = reason == .running ? nil : thread.blockedFor.map { ($0 * 1000).rounded() / 1000 }
            return ThreadSnapshot(tid: thread.tid, name: thread.name, kernelState: state, waitReason: reason,
                                  blockedFor: blockedFor,
                                  cpuTime: (Double(thread.cpuNanoseconds) / 1e6).rounded() / 1e3,
                                  frames: frames, truncated: thread.truncated, failure: thread.failure)
        }
        return Snapshot(pid: raw.pid, time: raw.time, elapsed: (raw.elapsed * 1e6).rounded() / 1e6,
                        maxDepth: raw.maxDepth, threads: threads)
    }
}
