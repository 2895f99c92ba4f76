/// What a thread is doing or waiting for, like the bracket of a Go goroutine header ("[chan receive]").
/// Derived from the kernel state and the frames nearest the leaf; other tools' dumps may carry other words.
public struct WaitReason: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static let running = WaitReason("running")
    public static let conditionWait = WaitReason("condition wait")
    public static let mutexLock = WaitReason("mutex lock")
    public static let rwlock = WaitReason("rwlock")
    public static let semaphoreWait = WaitReason("semaphore wait")
    public static let eventLoop = WaitReason("I/O wait (event loop)")
    public static let poll = WaitReason("I/O wait (poll)")
    public static let read = WaitReason("read")
    public static let write = WaitReason("write")
    public static let accept = WaitReason("accept")
    public static let connect = WaitReason("connect")
    public static let sleep = WaitReason("sleep")
    public static let idle = WaitReason("idle")
    /// The main thread parked for good in `dispatchMain()` (Swift's async main on Linux too): the main queue's
    /// work runs elsewhere.
    public static let mainQueueIdle = WaitReason("idle (main queue)")
    public static let futexWait = WaitReason("futex wait")
    public static let threadJoin = WaitReason("thread join")
    public static let childWait = WaitReason("waitpid")
    public static let signalWait = WaitReason("signal wait")
    public static let syscall = WaitReason("syscall")
    public static let blocked = WaitReason("blocked")
    public static let diskWait = WaitReason("uninterruptible wait")
    public static let stopped = WaitReason("stopped")
    public static let zombie = WaitReason("zombie")
    public static let noAnswer = WaitReason("no answer")
    public static let unknown = WaitReason("unknown")

    public var isBlocked: Bool {
        self != .running && self != .idle && self != .mainQueueIdle && self != .unknown && self != .noAnswer
    }
}

/// Names of the leaf frames mapped to wait reasons. The first frame (from the leaf) that a rule recognizes
/// decides, except for the generic kernel entry points (futex, syscall), which only decide when nothing more
/// specific follows within a few frames.
public enum WaitReasonClassifier {
    private struct Rule {
        var reason: WaitReason
        var names: [String]      // exact function names (version suffix and trailing signature ignored)
        var weak = false         // generic: keep looking for something more specific
    }

    private static let rules: [Rule] = [
        Rule(reason: .conditionWait, names: ["pthread_cond_wait", "pthread_cond_timedwait", "pthread_cond_clockwait",
                                             "__pthread_cond_wait", "__pthread_cond_timedwait", "__pthread_cond_wait_common",
                                             "std::condition_variable::wait", "cnd_wait", "cnd_timedwait"]),
        Rule(reason: .mutexLock, names: ["pthread_mutex_lock", "__pthread_mutex_lock", "__pthread_mutex_lock_full",
                                         "pthread_mutex_timedlock", "pthread_mutex_clocklock", "__lll_lock_wait",
                                         "__lll_lock_wait_private", "mtx_lock", "os_unfair_lock_lock",
                                         "os_unfair_lock_lock_with_options",
                                         // Swift's Synchronization.Mutex: a PI futex through syscall(2) on Linux.
                                         "Synchronization._MutexHandle._lockSlow", "_MutexHandle._lockSlow",
                                         "_swift_stdlib_futex_lock",
                                         // libdispatch's unfair locks (futex based on Linux).
                                         "_dispatch_unfair_lock_lock_slow", "_dispatch_unfair_lock_wait",
                                         "_dispatch_futex_lock_pi"]),
        Rule(reason: .rwlock, names: ["pthread_rwlock_rdlock", "pthread_rwlock_wrlock", "__pthread_rwlock_rdlock",
                                      "__pthread_rwlock_wrlock", "pthread_rwlock_timedrdlock", "pthread_rwlock_timedwrlock"]),
        Rule(reason: .semaphoreWait, names: ["sem_wait", "sem_timedwait", "sem_clockwait", "__new_sem_wait_slow",
                                             "__new_sem_wait_slow64", "dispatch_semaphore_wait", "_dispatch_semaphore_wait_slow"]),
        Rule(reason: .threadJoin, names: ["pthread_join", "__pthread_clockjoin_ex", "pthread_timedjoin_np"]),
        Rule(reason: .eventLoop, names: ["epoll_wait", "epoll_pwait", "epoll_pwait2", "CNIOLinux_epoll_wait"]),
        Rule(reason: .poll, names: ["poll", "__poll", "ppoll", "__ppoll", "select", "__select", "pselect", "pselect6"]),
        Rule(reason: .read, names: ["read", "__read", "__libc_read", "__read_nocancel", "readv", "pread", "pread64",
                                    "__pread64", "recv", "__recv", "__libc_recv", "recvfrom", "__libc_recvfrom",
                                    "recvmsg", "__libc_recvmsg", "recvmmsg", "fread", "getline", "fgets"]),
        Rule(reason: .write, names: ["write", "__write", "__libc_write", "writev", "pwrite", "pwrite64", "send",
                                     "__send", "__libc_send", "sendto", "__libc_sendto", "sendmsg", "__libc_sendmsg",
                                     "fsync", "fdatasync", "fwrite"]),
        Rule(reason: .accept, names: ["accept", "accept4", "__libc_accept", "__libc_accept4"]),
        Rule(reason: .connect, names: ["connect", "__connect", "__libc_connect"]),
        Rule(reason: .sleep, names: ["nanosleep", "__nanosleep", "clock_nanosleep", "__clock_nanosleep",
                                     "__clock_nanosleep_time64", "usleep", "sleep"]),
        Rule(reason: .childWait, names: ["waitpid", "__waitpid", "wait4", "__wait4", "waitid", "wait"]),
        Rule(reason: .signalWait, names: ["sigwait", "__sigwait", "sigwaitinfo", "__sigwaitinfo", "sigtimedwait",
                                          "__sigtimedwait", "pause", "__libc_pause", "__pause_nocancel", "sigsuspend",
                                          "__sigsuspend"]),
        Rule(reason: .futexWait, names: ["__futex_abstimed_wait_common", "__futex_abstimed_wait_common64",
                                         "__futex_abstimed_wait_cancelable64", "futex_wait", "__futex_wait"],
             weak: true),
        Rule(reason: .syscall, names: ["syscall"], weak: true),
    ]

    private static let index: [Substring: Int] = {
        var table: [Substring: Int] = [:]
        for (position, rule) in rules.enumerated() {
            for name in rule.names where table[Substring(name)] == nil { table[Substring(name)] = position }
        }
        return table
    }()

    /// How many frames from the leaf are examined.
    package static let window = 12

    /// Classifies a captured thread.
    public static func classify(kernelState: String, functions: some Collection<String>) -> WaitReason {
        switch kernelState {
        case "T", "t": return .stopped
        case "Z", "X": return .zombie
        default: break
        }
        if isParkedPoolThread(functions) { return .idle }
        if isParkedMainThread(functions) { return .mainQueueIdle }
        var weakMatch: WaitReason?
        var weakDistance = 0
        for function in functions.prefix(window) {
            if let rule = match(function) {
                if !rules[rule].weak { return rules[rule].reason }
                if weakMatch == nil { weakMatch = rules[rule].reason }
            }
            if weakMatch != nil {
                weakDistance += 1
                if weakDistance > 4 { break }
            }
        }
        if let weakMatch { return weakMatch }
        switch kernelState {
        case "R": return .running
        case "D": return .diskWait
        case "S", "I": return functions.isEmpty ? .unknown : .blocked
        default: return .unknown
        }
    }

    /// Functions in which a pool thread waits for work, and the pool loops that call them: such a wait is idleness,
    /// not a blocked request. (On Linux, Swift's cooperative pool runs on libdispatch's worker threads.)
    private static let parkFunctions: Set<Substring> = ["_dispatch_sema4_timedwait", "_dispatch_sema4_wait",
                                                     "_dispatch_semaphore_wait_slow"]
    private static let poolLoops: Set<Substring> = ["_dispatch_worker_thread", "_dispatch_root_queue_drain",
                                                 "_dispatch_worker_thread2", "_dispatch_worker_thread3"]

    static func isParkedPoolThread(_ functions: some Collection<String>) -> Bool {
        var sawPark = false
        for function in functions.prefix(window) {
            let name = baseName(function)
            if poolLoops.contains(name) { return sawPark }
            if parkFunctions.contains(name) { sawPark = true }
        }
        return false
    }

    /// Where `dispatchMain()` leaves the main thread on Linux: it exits the thread, and a destructor of
    /// libdispatch's parks it in sigsuspend for good.
    private static let mainParkFunctions: Set<Substring> = ["_dispatch_sigsuspend", "_dispatch_sig_thread"]

    static func isParkedMainThread(_ functions: some Collection<String>) -> Bool {
        functions.prefix(window).contains { mainParkFunctions.contains(baseName($0)) }
    }

    private static func match(_ function: String) -> Int? {
        let name = baseName(function)
        if let rule = index[name] { return rule }
        // glibc's internal aliases, as its debug information names them: "__GI___sigsuspend", "__GI___lll_lock_wait".
        if name.hasPrefix("__GI_") { return index[name.dropFirst(5)] }
        return nil
    }

    /// "pthread_cond_wait@@GLIBC_2.3.2" → "pthread_cond_wait"; "std::f(int) const" → "std::f";
    /// "__new_sem_wait_slow64.constprop.0" → "__new_sem_wait_slow64".
    package static func baseName(_ function: String) -> Substring {
        let utf8 = function.utf8
        var end = utf8.endIndex
        var index = utf8.startIndex
        while index < end {
            let byte = utf8[index]
            if byte == UInt8(ascii: "@") || (byte == UInt8(ascii: "(") && index != utf8.startIndex) {
                end = index
                break
            }
            if byte == UInt8(ascii: "."), compilerSuffix(utf8[utf8.index(after: index)...]) {
                end = index
                break
            }
            index = utf8.index(after: index)
        }
        return Substring(utf8[utf8.startIndex..<end])
    }

    private static let suffixes: [[UInt8]] = ["constprop", "isra", "part", "cold", "lto_priv"].map { Array($0.utf8) }

    private static func compilerSuffix(_ rest: Substring.UTF8View) -> Bool {
        suffixes.contains { rest.starts(with: $0) }
    }
}
