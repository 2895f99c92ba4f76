/// Symbolizes a raw capture and names each thread's wait reason.
public enum SnapshotBuilder {
    public static func build(_ raw: RawCapture, symbolizer: Symbolizer = .shared) -> Snapshot {
        let threads = raw.threads.map { thread -> ThreadSnapshot in
            let state = String(thread.kernelState)
            let frames = thread.addresses.isEmpty ? [] : symbolizer.symbolize(thread.addresses)
            let reason = thread.failure != nil ? WaitReason.noAnswer
                : WaitReasonClassifier.classify(kernelState: state, functions: frames.lazy.map(\.function))
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
