import Foundation
import InMemoryTracing
import Instrumentation
@testable import PMPProcessTable
import PMPServer
import PMPTracing
import Synchronization
import PMPTestSupport
import Testing
import Tracing

/// The tracer with a real `ProcessTable`, and a real `PMPServer`'s /procs over a socket.
@Suite("ProcessTableTracer") struct ProcessTableTracerTests {
    @Test("spans in flight are entries: operation, attributes, events as statuses, the parent's id in /procs; they leave when they end")
    func spansAreEntries() async throws {
        let server = try TestServer()
        let tracer = ProcessTableTracer(table: server.table)
        let checkout = tracer.startSpan("checkout", context: .topLevel)
        checkout.attributes["user.id"] = "u-1"
        checkout.attributes["cart.items"] = 3
        checkout.addEvent("reserving stock")
        let query = tracer.startSpan("db.query", context: checkout.context)
        query.attributes["db.statement"] = "SELECT 1"

        let records = server.table.processes()
        try #require(records.count == 2)
        let parent = try #require(records.first { $0.attributes["operation"] == "checkout" })
        let child = try #require(records.first { $0.attributes["operation"] == "db.query" })
        #expect(parent.attributes == ["operation": "checkout", "user.id": "u-1", "cart.items": 3])
        #expect(parent.status == "reserving stock")
        #expect(parent.parentID == nil)
        #expect(child.parentID == parent.id)
        #expect(child.attributes["db.statement"] == "SELECT 1")
        #expect(checkout.processTableEntryID == parent.id)
        #expect(query.context.processTableEntryID == child.id)

        let listing = try await HTTPClient.get(server.url("/procs")).json()
        let procs = try #require(listing["procs"] as? [[String: Any]])
        try #require(procs.count == 2)
        let listedChild = try #require(procs.first { $0["id"] as? String == child.id })
        let listedParent = try #require(procs.first { $0["id"] as? String == parent.id })
        #expect(listedChild["parent"] as? String == parent.id)
        #expect(Set(listedParent.keys) == ["id", "attrs", "procTime", "statusTime", "status"],
                "no parent key for a top-level span, as pm writes it")
        let attributes = listedParent["attrs"] as? [[String: Any]] ?? []
        #expect(attributes.compactMap { $0["name"] as? String } == ["cart.items", "operation", "user.id"])
        let history = try await HTTPClient.get(server.url("/procs/\(parent.id)/history")).json()
        let statuses = (history["history"] as? [[String: Any]] ?? []).compactMap { $0["status"] as? String }
        #expect(statuses == ["init", "reserving stock"])

        query.end()
        #expect(server.table.processes().map(\.id) == [parent.id])
        checkout.end()
        #expect(server.table.processes().isEmpty)
        #expect(tracer.inFlightSpanCount == 0)

        let finished = try await HTTPClient.get(server.url("/procs?all=1")).json()
        let finishedProcs = try #require(finished["procs"] as? [[String: Any]])
        #expect(finishedProcs.map { $0["status"] as? String } == ["ended", "ended"])
        #expect(finishedProcs.first { $0["id"] as? String == child.id }?["parent"] as? String == parent.id)
    }

    struct Refused: Error, CustomStringConvertible {
        var description: String { "card refused" }
    }

    @Test("withSpan through a task-local tracer: nesting keeps the parent; errors, statuses and cancellation give the outcome")
    func outcomes() async throws {
        let table = ProcessTable()
        let tracer = ProcessTableTracer(table: table)
        try await withTracer(tracer) {
            try await withSpan("order") { order in
                let orderID = try #require(order.context.processTableEntryID)
                await #expect(throws: Refused.self) {
                    try await withSpan("charge") { _ -> Void in throw Refused() }
                }
                try? await withSpan("wait") { _ -> Void in throw CancellationError() }
                await withSpan("retry") { span in
                    span.recordError(Refused())
                    span.setStatus(SpanStatus(code: .ok))
                }
                await withSpan("lookup") { span in span.setStatus(SpanStatus(code: .error, message: "not found")) }
                await withSpan("plain") { span in span.recordError(Refused()) }
                let children = table.processes(includingFinished: true).filter { $0.id != orderID }
                #expect(children.allSatisfy { $0.parentID == orderID })
                #expect(table.processes().map(\.id) == [orderID])
            }
        }
        let byOperation = Dictionary(uniqueKeysWithValues: table.processes(includingFinished: true).map {
            ($0.attributes["operation"] ?? nil, $0)
        })
        #expect(byOperation["order"]?.status == "ended")
        #expect(byOperation["charge"]?.status == "failed: card refused")
        #expect(byOperation["wait"]?.status == "cancelled")
        #expect(byOperation["retry"]?.status == "ended", "status .ok set after the error")
        #expect(byOperation["lookup"]?.status == "failed: not found")
        #expect(byOperation["plain"]?.status == "failed: card refused")
        let charge = try #require(byOperation["charge"])
        #expect(table.history(id: charge.id)?.changes.map(\.status) == ["init", "error: card refused",
                                                                        "failed: card refused"])
    }

    @Test("a span started inside process-table work with no traced parent names that work's entry")
    func parentFromCurrentWork() async throws {
        let table = ProcessTable()
        let tracer = ProcessTableTracer(table: table)
        let (requestID, spanParent) = try await table.runInCurrentTask(attributes: ["uri": "/report"]) { process in
            let span = tracer.startSpan("render", context: .topLevel)
            defer { span.end() }
            return (process.id, table.process(id: try #require(span.processTableEntryID))?.parentID)
        }
        #expect(spanParent == requestID)
    }

    @Test("forwarding to a tracer that records nothing: the entry keeps every attribute and records until the end")
    func forwardingToNoOp() throws {
        let table = ProcessTable()
        let span = ProcessTableTracer(table: table, forwardingTo: NoOpTracer()).startSpan("job", context: .topLevel)
        #expect(span.isRecording)
        span.attributes["a"] = 1
        span.attributes["b"] = 2
        span.attributes["c"] = "three"
        span.addEvent("halfway")
        let record = try #require(table.processes().first)
        #expect(record.attributes == ["operation": "job", "a": 1, "b": 2, "c": "three"])
        #expect(record.status == "halfway")
        span.end()
        #expect(!span.isRecording)
        #expect(table.processes().isEmpty)
    }

    @Test("span entries forbid cancel: the tracer has no task to stop")
    func cancelForbidden() async throws {
        let server = try TestServer()
        let span = ProcessTableTracer(table: server.table).startSpan("export", context: .topLevel)
        defer { span.end() }
        let id = try #require(span.processTableEntryID)
        let answer = try await HTTPClient.request(server.url("/procs/\(id)"), method: "DELETE")
        #expect(answer.status == 403)
        #expect(span.isRecording)
    }

    @Test("bounds: attributes per entry, name and string bytes, array elements, spans in flight; a span never ended")
    func bounds() throws {
        let table = ProcessTable()
        let limits = ProcessTableTracerLimits(maxAttributes: 4, maxStringBytes: 16, maxNameBytes: 10,
                                              maxArrayElements: 2, maxInFlightSpans: 2)
        let tracer = ProcessTableTracer(table: table, limits: limits)
        let span = tracer.startSpan(String(repeating: "operation ", count: 10), context: .topLevel)
        var attributes = SpanAttributes()
        for index in 0..<100 { attributes["a.\(String(format: "%03d", index))"] = "value \(index)" }
        span.attributes = attributes
        span.addEvent(SpanEvent(name: String(repeating: "x", count: 1000)))

        let record = try Self.entry(of: span, in: table)
        let spanAttributes = record.attributes.filter { $0.key != "operation" && $0.key != "dropped-attributes" }
        #expect(Set(spanAttributes.keys) == ["a.000", "a.001", "a.002", "a.003"], "the first names in order")
        #expect(record.attributes["dropped-attributes"] == 96)
        #expect(record.attributes["operation"] == .string("operation ope…"))
        #expect(record.status == String(repeating: "x", count: 13) + "…")
        for value in record.attributes.values {
            if case .string(let text) = value { #expect(text.utf8.count <= 16) }
        }

        let wide = tracer.startSpan("wide", context: span.context)
        wide.attributes["a.long"] = String(repeating: "é", count: 100)
        wide.attributes["a.list"] = SpanAttribute.stringArray(["one", "two", "three"])
        wide.attributes["name.that.is.long"] = "x"
        wide.attributes["name.that.is.longer"] = "y"
        let wideRecord = try Self.entry(of: wide, in: table)
        #expect(wideRecord.attributes["a.long"] == .string(String(repeating: "é", count: 6) + "…"),
                "cut at a character boundary")
        #expect(wideRecord.attributes["a.list"] == ["one", "two"])
        #expect(wideRecord.attributes.keys.filter { $0 != "dropped-attributes" }.allSatisfy { $0.utf8.count <= 10 })
        #expect(wideRecord.attributes["name.th…"] == "x", "the first of the names cut alike; the other dropped")
        #expect(wideRecord.attributes["dropped-attributes"] == 1)

        // Both places are taken: the next spans get no entry, and their children name the nearest ancestor that has one.
        let crowded = tracer.startSpan("crowded", context: wide.context)
        #expect(crowded.processTableEntryID == nil)
        #expect(crowded.context.processTableEntryID == wide.processTableEntryID)
        span.end()
        let late = tracer.startSpan("late", context: crowded.context)
        let lateRecord = try Self.entry(of: late, in: table)
        #expect(lateRecord.parentID == wide.processTableEntryID)
        crowded.end()
        late.end()
        wide.end()
        #expect(tracer.inFlightSpanCount == 0)

        var forgottenID: String?
        do {
            let forgotten = tracer.startSpan("forgotten", context: .topLevel)
            forgottenID = forgotten.processTableEntryID
        }
        let forgottenEntry = try #require(forgottenID)
        let forgotten = try #require(table.process(id: forgottenEntry))
        #expect(forgotten.status == "failed: span released without end()")
        #expect(tracer.inFlightSpanCount == 0)
    }

    static func entry(of span: ProcessTableSpan, in table: ProcessTable) throws -> ProcessRecord {
        let id = try #require(span.processTableEntryID)
        return try #require(table.process(id: id))
    }

    @Test("forwarding: every span is also the other tracer's, with its ids and parents; inject is the other tracer's")
    func forwarding() async throws {
        let table = ProcessTable()
        let recorder = InMemoryTracer()
        let tracer = ProcessTableTracer(table: table, forwardingTo: recorder)
        try await withTracer(tracer) {
            try await withSpan("outer") { outer in
                outer.attributes["order.id"] = "o-7"
                outer.addEvent("validated")
                try await withSpan("inner") { inner in
                    #expect(recorder.activeSpans.count == 2)
                    #expect(table.processes().count == 2)
                    inner.recordError(Refused())
                    inner.setStatus(SpanStatus(code: .error))
                    var headers: [String: String] = [:]
                    InstrumentationSystem.instrument.inject(inner.context, into: &headers, using: DictionaryInjector())
                    #expect(headers[InMemoryTracer.spanIDKey] == inner.context.inMemorySpanContext?.spanID)
                }
            }
        }
        let spans = recorder.finishedSpans
        try #require(spans.count == 2)
        let outer = try #require(spans.first { $0.operationName == "outer" })
        let inner = try #require(spans.first { $0.operationName == "inner" })
        #expect(inner.parentSpanID == outer.spanID)
        #expect(inner.traceID == outer.traceID)
        #expect(outer.attributes.get("order.id") == .string("o-7"))
        #expect(outer.events.map(\.name) == ["validated"])
        #expect(inner.errors.count == 1)
        #expect(inner.status?.code == .error)
        #expect(recorder.performedContextInjections.count == 1)

        let entries = table.processes(includingFinished: true)
        let outerEntry = try #require(entries.first { $0.attributes["operation"] == "outer" })
        let innerEntry = try #require(entries.first { $0.attributes["operation"] == "inner" })
        #expect(innerEntry.parentID == outerEntry.id)
        #expect(outerEntry.attributes["order.id"] == "o-7")
        #expect(innerEntry.status == "failed: card refused")
        #expect(outerEntry.status == "ended")
    }

    @Test("bootstrapped in a MultiplexInstrument beside a propagator: spans reach the table and the tracer forwarded to, inject reaches both")
    func multiplexed() throws {
        let (table, recorder, propagator) = GlobalTracing.bootstrapped
        let span = InstrumentationSystem.tracer.startSpan("global", context: .topLevel)
        #expect(table.processes().contains { $0.attributes["operation"] == "global" })
        #expect(recorder.activeSpans.contains { $0.operationName == "global" })
        var headers: [String: String] = [:]
        InstrumentationSystem.instrument.inject(span.context, into: &headers, using: DictionaryInjector())
        #expect(headers[InMemoryTracer.spanIDKey] != nil)
        #expect(headers[HeaderPropagator.header] == "seen")
        #expect(propagator.injected.withLock { $0 } >= 1)
        span.end()
        #expect(!table.processes().contains { $0.attributes["operation"] == "global" })
        #expect(recorder.finishedSpans.contains { $0.operationName == "global" })
    }
}

/// The process-wide bootstrap, made once (InstrumentationSystem allows one): only `multiplexed` uses it.
enum GlobalTracing {
    static let bootstrapped: (ProcessTable, InMemoryTracer, HeaderPropagator) = {
        let table = ProcessTable()
        let recorder = InMemoryTracer()
        let propagator = HeaderPropagator()
        InstrumentationSystem.bootstrap(MultiplexInstrument([
            ProcessTableTracer(table: table, forwardingTo: recorder), propagator,
        ]))
        return (table, recorder, propagator)
    }()
}

/// An instrument that only propagates: writes one header.
final class HeaderPropagator: Instrument {
    static let header = "x-propagated"
    let injected = Mutex(0)

    func inject<Carrier, Inject: Injector>(_ context: ServiceContext, into carrier: inout Carrier,
                                           using injector: Inject) where Inject.Carrier == Carrier {
        injected.withLock { $0 += 1 }
        injector.inject("seen", forKey: Self.header, into: &carrier)
    }

    func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, into context: inout ServiceContext,
                                             using extractor: Extract) where Extract.Carrier == Carrier {}
}

struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}

/// The README's bootstrap lines, compiled here; never called (a process bootstraps once, see `GlobalTracing`).
func readmeTracingExample(otelTracer: any Tracer, propagator: any Instrument) {
    InstrumentationSystem.bootstrap(ProcessTableTracer())                           // spans only in the table
    InstrumentationSystem.bootstrap(ProcessTableTracer(forwardingTo: otelTracer))   // and to your tracer as well
    InstrumentationSystem.bootstrap(MultiplexInstrument([ProcessTableTracer(forwardingTo: otelTracer), propagator]))
}
