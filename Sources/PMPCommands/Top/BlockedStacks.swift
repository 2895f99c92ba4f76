import PMP

/// A stack that threads are blocked in, counted across every endpoint.
struct BlockedStack: Sendable {
    var waitReason: String
    /// Leaf first.
    var frames: [StackFrame]
    var threads: Int
    /// The endpoints it was seen on, in the order given.
    var hosts: [String]
    var longestBlocked: Double?
    /// Who holds the locks its threads wait for, when known.
    var holders: [LockHolder] = []

    /// `held by thread 1234 "lock-holder"`, `held by threads 1234, 5678`, or nil when no holder is known.
    var holderText: String? {
        switch holders.count {
        case 0: return nil
        // debugDescription quotes the name and escapes control characters: a thread name must not drive the terminal.
        case 1: return "held by thread \(holders[0].tid)" + (holders[0].name.map { " " + $0.debugDescription } ?? "")
        default: return "held by threads " + holders.map { String($0.tid) }.joined(separator: ", ")
        }
    }

    /// The stack in one line, leaf first: the leaf's run of system-library frames shows as its outermost frame,
    /// the call the program made ("pthread_cond_wait", not the futex syscall under it).
    var summary: String {
        var shown: [String] = []
        var index = 0
        while index + 1 < frames.count, Self.isSystemLibrary(frames[index].image), Self.isSystemLibrary(frames[index + 1].image) {
            index += 1
        }
        while index < frames.count {
            let name = FunctionName.short(frames[index].function)
            // Inlined frames and thunks often repeat their caller's short name.
            if shown.last != name { shown.append(name) }
            index += 1
        }
        return shown.joined(separator: " ← ")
    }

    private static func isSystemLibrary(_ image: String?) -> Bool {
        guard let image else { return false }
        return ["libc.so", "libpthread.so", "ld-linux", "libstdc++.so", "libgcc_s.so", "libdispatch.so"]
            .contains { image.hasPrefix($0) }
    }
}

/// The panel of `pmp top`: the most common blocked stacks of the whole fleet.
enum BlockedStacks {
    /// Groups of every endpoint with a blocked wait reason (anything but running, idle, unknown, no answer) and
    /// frames, merged by wait reason and function names (addresses differ between processes), most threads
    /// first.
    static func merge(_ states: [EndpointState]) -> [BlockedStack] {
        struct Key: Hashable {
            var waitReason: String
            var functions: [String]
        }
        var order: [Key] = []
        var merged: [Key: BlockedStack] = [:]
        for state in states {
            guard let groups = state.stacks?.groups else { continue }
            let host = state.endpoint.description
            for group in groups where WaitReason(group.waitReason).isBlocked && !group.frames.isEmpty {
                let key = Key(waitReason: group.waitReason, functions: group.frames.map(\.function))
                if var stack = merged[key] {
                    stack.threads += group.count
                    if stack.hosts.last != host, !stack.hosts.contains(host) { stack.hosts.append(host) }
                    stack.longestBlocked = [stack.longestBlocked, group.longestBlocked].compactMap { $0 }.max()
                    for holder in group.holders where !stack.holders.contains(holder) { stack.holders.append(holder) }
                    merged[key] = stack
                } else {
                    order.append(key)
                    merged[key] = BlockedStack(waitReason: group.waitReason, frames: group.frames, threads: group.count,
                                               hosts: [host], longestBlocked: group.longestBlocked,
                                               holders: group.holders)
                }
            }
        }
        return order.enumerated().sorted { a, b in
            let (x, y) = (merged[a.element]!, merged[b.element]!)
            if x.threads != y.threads { return x.threads > y.threads }
            if x.hosts.count != y.hosts.count { return x.hosts.count > y.hosts.count }
            return a.offset < b.offset
        }.map { merged[$0.element]! }
    }
}
