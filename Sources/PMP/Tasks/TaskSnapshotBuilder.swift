import PMPProfiles
/// Symbolizes raw tasks and names each one's state and relations.
enum TaskSnapshotBuilder {
    static func build(_ raw: RawTasks, symbolizer: Symbolizer = .shared) -> [TaskSnapshot] {
        var idByAddress: [UInt64: UInt64] = [:]
        for task in raw.tasks { idByAddress[task.address] = task.id }
        var children: [UInt64: [UInt64]] = [:]
        var awaitedBy: [UInt64: [UInt64]] = [:]
        for task in raw.tasks {
            if task.parent != 0 { children[task.parent, default: []].append(task.id) }
            if task.dependencyKind == 1, task.dependencyTarget != 0 {
                awaitedBy[task.dependencyTarget, default: []].append(task.id)
            }
        }
        // Tasks mostly share a few chains: symbolize each distinct one once.
        var stacks: [[UInt64]: [Frame]] = [:]
        var executorNames: [UInt64: String] = [:]
        var snapshots = raw.tasks.map { task -> TaskSnapshot in
            let frames: [Frame]
            if let known = stacks[task.frames] {
                frames = known
            } else {
                frames = task.frames.isEmpty ? [] : symbolizer.symbolize(task.frames, entryPoints: true)
                    .filter { !$0.function.hasSuffix("_resume_adapter") && !$0.function.contains("_resume_adapterP") }
                stacks[task.frames] = frames
            }
            let state = self.state(of: task, full: raw.fullLayout, idByAddress: idByAddress, frames: frames,
                                   executorName: { metadata in
                                       if let known = executorNames[metadata] { return known }
                                       let name = actorName(metadata: metadata, symbolizer: symbolizer)
                                       executorNames[metadata] = name
                                       return name
                                   })
            let running: Bool
            if case .running = state { running = true } else { running = false }
            return TaskSnapshot(
                id: task.id, name: task.name, state: state,
                priority: Int(raw.fullLayout ? task.statusFlags & 0xff : (task.jobFlags >> 8) & 0xff),
                basePriority: raw.fullLayout ? Int(task.basePriority) : nil,
                parent: task.parent == 0 ? nil : idByAddress[task.parent],
                children: (children[task.address] ?? []).sorted(),
                awaitedBy: (awaitedBy[task.address] ?? []).sorted(),
                cancelled: task.statusFlags & RawTask.statusCancelled != 0,
                kind: task.jobFlags & RawTask.jobAsyncLet != 0 ? "async-let"
                    : task.jobFlags & RawTask.jobGroupChild != 0 ? "group-child"
                    : task.jobFlags & RawTask.jobChild != 0 ? "child" : nil,
                suspendedFor: running ? nil : task.suspendedFor,
                frames: frames, truncated: task.framesTruncated, address: task.address)
        }
        snapshots.sort { $0.id < $1.id }
        return snapshots
    }

    private static func state(of task: RawTask, full: Bool, idByAddress: [UInt64: UInt64], frames: [Frame],
                              executorName: (UInt64) -> String) -> TaskState {
        if task.statusFlags & RawTask.statusRunning != 0 || task.thread != nil { return .running(thread: task.thread) }
        if task.entryFunction != 0 { return .notStarted }
        guard full else { return .suspended }
        if task.statusFlags & RawTask.statusEnqueued != 0 || task.dependencyKind == 4 {
            if task.dependencyKind == 4, task.dependencyTarget != 0 {
                let name = task.executorMetadata == 0 ? "executor" : executorName(task.executorMetadata)
                return .enqueued(executor: "\(name) 0x" + String(task.dependencyTarget, radix: 16))
            }
            return .enqueued(executor: nil)
        }
        switch task.dependencyKind {
        case 1: return .awaitingTask(idByAddress[task.dependencyTarget] ?? 0)
        case 2:
            let sleeping = frames.prefix(6).contains { frame in
                frame.function.contains("Task<>._sleep") || frame.function.contains("Task<>.sleep")
                    || (frame.fullFunction.contains("Swift.Task<")
                        && [">._sleep<", ">.sleep<", ">.sleep("].contains { frame.fullFunction.contains($0) })
            }
            return sleeping ? .sleeping : .continuation
        case 3: return .taskGroup
        default: return .suspended
        }
    }

    /// `actor Demo.Busy` from the actor's isa (its type metadata's symbol), else `actor`.
    private static func actorName(metadata: UInt64, symbolizer: Symbolizer) -> String {
        guard let frame = symbolizer.symbolize([metadata], entryPoints: true).last, frame.fullFunction != "?" else {
            return "actor"
        }
        var name = frame.fullFunction
        for prefix in ["full type metadata for ", "type metadata for ", "metaclass for "] where name.hasPrefix(prefix) {
            name = String(name.dropFirst(prefix.count))
        }
        return "actor " + name
    }
}
