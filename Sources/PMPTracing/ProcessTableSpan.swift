import PMPProcessTable
import Synchronization
import Tracing

/// A span of `ProcessTableTracer`: a process-table entry while it is in flight, and the span of the tracer it
/// forwards to, if any. Its operation name is the entry's `operation` attribute, its attributes are the entry's
/// attributes, its events are the entry's statuses; `end()` finishes the entry: `failed: …` when an error was
/// recorded or the status is `.error` (unless set back to `.ok`), `cancelled` for a `CancellationError`,
/// `ended` otherwise.
///
/// The entry forbids cancel requests: a span has no task the tracer could cancel. Cancel the request it belongs to.
public final class ProcessTableSpan: Span {
    public let context: ServiceContext
    /// The entry's id in the table (`/procs/{id}`); nil when the tracer's `maxInFlightSpans` were all taken.
    public var processTableEntryID: String? { handle?.id }

    private let handle: ProcessHandle?
    private let downstream: (any Span)?
    private let limits: ProcessTableTracerLimits
    private let budget: SpanBudget
    private let state: Mutex<State>

    /// Names the span's own attributes cannot take: the tracer writes them.
    static let operationAttribute = "operation"
    static let droppedAttribute = "dropped-attributes"

    private struct State {
        var operationName: String
        /// The attributes as set, when no tracer downstream keeps them.
        var attributes = SpanAttributes()
        /// What the entry shows, to write only what changed.
        var published: [String: AttributeValue] = [:]
        /// The attribute name each shown name was cut from.
        var sources: [String: String] = [:]
        var dropped = 0
        var status: SpanStatus?
        var error: (description: String, isCancellation: Bool)?
        var isEnded = false
    }

    init(operationName: String, context: ServiceContext, handle: ProcessHandle?, downstream: (any Span)?,
         limits: ProcessTableTracerLimits, budget: SpanBudget) {
        self.context = context
        self.handle = handle
        self.downstream = downstream
        self.limits = limits
        self.budget = budget
        state = Mutex(State(operationName: operationName))
    }

    deinit {
        // A span nobody ended must not stay in flight for ever, nor hold its place.
        let wasEnded = state.withLock { state in
            defer { state.isEnded = true }
            return state.isEnded
        }
        guard !wasEnded, let handle else { return }
        handle.finish(throwing: SpanFailure(description: "span released without end()"))
        budget.release()
    }

    public var operationName: String {
        get { state.withLock { $0.operationName } }
        set {
            state.withLock { state in
                guard !state.isEnded else { return }
                state.operationName = newValue
                handle?.setAttribute(Self.operationAttribute,
                                     .string(BoundedText.cut(newValue, toBytes: limits.maxStringBytes)))
            }
            downstream?.operationName = newValue
        }
    }

    public var attributes: SpanAttributes {
        // A downstream span that does not record (a no-op tracer, a sampled-out span) keeps no attributes: read
        // from it, each set would publish its own attribute alone.
        get {
            if let downstream, downstream.isRecording { return downstream.attributes }
            return state.withLock { $0.attributes }
        }
        set {
            // The full set goes downstream; the table gets its bounded part.
            downstream?.attributes = newValue
            state.withLock { state in
                guard !state.isEnded else { return }
                state.attributes = keptAttributes(of: newValue, sources: state.sources)
                publish(newValue, into: &state)
            }
        }
    }

    /// The entry records until the span ends, whether or not the tracer downstream samples it.
    public var isRecording: Bool { state.withLock { !$0.isEnded } }

    public func setStatus(_ status: SpanStatus) {
        state.withLock { state in
            if !state.isEnded { state.status = status }
        }
        downstream?.setStatus(status)
    }

    public func addEvent(_ event: SpanEvent) {
        report(event.name)
        downstream?.addEvent(event)
    }

    public func recordError<Instant: TracerInstant>(_ error: any Error, attributes: SpanAttributes,
                                                    at instant: @autoclosure () -> Instant) {
        let description = BoundedText.cut(String(describing: error), toBytes: limits.maxStringBytes)
        let recorded = state.withLock { state -> Bool in
            guard !state.isEnded else { return false }
            state.error = (description, error is CancellationError)
            return true
        }
        if recorded { report("error: " + description) }
        downstream?.recordError(error, attributes: attributes, at: instant())
    }

    /// Links are not shown in the table; they go to the tracer downstream.
    public func addLink(_ link: SpanLink) { downstream?.addLink(link) }

    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        let outcome = state.withLock { state -> (error: (description: String, isCancellation: Bool)?, first: Bool) in
            guard !state.isEnded else { return (nil, false) }
            state.isEnded = true
            if state.status?.code == .ok { return (nil, true) }
            if let error = state.error { return (error, true) }
            if state.status?.code == .error {
                return ((BoundedText.cut(state.status?.message ?? "span status error", toBytes: limits.maxStringBytes),
                         false), true)
            }
            return (nil, true)
        }
        if outcome.first, let handle {
            if let error = outcome.error {
                handle.finish(throwing: error.isCancellation ? CancellationError() as any Error
                                                             : SpanFailure(description: error.description))
            } else {
                handle.finish()
            }
            budget.release()
        }
        if outcome.first { downstream?.end(at: instant()) }
    }

    // MARK: - Into the entry

    /// An event or error as the entry's status. Span entries forbid cancel, so `setStatus` throws only when the
    /// current task is cancelled, which the span's owner sees for itself.
    private func report(_ status: String) {
        guard let handle else { return }
        // Under the span's lock, so that an end() meanwhile cannot finish the entry between check and write.
        state.withLock { state in
            guard !state.isEnded else { return }
            try? handle.setStatus(BoundedText.cut(status, toBytes: limits.maxStringBytes))
        }
    }

    /// The attributes the entry shows, as (name set, name shown): those it shows already, while still set, then
    /// new ones (in name order) while there is room, so that an entry's attributes do not change places as more
    /// are set. A name cut to one already shown is dropped.
    private func keptNames(of attributes: SpanAttributes,
                           sources: [String: String]) -> (kept: [(name: String, shown: String)], dropped: Int) {
        var kept: [(name: String, shown: String)] = []
        var candidates: [(name: String, shown: String)] = []
        attributes.forEach { name, _ in
            let shown = BoundedText.cut(name, toBytes: limits.maxNameBytes)
            if shown == Self.operationAttribute || shown == Self.droppedAttribute { return }
            if sources[shown] == name {
                kept.append((name, shown))
            } else {
                candidates.append((name, shown))
            }
        }
        if kept.count + candidates.count > limits.maxAttributes { candidates.sort { $0.name < $1.name } }
        var shownNames = Set(kept.map(\.shown))
        var dropped = 0
        for candidate in candidates {
            if kept.count < limits.maxAttributes, shownNames.insert(candidate.shown).inserted {
                kept.append(candidate)
            } else {
                dropped += 1
            }
        }
        return (kept, dropped)
    }

    private func keptAttributes(of attributes: SpanAttributes, sources: [String: String]) -> SpanAttributes {
        var kept = SpanAttributes()
        for (name, _) in keptNames(of: attributes, sources: sources).kept { kept.set(name, value: attributes.get(name)) }
        return kept
    }

    private func publish(_ attributes: SpanAttributes, into state: inout State) {
        guard let handle else { return }
        let (names, dropped) = keptNames(of: attributes, sources: state.sources)
        var next: [String: AttributeValue] = [:]
        for (name, shown) in names {
            guard let value = attributes.get(name) else { continue }
            next[shown] = SpanAttributeConversion.value(value, limits: limits)
        }
        for name in state.published.keys where next[name] == nil { handle.setAttribute(name, nil) }
        for (name, value) in next where state.published[name] != value { handle.setAttribute(name, value) }
        state.published = next
        state.sources = Dictionary(uniqueKeysWithValues: names.map { ($0.shown, $0.name) })
        // Never lowered: without a tracer downstream only the kept attributes are stored, so names dropped
        // before are missing from the next full set a read-modify-write hands back.
        if dropped > state.dropped {
            handle.setAttribute(Self.droppedAttribute, AttributeValue(dropped))
            state.dropped = dropped
        }
    }
}
