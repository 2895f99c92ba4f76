import Synchronization

/// The in-flight units of work of a program (requests, jobs) — the process table of VividCortex pm, for Swift
/// concurrency. Work registers with attributes, reports its status as it goes, and leaves when done; anyone may
/// list the table, read an entry's status history, or cancel an entry, which cancels the Swift task running it.
///
/// Use `ProcessTable.shared` in a program, or instances of your own (tests, one table per server):
///
///     let answer = try await ProcessTable.shared.run(attributes: ["method": "GET", "uri": "/work"]) { process in
///         try process.setStatus("reading")
///         let input = try await read()
///         try process.setStatus("rendering")
///         return render(input)
///     }
///
/// `run` is the way to use it; `register` hands out a `ProcessHandle` for work that is not one async scope.
///
/// Finished entries are kept with their final status and history, by count and by age: all of the last
/// `finishedLimit`, and older ones back to `finishedMaxAge` thinned out to at most `finishedLimit` more, evenly
/// spread in time, so that a busy service still shows its last minutes; listings leave them out unless asked.
public final class ProcessTable: Sendable {
    /// The program's table; what the HTTP endpoints serve unless given another.
    public static let shared = ProcessTable()

    /// Status changes kept per entry: the first, then the most recent ones.
    public let historyLimit: Int
    /// Finished entries kept whatever their spacing, the most recent ones (and as many older ones, thinned out).
    public let finishedLimit: Int
    /// Finished entries are dropped this long after they finished.
    public let finishedMaxAge: Duration

    /// Starts every id of this table, so that ids of an earlier run of the program are not taken for this one's.
    private let idPrefix: String
    private let state: Mutex<State>
    /// When entries finish, for `finishedMaxAge`; injected by tests.
    private let clock: @Sendable () -> WallTime

    private struct State {
        var nextSequence: UInt64 = 1
        var inFlight: [String: ProcessEntry] = [:]
        var finished: FinishedEntries
        var forbidsCancel: Bool
    }

    /// - Parameters:
    ///   - historyLimit: status changes kept per entry, at least 2 (the first and the current one).
    ///   - finishedLimit: finished entries kept for listings and history requests, the most recent ones; as many
    ///     older ones are kept thinned out in time. 0 keeps none.
    ///   - finishedMaxAge: how long a finished entry is kept at most.
    ///   - forbidsCancel: refuse every cancel request (can be changed later with `forbidsCancel`).
    public convenience init(historyLimit: Int = 64, finishedLimit: Int = 1000, finishedMaxAge: Duration = .seconds(300),
                            forbidsCancel: Bool = false) {
        self.init(historyLimit: historyLimit, finishedLimit: finishedLimit, finishedMaxAge: finishedMaxAge,
                  forbidsCancel: forbidsCancel, clock: { WallTime.now() })
    }

    init(historyLimit: Int, finishedLimit: Int, finishedMaxAge: Duration, forbidsCancel: Bool,
         clock: @escaping @Sendable () -> WallTime) {
        precondition(historyLimit >= 2, "historyLimit keeps at least the first and the current status")
        precondition(finishedLimit >= 0, "finishedLimit must not be negative")
        precondition(finishedMaxAge >= .zero, "finishedMaxAge must not be negative")
        self.historyLimit = historyLimit
        self.finishedLimit = finishedLimit
        self.finishedMaxAge = finishedMaxAge
        self.clock = clock
        idPrefix = Self.randomPrefix()
        state = Mutex(State(finished: FinishedEntries(limit: finishedLimit, maxAge: finishedMaxAge),
                            forbidsCancel: forbidsCancel))
    }

    /// When true, every cancel request is answered `.forbidden`, whatever the entries say.
    public var forbidsCancel: Bool {
        get { state.withLock { $0.forbidsCancel } }
        set { state.withLock { $0.forbidsCancel = newValue } }
    }

    /// Adds an entry in status `init` and returns its handle. The caller must end it with `finish()` or
    /// `finish(throwing:)`; a handle released unfinished ends the entry as failed. Prefer `run`, which does all this.
    ///
    /// To make cancel requests cancel the work, give the handle what cancels it: `handle.onCancel { task.cancel() }`.
    ///
    /// `parentID` names the entry this work is part of (a span's parent span, the request a query runs for); it is
    /// listed as `parent` and not checked: the parent may finish first.
    public func register(attributes: [String: AttributeValue] = [:], parentID: String? = nil,
                         forbidsCancel: Bool = false) -> ProcessHandle {
        let entry = state.withLock { state in
            let sequence = state.nextSequence
            state.nextSequence += 1
            let entry = ProcessEntry(
                id: idPrefix + String(sequence, radix: 36), sequence: sequence, attributes: attributes,
                forbidsCancel: forbidsCancel, historyLimit: historyLimit, parentID: parentID)
            state.inFlight[entry.id] = entry
            return entry
        }
        return ProcessHandle(entry: entry, table: self)
    }

    /// Asks the entry `id` to stop: marks it cancel-pending (its next `setStatus` throws `CancellationError`),
    /// notes the request in its history, and cancels its task. Finished entries are `.notFound`.
    @discardableResult
    public func cancel(id: String, message: String = "") -> CancelOutcome {
        let (entry, tableForbids) = state.withLock { ($0.inFlight[id], $0.forbidsCancel) }
        guard let entry else { return .notFound }
        if tableForbids || entry.forbidsCancel { return entry.isFinished ? .notFound : .forbidden }
        return entry.requestCancel(message: message) ? .cancelled : .notFound
    }

    /// The entries in flight, oldest first; with `includingFinished`, the recently finished ones among them.
    public func processes(includingFinished: Bool = false) -> [ProcessRecord] {
        let now = clock()
        var entries = state.withLock { state in
            guard includingFinished else { return Array(state.inFlight.values) }
            state.finished.dropExpired(now: now)
            return Array(state.inFlight.values) + state.finished.entries
        }
        entries.sort { $0.sequence < $1.sequence }
        // Each entry is copied under its own lock, with the table's lock released.
        return entries.map { $0.record() }
    }

    /// The entry `id`, in flight or recently finished.
    public func process(id: String) -> ProcessRecord? { entry(id: id)?.record() }

    /// The status history of entry `id`, in flight or recently finished; nil when unknown.
    public func history(id: String) -> StatusHistory? { entry(id: id)?.history() }

    private func entry(id: String) -> ProcessEntry? {
        state.withLock { state in
            state.inFlight[id] ?? state.finished.entry(id: id)
        }
    }

    /// Records the final status and moves the entry to the finished ones; a second call does nothing.
    func finish(_ entry: ProcessEntry, status: String) {
        guard entry.finish(status: status) else { return }
        let endTime = clock()
        let released = state.withLock { state in
            state.inFlight.removeValue(forKey: entry.id)
            return state.finished.append(entry, endTime: endTime)
        }
        // The entry no longer kept is freed here, outside the table's lock.
        withExtendedLifetime(released) {}
    }

    private static func randomPrefix() -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        var generator = SystemRandomNumberGenerator()
        return String((0..<3).map { _ in letters.randomElement(using: &generator)! }) + "-"
    }
}
