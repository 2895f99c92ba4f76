/// Writes a snapshot as Go writes every goroutine's traceback (`/debug/pprof/goroutine?debug=2`, SIGQUIT), one
/// thread per "goroutine", so that tools and people used to Go dumps can read ours:
///
///     goroutine 4243 [condition wait, 12 minutes]:
///     __futex_abstimed_wait_common64(...)
///     	./nptl/futex-internal.c:57
///     pthread_cond_wait@@GLIBC_2.3.2()
///     	./nptl/pthread_cond_wait.c:618
///     static pmp_demo.Workers.blockedInConditionWait() -> ()()
///     	/src/Sources/pmp-demo/Workers.swift:43
///
///     goroutine 4250 [no answer: signal blocked]:
///
/// The goroutine number is the thread id, the bracket the wait reason (or why the thread did not answer) and,
/// as Go does, ", N minutes" once a thread has been blocked a minute or more. Frames go from the leaf down, the
/// function on one line and `\tFILE:LINE` on the next (`?:0` when the source is unknown); a function inlined
/// into the next frame has Go's `(...)` for arguments, the others `()`. Go's `+0x…` offsets are left out (a
/// frame does not carry its symbol's start), and so are thread names (Go's header has no place for them).
/// Go names never hold a blank and Go traceback readers end a name at one: blanks inside a Swift name are
/// written as U+00A0 (no-break space), which reads the same. A stack cut at the capture depth ends with Go's
/// "...additional frames elided..." line.
///
/// The Swift tasks follow the threads, each a goroutine numbered by its task id, its async backtrace for a
/// stack. The bracket starts with the task's state as folds name it, then the minutes it has been suspended
/// there (Go's place for them) and what it waits on, which readers that cut the state at ", " leave out:
///
///     goroutine 26 [task suspended on a task, 3 minutes, on task 61]:
///     static Server.handle(_:)()
///     	/src/Server.swift:21
public enum GoTracebackRenderer {
    public static func render(_ snapshot: Snapshot) -> String {
        var text = ""
        text.reserveCapacity(snapshot.threads.count * 1200)
        for thread in snapshot.threads {
            text += "goroutine \(thread.tid) [\(state(of: thread))]:\n"
            for frame in thread.frames {
                text += goName(frame.function)
                text += frame.inlined ? "(...)\n" : "()\n"
                text += "\t" + location(of: frame) + "\n"
            }
            if thread.truncated { text += "...additional frames elided...\n" }
            text += "\n"
        }
        for task in snapshot.tasks {
            text += "goroutine \(task.id) [\(state(of: task))]:\n"
            for frame in task.frames {
                text += goName(frame.function) + "()\n"
                text += "\t" + location(of: frame) + "\n"
            }
            if task.truncated { text += "...additional frames elided...\n" }
            text += "\n"
        }
        return text
    }

    /// The bracket of a task's goroutine header: its folded state, the minutes suspended, what it waits on.
    static func state(of task: TaskSnapshot) -> String {
        var parts = [task.state.foldedText]
        if let suspended = task.suspendedFor, suspended >= 60 { parts.append("\(Int(suspended / 60)) minutes") }
        switch task.state {
        case .awaitingTask(let id): parts.append("on task \(id)")
        case .running(let thread?): parts.append("on thread \(thread)")
        case .enqueued(let executor?): parts.append("on " + executor)
        default: break
        }
        if task.cancelled { parts.append("cancelled") }
        return parts.map(bracketSafe).joined(separator: ", ")
    }

    /// The header ends at "]" and readers cut the state at ", ": neither may appear inside a part of it.
    private static func bracketSafe(_ text: String) -> String {
        String(text.map { $0 == "]" ? ")" : ($0 == "," ? ";" : ($0.isNewline ? " " : $0)) })
    }

    /// The bracket of a goroutine header: the wait reason or why there is no stack, then the minutes blocked.
    static func state(of thread: ThreadSnapshot) -> String {
        var state = bracketSafe(thread.failure.map { "no answer: \($0.rawValue)" } ?? thread.waitReason.rawValue)
        if let blocked = thread.blockedFor, blocked >= 60 { state += ", \(Int(blocked / 60)) minutes" }
        return state
    }

    /// A function name as it is printed: blanks (and tabs) as no-break spaces, line breaks as blanks would be.
    public static func goName(_ function: String) -> String {
        guard function.utf8.contains(where: { $0 <= 0x20 }) else { return function }
        return String(String.UnicodeScalarView(function.unicodeScalars.map { scalar in
            scalar.value <= 0x20 ? "\u{00A0}" : scalar
        }))
    }

    /// `FILE:LINE` as Go prints it; `?:0` without a file, `FILE:0` without a line. Blanks are fine in a file name
    /// (readers take everything up to the last colon); line breaks and tabs are not.
    static func location(of frame: Frame) -> String {
        var file = frame.file ?? "?"
        if file.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            file = String(file.map { $0.isNewline || $0 == "\t" ? " " : $0 })
        }
        return file + ":" + String(frame.line ?? 0)
    }
}
