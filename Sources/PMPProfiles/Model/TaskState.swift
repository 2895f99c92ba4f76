/// What a Swift concurrency task is doing at the moment of a capture.
public enum TaskState: Sendable, Hashable {
    /// On a thread right now (its id when the capture saw which).
    case running(thread: Int32?)
    /// Ready to run, waiting for an executor: the global one (nil) or an actor's (its type name and address).
    case enqueued(executor: String?)
    /// Suspended on a continuation (`withCheckedContinuation`, most library waits).
    case continuation
    /// Suspended until another task finishes (`Task.value`, `async let`): that task's id.
    case awaitingTask(UInt64)
    /// Suspended in `TaskGroup.next()` and friends.
    case taskGroup
    /// Suspended in `Task.sleep`.
    case sleeping
    /// Created, never run yet.
    case notStarted
    /// Suspended, on what unknown (the runtime's layout could not be verified).
    case suspended

    /// The text of dumps: `running on thread 4242`, `suspended on task 61`, `enqueued on actor Demo.Busy 0x…`.
    public var text: String {
        switch self {
        case .running(let thread?): return "running on thread \(thread)"
        case .running(nil): return "running"
        case .enqueued(nil): return "enqueued on the global executor"
        case .enqueued(let executor?): return "enqueued on \(executor)"
        case .continuation: return "suspended on continuation"
        case .awaitingTask(let id): return "suspended on task \(id)"
        case .taskGroup: return "suspended on task group"
        case .sleeping: return "sleeping"
        case .notStarted: return "not started"
        case .suspended: return "suspended"
        }
    }

    /// One word per state, for JSON and for folding by state.
    public var kind: String {
        switch self {
        case .running: return "running"
        case .enqueued: return "enqueued"
        case .continuation: return "continuation"
        case .awaitingTask: return "task"
        case .taskGroup: return "group"
        case .sleeping: return "sleeping"
        case .notStarted: return "not started"
        case .suspended: return "suspended"
        }
    }

    /// The state as a folded profile keeps it (`--by-state`, wait-reason counts): without the ids that would
    /// keep every task apart, and with `task ` first, so that a task's state never reads as a thread's.
    public var foldedText: String {
        switch self {
        case .running: return "task running"
        case .enqueued(nil): return "task enqueued on the global executor"
        case .enqueued: return "task enqueued on an actor"
        case .awaitingTask: return "task suspended on a task"
        default: return "task " + text
        }
    }

    /// Reads `text` back.
    public init?<S: StringProtocol>(text: S) {
        let text = String(text)
        switch text {
        case "running": self = .running(thread: nil)
        case "enqueued on the global executor": self = .enqueued(executor: nil)
        case "suspended on continuation": self = .continuation
        case "suspended on task group": self = .taskGroup
        case "sleeping": self = .sleeping
        case "not started": self = .notStarted
        case "suspended": self = .suspended
        default:
            if text.hasPrefix("running on thread "), let tid = Int32(text.dropFirst("running on thread ".count)) {
                self = .running(thread: tid)
            } else if text.hasPrefix("suspended on task "), let id = UInt64(text.dropFirst("suspended on task ".count)) {
                self = .awaitingTask(id)
            } else if text.hasPrefix("enqueued on "), text.count > "enqueued on ".count {
                self = .enqueued(executor: String(text.dropFirst("enqueued on ".count)))
            } else {
                return nil
            }
        }
    }
}

extension TaskState: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let state = TaskState(text: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown task state \(text)"))
        }
        self = state
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}
