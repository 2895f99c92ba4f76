import PMPClient
import PMPProfiles

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
    /// the call the program made ("pthread_cond_wait", not the futex syscall under it), and the frames every
    /// thread starts in (`_start`, `__libc_start_main`, `start_thread`, `__clone3`, thunks) are left out at the
    /// root end, so that the width goes to the frames that tell stacks apart.
    var summary: String {
        var shown: [String] = []
        var index = 0
        while index + 1 < frames.count, Self.isSystemLibrary(frames[index].image), Self.isSystemLibrary(frames[index + 1].image) {
            index += 1
        }
        var end = frames.count
        while end > index + 1, Self.isThreadEntry(FunctionName.short(frames[end - 1].function)) { end -= 1 }
        while index < end {
            let name = FunctionName.short(frames[index].function)
            // Inlined frames and thunks often repeat their caller's short name.
            if shown.last != name { shown.append(name) }
            index += 1
        }
        return shown.joined(separator: " ← ")
    }

    /// Where threads begin: the C runtime's and the threading library's entry points, the unknown frame below
    /// them, and the thunks and thread-start closures that only pass control on.
    static func isThreadEntry(_ shortName: String) -> Bool {
        threadEntries.contains(shortName) || shortName.hasPrefix("0x") || shortName.hasPrefix("closure in ThreadOpsPosix.run(")
    }

    private static let threadEntries: Set<String> = [
        "?", "_start", "__libc_start_main", "__libc_start_main_impl", "__libc_start_call_main", "start_thread",
        "__clone", "__clone3", "clone", "clone3", "__GI___clone", "__GI___clone3", "__GI___clone_internal",
        "thunk", "swift_task_run", "_dispatch_worker_thread", "_dispatch_worker_thread2",
    ]

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
