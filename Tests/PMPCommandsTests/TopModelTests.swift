import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
@testable import PMPClient
@testable import PMPCommands
@testable import PMPServer
import PMPTestSupport
import Testing

/// What `pmp top` makes of the endpoints' JSON: rows, ages, sorting, attribute cells, blocked stacks, lines
/// that fit the width. The JSON comes from the real renderers (`ProcessTableJSON`, a real snapshot's).
@Suite("pmp top's table") struct TopModelTests {
    static let t0: Int64 = 1_750_000_000_000_000_000

    static func state(_ host: String, _ records: [ProcessRecord], serverTime: Int64) throws -> EndpointState {
        var state = EndpointState(endpoint: try Endpoint.parse(host))
        let json = ProcessTableJSON.processList(records, serverTime: WallTime(nanosecondsSinceEpoch: serverTime))
        state.listing = try ProcessListing.decode(json)
        state.listedAt = Deadline(nanoseconds: 1_000_000_000_000)
        state.pollCount = 1
        return state
    }

    static func record(_ id: String, started: Double, status: String, statusAt: Double,
                       _ attributes: [String: AttributeValue] = [:], cancelling: Bool = false) -> ProcessRecord {
        ProcessRecord(id: id, attributes: attributes,
                      startTime: WallTime(nanosecondsSinceEpoch: t0 + Int64(started * 1e9)), status: status,
                      statusTime: WallTime(nanosecondsSinceEpoch: t0 + Int64(statusAt * 1e9)), forbidsCancel: false,
                      isCancelRequested: cancelling, cancelMessage: "", isFinished: false)
    }

    @Test("ages come from each server's clock and tick on between polls; any JSON attribute shows compactly")
    func rows() throws {
        let h1 = try Self.state("h1:9084", [
            Self.record("a-1", started: 0, status: "querying", statusAt: 7.5,
                        ["uri": "/work", "bytes": 512, "ratio": 0.25, "retry": false, "user": nil,
                         "tags": ["x", 2], "ctx": ["k": "v", "a": [true]], "note": "two\nlines"]),
        ], serverTime: Self.t0 + 10_000_000_000)
        let h2 = try Self.state("h2:9084", [Self.record("b-1", started: 5, status: "reading", statusAt: 5, cancelling: true)],
                                serverTime: Self.t0 + 6_000_000_000)
        let now = Deadline(nanoseconds: 1_000_000_000_000 + 2_000_000_000)
        let rows = TopTable.rows([h1, h2], now: now)
        #expect(rows.count == 2)
        let a = try #require(rows.first { $0.id == "a-1" })
        #expect(a.age == 12 && a.inStatus == 4.5)
        #expect(a.text(.age) == "12s" && a.text(.inStatus) == "4.5s")
        #expect(a.text(.attribute("bytes")) == "512")
        #expect(a.text(.attribute("ratio")) == "0.25")
        #expect(a.text(.attribute("retry")) == "false")
        #expect(a.text(.attribute("user")) == "null")
        #expect(a.text(.attribute("tags")) == #"["x",2]"#)
        #expect(a.text(.attribute("ctx")) == #"{"a":[true],"k":"v"}"#)
        #expect(a.text(.attribute("note")) == #"two\nlines"#)
        let b = try #require(rows.first { $0.id == "b-1" })
        #expect(b.host == "h2:9084" && b.age == 3 && b.text(.status) == "reading [cancelling]")
        #expect(b.text(.attribute("uri")) == "")
        let columns = Array(TopTable.columns(rows).prefix(6))
        let expected: [TopColumn] = [.host, .id, .age, .status, .inStatus, .attribute("bytes")]
        #expect(columns == expected)
    }

    @Test("sorting: durations longest first, ids by their number, missing attribute values last either way")
    func sorting() throws {
        let state = try Self.state("h1:1", [
            Self.record("r-9", started: 0, status: "b", statusAt: 1, ["size": 5]),
            Self.record("r-10", started: 3, status: "a", statusAt: 3),
            Self.record("r-2", started: 1, status: "c", statusAt: 2, ["size": 40]),
        ], serverTime: Self.t0 + 4_000_000_000)
        let rows = TopTable.rows([state], now: state.listedAt!)
        func order(_ sort: TopSort) -> [String] { TopTable.sorted(rows, by: sort).map(\.id) }
        #expect(order(TopSort(column: .age, descending: true)) == ["r-9", "r-2", "r-10"])
        #expect(order(TopSort(column: .id, descending: false)) == ["r-2", "r-9", "r-10"])
        #expect(order(TopSort(column: .status, descending: false)) == ["r-10", "r-9", "r-2"])
        #expect(order(TopSort(column: .attribute("size"), descending: true)) == ["r-2", "r-9", "r-10"])
        #expect(order(TopSort(column: .attribute("size"), descending: false)) == ["r-9", "r-2", "r-10"])
    }

    @Test("every line fits the width; columns that do not fit are counted as hidden")
    func fitsWidth() throws {
        var records: [ProcessRecord] = []
        for index in 0..<30 {
            let uri = "/api/v1/" + String(repeating: "x", count: index * 3)
            let attributes: [String: AttributeValue] = ["uri": .string(uri), "method": "GET", "user": .string("u\(index)")]
            records.append(Self.record("request-\(index)", started: Double(index), status: "querying the database",
                                       statusAt: Double(index), attributes))
        }
        let state = try Self.state("a-rather-long-host-name.example.internal:9084", records, serverTime: Self.t0 + 100_000_000_000)
        let rows = TopTable.rows([state], now: state.listedAt!)
        for width in [20, 41, 80, 132, 200, 400] {
            for height in [5, 10, 24, 60] {
                let frame = TopFrame(states: [state], rows: rows, columns: TopTable.columns(rows), sort: TopSort(),
                                     stacks: [], showsStacks: true, period: .seconds(1), paused: false,
                                     statusLine: TopFrame.keyHelp, wallClock: 0)
                let lines = frame.lines(width: width, height: height)
                #expect(lines.count == height, "\(width)×\(height)")
                #expect(lines.allSatisfy { $0.count <= max(20, width) }, "\(width)×\(height)")
                #expect(lines.last!.count < max(20, width), "the last column of the last line stays free")
            }
        }
        let narrow = ColumnLayout(columns: TopTable.columns(rows), rows: rows, width: 80, gap: 2)
        let firstThree: [TopColumn] = [.host, .id, .age]
        #expect(narrow.hiddenCount > 0)
        #expect(Array(narrow.visibleColumns.prefix(3)) == firstThree)
        let wide = ColumnLayout(columns: TopTable.columns(rows), rows: rows, width: 400, gap: 2)
        #expect(wide.hiddenCount == 0 && wide.visibleColumns.count == 8)
    }

    @Test("blocked stacks of a real snapshot merge across endpoints by function names; running and idle are left out")
    func blockedStacks() throws {
        let thread = TestThread.parkedInKnownFunction()
        defer {
            thread.finish()
            thread.waitUntilFinished()
        }
        let snapshot = try PMP.snapshot()
        var states: [EndpointState] = []
        for host in ["h1:1", "h2:2"] {
            var state = EndpointState(endpoint: try Endpoint.parse(host))
            state.stacks = try StackGroups.decode(SnapshotJSON.renderGrouped(snapshot))
            states.append(state)
        }
        let merged = BlockedStacks.merge(states)
        let parked = try #require(merged.first { $0.summary.contains("parkedInTestFunction(_:)") }, "\(merged.map(\.summary))")
        #expect(parked.hosts == ["h1:1", "h2:2"])
        #expect(parked.threads == 2, "one thread in each of the two copies")
        #expect(WaitReason(parked.waitReason).isBlocked)
        #expect(!parked.summary.contains("__futex"), "the system library's inner frames fold into the call made: \(parked.summary)")
        #expect(!merged.contains { $0.waitReason == "running" || $0.waitReason == "idle" })
        #expect(merged.map(\.threads) == merged.map(\.threads).sorted(by: >), "most threads first")
    }

    @Test("the panel's stack shows the innermost frames: the frames every thread starts in are left out at the root")
    func stackSummaryWithoutThreadEntries() {
        func frames(_ names: [(String, String)]) -> [StackFrame] { names.map { StackFrame(function: $0.0, image: $0.1) } }
        let worker = BlockedStack(waitReason: "condition wait", frames: frames([
            ("__futex_abstimed_wait_common", "libc.so.6"), ("pthread_cond_wait@@GLIBC_2.3.2", "libc.so.6"),
            ("static pmp_demo.Workers.blockedInConditionWait() -> ()", "pmp-demo"),
            ("closure #1 () -> () in static pmp_demo.Workers.start(_: pmp_demo.Workers.Kind, index: Swift.Int) -> ()", "pmp-demo"),
            ("reabstraction thunk helper from @escaping @callee_guaranteed () -> () to @escaping @callee_guaranteed (@in_guaranteed ()) -> (@out ())", "pmp-demo"),
            ("start_thread", "libc.so.6"), ("__clone3", "libc.so.6"),
        ]), threads: 3, hosts: ["h1:1"], longestBlocked: 1)
        #expect(worker.summary == "pthread_cond_wait ← Workers.blockedInConditionWait() ← closure in Workers.start(_:index:)")
        let main = BlockedStack(waitReason: "sleep", frames: frames([
            ("__GI___clock_nanosleep", "libc.so.6"), ("__sleep", "libc.so.6"), ("pmp_demo_main", "pmp-demo"),
            ("__libc_start_call_main", "libc.so.6"), ("__libc_start_main_impl", "libc.so.6"), ("_start", "pmp-demo"),
        ]), threads: 1, hosts: ["h1:1"], longestBlocked: 1)
        #expect(main.summary == "__sleep ← pmp_demo_main")
        let eventLoop = BlockedStack(waitReason: "event loop", frames: frames([
            ("epoll_wait", "libc.so.6"),
            ("@objc closure #1 (Swift.Optional<Swift.UnsafeMutableRawPointer>) -> Swift.Optional<Swift.UnsafeMutableRawPointer> in closure #1 (Swift.UnsafeMutablePointer<Swift.Optional<Swift.UInt>>) -> Swift.Int32 in static NIOPosix.ThreadOpsPosix.run(handle: inout Swift.Optional<NIOPosix.PthreadWrapper>, args: NIOPosix.Box<(body: (NIOPosix.NIOThread) -> (), name: Swift.Optional<Swift.String>)>) -> ()", "app"),
            ("start_thread", "libc.so.6"), ("__clone3", "libc.so.6"),
        ]), threads: 1, hosts: ["h1:1"], longestBlocked: 1)
        #expect(eventLoop.summary == "epoll_wait", "a stack of nothing but entries keeps its leaf")
    }

    @Test("the panel names who holds the lock a blocked stack waits for")
    func blockedStackHolders() throws {
        let locks = HeldLocks()
        defer { locks.release() }
        let snapshot = try locks.snapshot()
        var state = EndpointState(endpoint: try Endpoint.parse("h1:1"))
        state.stacks = try StackGroups.decode(SnapshotJSON.renderGrouped(snapshot))
        let merged = BlockedStacks.merge([state])
        let holderTids = Set(merged.flatMap(\.holders).map(\.tid))
        #expect(holderTids.contains(locks.pthreadHolder.tid) && holderTids.contains(locks.swiftHolder.tid),
                "\(merged.map { ($0.summary, $0.holderText ?? "-") })")
        let swift = try #require(merged.first { $0.holders.contains { $0.tid == locks.swiftHolder.tid } })
        #expect(swift.waitReason == "mutex lock")
        #expect(swift.holderText?.hasPrefix("held by thread \(locks.swiftHolder.tid)") == true)
        let line = BlockedStack(waitReason: "mutex lock", frames: [], threads: 1, hosts: ["h"], longestBlocked: nil,
                                holders: [LockHolder(tid: 7, name: "evil\u{1B}[2J")]).holderText ?? ""
        #expect(!line.contains("\u{1B}"), "a thread name cannot drive the terminal: \(line)")
    }

    @Test("function names shortened for the panel", arguments: [
        ("static pmp_demo.Workers.blockedInConditionWait() -> ()", "Workers.blockedInConditionWait()"),
        ("pthread_cond_wait@@GLIBC_2.3.2", "pthread_cond_wait"),
        ("closure #1 () -> Swift.Int32 in static NIOPosix.Epoll.epoll_wait(epfd: Swift.Int32, events: Swift.UnsafeMutablePointer<__C.epoll_event>, maxevents: Swift.Int32, timeout: Swift.Int32) throws -> Swift.Int32",
         "closure in Epoll.epoll_wait(epfd:events:maxevents:timeout:)"),
        ("partial apply forwarder for closure #2 () throws -> () in NIOPosix.SelectableEventLoop.run() throws -> ()",
         "closure in SelectableEventLoop.run()"),
        ("@objc closure #1 (Swift.Optional<Swift.UnsafeMutableRawPointer>) -> Swift.Optional<Swift.UnsafeMutableRawPointer> in closure #1 (Swift.UnsafeMutablePointer<Swift.Optional<Swift.UInt>>) -> Swift.Int32 in static NIOPosix.ThreadOpsPosix.run(handle: inout Swift.Optional<NIOPosix.PthreadWrapper>, args: NIOPosix.Box<(body: (NIOPosix.NIOThread) -> (), name: Swift.Optional<Swift.String>)>) -> ()",
         "closure in ThreadOpsPosix.run(handle:args:)"),
        ("Swift.withExtendedLifetime<A, B, C where B: Swift.Error, A: ~Swift.Copyable>(A, () throws(B) -> C) throws(B) -> C",
         "withExtendedLifetime(_:_:)"),
        ("static (extension in ArgumentParser):ArgumentParser.ParsableCommand.main(Swift.Optional<Swift.Array<Swift.String>>) -> ()",
         "ParsableCommand.main(_:)"),
        ("protocol witness for ArgumentParser.ParsableCommand.run() throws -> () in conformance pmp_demo.Demo : ArgumentParser.ParsableCommand in pmp_demo",
         "ParsableCommand.run()"),
        ("static NIOPosix.MultiThreadedEventLoopGroup.(runTheLoop in _C2B1528F4FBA68A3DBFA89DBAEBE9D4D)(thread: NIOPosix.NIOThread, _: (NIOPosix.SelectableEventLoop) -> ()) -> ()",
         "MultiThreadedEventLoopGroup.runTheLoop(thread:_:)"),
        ("reabstraction thunk helper from @escaping @callee_guaranteed () -> () to @escaping @callee_guaranteed (@in_guaranteed ()) -> (@out ())",
         "thunk"),
        ("__clone3", "__clone3"),
    ])
    func functionNames(name: String, short: String) {
        #expect(FunctionName.short(name) == short)
    }

    @Test("RFC 3339 times as pm writes them, with Z or an offset")
    func times() {
        #expect(RFC3339.nanosecondsSinceEpoch("1970-01-01T00:00:00Z") == 0)
        #expect(RFC3339.nanosecondsSinceEpoch("2025-03-04T05:06:07.123456789Z")
                == WallTime(nanosecondsSinceEpoch: 1_741_064_767_123_456_789).nanosecondsSinceEpoch)
        #expect(RFC3339.nanosecondsSinceEpoch("2025-03-04T07:06:07.5+02:00") == 1_741_064_767_500_000_000)
        // 2024-03-01T00:00:00Z is 1_709_251_200; half an hour west of UTC, 23:59:59 is 00:29:59 UTC.
        let leapDayInUTC: Int64 = (1_709_251_200 + 29 * 60 + 59) * 1_000_000_000
        #expect(RFC3339.nanosecondsSinceEpoch("2024-02-29T23:59:59-00:30") == leapDayInUTC)
        for bad in ["", "2025-03-04", "2025-03-04T05:06:07", "2025-13-04T05:06:07Z", "2025-03-04T05:06:07.Z"] {
            #expect(RFC3339.nanosecondsSinceEpoch(bad) == nil, "\(bad)")
        }
        let now = WallTime.now()
        #expect(RFC3339.nanosecondsSinceEpoch(now.rfc3339) == now.nanosecondsSinceEpoch)
    }
}
