import Instrumentation
import PMPProcessTable
import Tracing

/// A swift-distributed-tracing `Tracer` that makes every span in flight a process-table entry, so that whatever a
/// library traces (an AsyncHTTPClient request, a database query, a framework's request span) is listed by
/// `GET /procs` while it runs, with no code of yours:
///
///     InstrumentationSystem.bootstrap(ProcessTableTracer())                        // spans only in the table
///     InstrumentationSystem.bootstrap(ProcessTableTracer(forwardingTo: otelTracer)) // and to your tracer too
///
/// An entry's attribute `operation` is the span's operation name; the span's attributes are the entry's other
/// attributes; each event (and each recorded error, as `error: …`) becomes the entry's status; the entry of a span
/// names the entry of its parent span as `parent` (or, for a span with no traced parent, the entry of the work it
/// runs in, `ProcessHandle.current`, such as the request a framework middleware registered). The entry finishes
/// when the span ends (see `ProcessTableSpan` for the final statuses). Span kinds are not shown, and links go
/// only to the tracer downstream.
///
/// With `forwardingTo:`, every span is also a span of that tracer, started with the same parent, and `inject` /
/// `extract` are that tracer's: propagation, ids and export stay as that tracer makes them. Forwarding is how to
/// combine the two: a `MultiplexInstrument` hands spans to its first `Tracer` only (`InstrumentationSystem.tracer`
/// looks no further), so `MultiplexInstrument([ProcessTableTracer(), otelTracer])` would leave the other tracer
/// without spans. Put the forwarding tracer in a `MultiplexInstrument` beside instruments that only propagate.
///
/// Everything a span puts into the table is bounded by `limits`; span entries forbid cancel requests.
public struct ProcessTableTracer: Tracer {
    public typealias Span = ProcessTableSpan

    /// Where the entries go; `PMPServer` serves `ProcessTable.shared` unless configured otherwise.
    public let table: ProcessTable
    public let limits: ProcessTableTracerLimits
    /// The tracer every span is forwarded to.
    public let downstream: (any Tracer)?
    private let budget: SpanBudget

    public init(table: ProcessTable = .shared, limits: ProcessTableTracerLimits = ProcessTableTracerLimits()) {
        self.init(table: table, limits: limits, downstream: nil)
    }

    /// Every span is also started on `downstream` (swift-otel's tracer, say), which also injects and extracts.
    public init(table: ProcessTable = .shared, limits: ProcessTableTracerLimits = ProcessTableTracerLimits(),
                forwardingTo downstream: any Tracer) {
        self.init(table: table, limits: limits, downstream: downstream)
    }

    private init(table: ProcessTable, limits: ProcessTableTracerLimits, downstream: (any Tracer)?) {
        self.table = table
        self.limits = limits
        self.downstream = downstream
        budget = SpanBudget(limit: limits.maxInFlightSpans)
    }

    /// Spans of this tracer in flight with an entry.
    public var inFlightSpanCount: Int { budget.count }

    public func startSpan<Instant: TracerInstant>(
        _ operationName: String,
        context: @autoclosure () -> ServiceContext,
        ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant,
        function: String,
        file fileID: String,
        line: UInt
    ) -> ProcessTableSpan {
        let parentContext = context()
        let forwarded = downstream?.startSpan(operationName, context: parentContext, ofKind: kind, at: instant(),
                                              function: function, file: fileID, line: line)
        // The downstream span's context carries its own ids (and the parent's values): ours goes on top of it.
        var spanContext = forwarded?.context ?? parentContext
        var handle: ProcessHandle?
        if budget.acquire() {
            let parentID = parentContext.processTableEntryID ?? ProcessHandle.current?.id
            let operation = AttributeValue.string(BoundedText.cut(operationName, toBytes: limits.maxStringBytes))
            let registered = table.register(attributes: [ProcessTableSpan.operationAttribute: operation],
                                            parentID: parentID, forbidsCancel: true)
            spanContext.processTableEntryID = registered.id
            handle = registered
        }
        return ProcessTableSpan(operationName: operationName, context: spanContext, handle: handle,
                                downstream: forwarded, limits: limits, budget: budget)
    }

    /// Forwarded: the table itself has nothing to flush. (Deprecated in swift-distributed-tracing, still required.)
    @available(*, deprecated)
    public func forceFlush() { downstream?.forceFlush() }

    public func inject<Carrier, Inject: Injector>(_ context: ServiceContext, into carrier: inout Carrier,
                                                  using injector: Inject) where Inject.Carrier == Carrier {
        downstream?.inject(context, into: &carrier, using: injector)
    }

    public func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, into context: inout ServiceContext,
                                                    using extractor: Extract) where Extract.Carrier == Carrier {
        downstream?.extract(carrier, into: &context, using: extractor)
    }
}
