import PMPProfiles

/// Symbolizes a raw capture and names each thread's wait reason.
public enum SnapshotBuilder {
    public static func build(_ raw: RawCapture, symbolizer: Symbolizer = .shared) -> Snapshot {
        // Threads of a service mostly share a few stacks: symbolize and classify each distinct stack once.
        struct StackKey: Hashable {
            var state: Character
            var addresses: [UInt64]
        }
        var stacks: [StackKey: (frames: [Frame], reason: WaitReason)] = [:]
        var names: [Int32: String] = [:]
        for thread in raw.threads { names[thread.tid] = thread.name }
        let live = Set(names.keys)
        var taskIDs: [UInt64: UInt64] = [:]
        for task in raw.tasks?.tasks ?? [] { taskIDs[task.address] = task.id }
        let threads = raw.threads.map { thread -> ThreadSnapshot in
            let state = String(thread.kernelState)
            let key = StackKey(state: thread.kernelState, addresses: thread.addresses)
            let stack: (frames: [Frame], reason: WaitReason)
            if let known = stacks[key] {
                stack = known
            } else {
                let frames = thread.addresses.isEmpty ? [] : symbolizer.symbolize(thread.addresses)
                stack = (frames, WaitReasonClassifier.classify(kernelState: state, functions: frames.lazy.map(\.fullFunction)))
                stacks[key] = stack
            }
            let reason = thread.failure != nil ? WaitReason.noAnswer : stack.reason
            let blockedFor = reason == .running ? nil : thread.blockedFor.map { ($0 * 1000).rounded() / 1000 }
            var heldBy: LockHolder?
            if reason == .mutexLock,
               let owner = LockOwnerReader.holder(addresses: thread.addresses, registers: thread.registers,
                                                  functions: stack.frames.lazy.map(\.function), liveThreads: live) {
                heldBy = LockHolder(tid: owner, name: names[owner] ?? ThreadRegistry.shared.name(of: owner)
                                        ?? ThreadStat.read(tid: owner)?.name)
            }
            return ThreadSnapshot(tid: thread.tid, name: thread.name, kernelState: state, waitReason: reason,
                                  blockedFor: blockedFor,
                                  cpuTime: (Double(thread.cpuNanoseconds) / 1e6).rounded() / 1e3,
                                  frames: stack.frames, truncated: thread.truncated, failure: thread.failure,
                                  heldBy: heldBy, task: taskIDs[thread.currentTask])
        }
        symbolizer.releaseMappedFilePages()
        return Snapshot(pid: raw.pid, time: raw.time, elapsed: (raw.elapsed * 1e6).rounded() / 1e6,
                        maxDepth: raw.maxDepth, threads: threads,
                        tasks: raw.tasks.map { TaskSnapshotBuilder.build($0, symbolizer: symbolizer) } ?? [],
                        taskSummary: raw.tasks?.summary)
    }
}
