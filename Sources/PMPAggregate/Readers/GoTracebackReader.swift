import PMPSupport
/// Reads Go tracebacks: what the runtime prints on SIGQUIT (any GOTRACEBACK level, `crash` included), in a
/// panic, and what `/debug/pprof/goroutine?debug=2` (runtime.Stack of all goroutines) serves:
///
///     SIGQUIT: quit
///     PC=0x46d1e1 m=0 sigcode=0
///
///     goroutine 21 [chan receive, 5 minutes, locked to thread]:
///     main.receiveOne(...)                                        an inlined call: its arguments are "(...)"
///             /src/main.go:67
///     net/http.(*conn).serve(0xc000000140, {0x7668a0, 0xc0000160f0})
///             /usr/lib/go/src/net/http/server.go:1991 +0x607 fp=0xc00012ffe0 sp=0xc00012ffc0 pc=0x675585
///     ...additional frames elided...
///     created by main.main in goroutine 1
///             /src/main.go:166 +0x43d
///
///     goroutine 41 [running]:
///             goroutine running on other thread; stack unavailable
///
///     rax    0xca                                                 registers, after the goroutines
///
/// One stack per goroutine, its state the wait reason in the brackets without the time blocked (", 5 minutes")
/// or ", locked to thread". Frames carry file and line but no address (Go prints an offset into the function).
/// "created by" names the function that started the goroutine, which is not on its stack: it is left out, so
/// that a goroutine folds the same whoever started it, as in Go's own goroutine profile. A goroutine whose
/// stack was unavailable gives a stack without frames, unless the same dump prints its stack later (with
/// GOTRACEBACK=crash every thread prints its own goroutine after a "-----" line). Go prints no goroutine names
/// and no pid. A dump begins at "SIGQUIT: quit" or at a goroutine whose number was already seen in the dump
/// (debug=2 output has no header of its own).
///
/// Other records of a log may stand between a goroutine's lines: a line that is none of a goroutine's shapes
/// neither ends nor splits it (the reader answers `.ended` and stays `isInsideStack`); a blank line, the next
/// header, the registers or `GoTracebackReader.foreignLineLimit` such lines in a row end it.
public struct GoTracebackReader: DumpReader {
    /// Foreign lines in a row after which an open goroutine is taken to have ended (the dump is over and the
    /// log went on without a blank line).
    public static let foreignLineLimit = 64

    public static let format = DumpFormat.goTraceback

    private var dumpBegun = false
    /// After "-----": the next "SIGQUIT:" section is another thread's part of the same dump (GOTRACEBACK=crash).
    private var afterSeparator = false
    private var goroutinesSeen = Set<Int>()
    /// Swift tasks (swift-pmp's goroutine dumps list them after the threads): their ids are not thread ids.
    private var tasksSeen = Set<Int>()
    /// The current goroutine is a Swift task: its state starts with `task `.
    private var isTask = false
    /// Goroutines of the current dump printed as running elsewhere, without a stack, with their states.
    private var unavailable: [(id: Int, state: [UInt8])] = []

    private var inGoroutine = false
    private var goroutineID = 0
    private var state: [UInt8] = []
    private var stackBegun = false
    private var stackUnavailable = false
    /// The next location line is the "created by" caller's: skipped.
    private var creatorLocationNext = false
    /// A function line waiting for its location line.
    private var held = HeldFrame()
    /// Foreign lines read in a row inside the open goroutine.
    private var foreignLines = 0

    public var isInsideStack: Bool { inGoroutine }

    public init() {}

    // MARK: - Claim

    /// A goroutine header (`goroutine N [state]:`) or the "SIGQUIT: quit" line that opens a signal's dump.
    public static func claim(_ line: LineBytes) -> Int? {
        if let start = headerStart(line) { return start }
        if let start = LineScan.find("SIGQUIT: quit", in: line),
           LineScan.endTrimmingBlanks(line, from: start) == start + 13 {
            return start
        }
        return nil
    }

    // MARK: - Lines

    public mutating func feed(_ content: LineBytes, into sink: inout some StackSink) -> LineOutcome {
        if LineScan.isBlank(content) {
            closeGoroutine(into: &sink)
            return .consumed
        }
        if let start = Self.headerStart(content), let header = Self.header(content, at: start) {
            readHeader(id: header.id, state: LineScan.slice(content, header.state), into: &sink)
            return .consumed
        }
        if inGoroutine, let outcome = readStackLine(content, into: &sink) {
            foreignLines = 0
            return outcome
        }
        if let start = LineScan.find("SIGQUIT: quit", in: content), LineScan.endTrimmingBlanks(content, from: start) == start + 13 {
            closeGoroutine(into: &sink)
            if !(dumpBegun && afterSeparator) { startDump(into: &sink) }
            afterSeparator = false
            return .consumed
        }
        if dumpBegun {
            let start = LineScan.skipBlanks(content, from: 0)
            let end = LineScan.endTrimmingBlanks(content)
            if LineScan.matches(content, "PC=0x", at: start) || Self.isRegister(content, from: start, to: end) {
                closeGoroutine(into: &sink)
                return .consumed
            }
            if end - start == 5, LineScan.matches(content, "-----", at: start) {
                closeGoroutine(into: &sink)
                afterSeparator = true
                return .consumed
            }
        }
        // Another record between the goroutine's lines: it goes on after it, unless the log has moved on.
        foreignLines += 1
        if foreignLines >= Self.foreignLineLimit { closeGoroutine(into: &sink) }
        return .ended
    }

    public mutating func finish(into sink: inout some StackSink) {
        closeGoroutine(into: &sink)
        flushUnavailable(into: &sink)
    }

    private mutating func readHeader(id: Int, state: LineBytes, into sink: inout some StackSink) {
        closeGoroutine(into: &sink)
        if let index = unavailable.firstIndex(where: { $0.id == id }) {
            // Its stack, printed by its own thread after all (GOTRACEBACK=crash).
            unavailable.remove(at: index)
        } else if !dumpBegun || (id != 0 && (isTaskState(state) ? tasksSeen : goroutinesSeen).contains(id)) {
            startDump(into: &sink)
        }
        afterSeparator = false
        isTask = isTaskState(state)
        // Goroutine 0 is each thread's scheduler stack: printed once per thread, not a goroutine of its own.
        if id != 0 { if isTask { tasksSeen.insert(id) } else { goroutinesSeen.insert(id) } }
        inGoroutine = true
        foreignLines = 0
        goroutineID = id
        self.state.removeAll(keepingCapacity: true)
        self.state.append(contentsOf: state)
        stackBegun = false
        stackUnavailable = false
        creatorLocationNext = false
    }

    /// A line inside a goroutine's block; nil when it is none of the shapes that belong there.
    private mutating func readStackLine(_ line: LineBytes, into sink: inout some StackSink) -> LineOutcome? {
        if let tab = LineScan.firstIndex(of: 0x09, in: line) {
            let start = LineScan.skipBlanks(line, from: tab)
            if LineScan.matches(line, "goroutine running on other thread", at: start) {
                guard !stackBegun, !held.isHeld else { return .malformed }
                stackUnavailable = true
                return .consumed
            }
            guard let location = Self.location(line, from: start) else { return .malformed }
            if creatorLocationNext {
                creatorLocationNext = false
                return .consumed
            }
            guard held.isHeld else { return .malformed }
            held.locate(file: LineScan.slice(line, location.file), line: location.line)
            releaseFrame(into: &sink)
            return .consumed
        }
        if LineScan.find("created by ", in: line) != nil {
            releaseFrame(into: &sink)
            creatorLocationNext = true
            return .consumed
        }
        if LineScan.find("frames elided...", in: line) != nil {
            // "...additional frames elided..." (or "...N frames elided..." in newer Go): a cut, not a frame.
            releaseFrame(into: &sink)
            return .consumed
        }
        if let function = Self.functionCall(line) {
            guard !stackUnavailable else { return .malformed }
            releaseFrame(into: &sink)
            held.hold(function: LineScan.slice(line, function.name), address: nil, image: nil, inlined: function.inlined)
            return .consumed
        }
        return nil
    }

    private mutating func releaseFrame(into sink: inout some StackSink) {
        guard held.isHeld else { return }
        beginStackIfNeeded(into: &sink)
        held.release(into: &sink)
    }

    private mutating func beginStackIfNeeded(into sink: inout some StackSink) {
        guard !stackBegun else { return }
        stackBegun = true
        state.withUnsafeBufferPointer { state in
            if isTask {
                sink.beginTaskStack(format: Self.format, state: state, process: nil)
            } else {
                sink.beginStack(format: Self.format, threadName: nil, state: state, process: nil, count: 1)
            }
        }
    }

    private func isTaskState(_ state: LineBytes) -> Bool {
        LineScan.hasPrefix(state, "task ")
    }

    private mutating func closeGoroutine(into sink: inout some StackSink) {
        guard inGoroutine else { return }
        inGoroutine = false
        creatorLocationNext = false
        if stackUnavailable {
            unavailable.append((goroutineID, state))
            return
        }
        releaseFrame(into: &sink)
        beginStackIfNeeded(into: &sink)
        sink.endStack()
    }

    private mutating func startDump(into sink: inout some StackSink) {
        flushUnavailable(into: &sink)
        dumpBegun = true
        afterSeparator = false
        goroutinesSeen.removeAll(keepingCapacity: true)
        tasksSeen.removeAll(keepingCapacity: true)
        sink.beginDump(format: Self.format)
    }

    /// Goroutines whose stacks were unavailable and not printed later: stacks without frames.
    private mutating func flushUnavailable(into sink: inout some StackSink) {
        for goroutine in unavailable {
            goroutine.state.withUnsafeBufferPointer { state in
                sink.beginStack(format: Self.format, threadName: nil, state: state, process: nil, count: 1)
            }
            sink.endStack()
        }
        unavailable.removeAll(keepingCapacity: true)
    }

    // MARK: - Shapes

    /// Where a `goroutine N [state]:` header starts in the line.
    private static func headerStart(_ line: LineBytes) -> Int? {
        var search = 0
        while let start = LineScan.find("goroutine ", in: line, from: search) {
            if header(line, at: start) != nil { return start }
            search = start + 1
        }
        return nil
    }

    /// `goroutine N [STATE(, N minutes)(, locked to thread)]:` at `start` (Go 1.23 puts "gp=… m=… mp=…" before
    /// the bracket under GOTRACEBACK=system): the number and the wait reason.
    private static func header(_ line: LineBytes, at start: Int) -> (id: Int, state: Range<Int>)? {
        guard let (id, digitsEnd) = LineScan.decimal(line, from: start + 10),
              digitsEnd < line.count, line[digitsEnd] == 0x20 else { return nil }
        let end = LineScan.endTrimmingBlanks(line, from: digitsEnd)
        guard end - digitsEnd >= 4, LineScan.matches(line, "]:", at: end - 2),
              let open = LineScan.find(" [", in: line, from: digitsEnd, before: end - 2)
        else { return nil }
        let stateStart = open + 2
        var stateEnd = end - 2
        if let comma = LineScan.find(", ", in: line, from: stateStart, before: stateEnd) { stateEnd = comma }
        return (id, stateStart..<stateEnd)
    }

    /// `FILE:LINE` followed by nothing, ` +0xOFFSET` and/or ` fp=… sp=… pc=…`.
    private static func location(_ line: LineBytes, from start: Int) -> (file: Range<Int>, line: Int)? {
        var end = LineScan.endTrimmingBlanks(line, from: start)
        if let offset = LineScan.find(" +0x", in: line, from: start, before: end) { end = offset }
        if let framePointer = LineScan.find(" fp=", in: line, from: start, before: end) { end = framePointer }
        guard let colon = LineScan.lastIndex(of: UInt8(ascii: ":"), in: line, from: start, before: end),
              colon > start, let (number, numberEnd) = LineScan.decimal(line, from: colon + 1), numberEnd == end
        else { return nil }
        return (start..<colon, number)
    }

    /// `pkg.f(args)`, `pkg.(*T).m(args)`, `pkg.F[...](args)`: the function's name (after any stray text, which
    /// ends at a blank: Go names hold none) and whether the call was inlined (Go prints its arguments as "(...)").
    /// After stray text, a name must hold a dot (Go qualifies every name with its package): "handled
    /// request(GET)" in another record is not a frame.
    private static func functionCall(_ line: LineBytes) -> (name: Range<Int>, inlined: Bool)? {
        let end = LineScan.endTrimmingBlanks(line)
        guard end > 2, line[end - 1] == UInt8(ascii: ")"),
              let open = LineScan.lastIndex(of: UInt8(ascii: "("), in: line, before: end - 1)
        else { return nil }
        var nameStart = open
        while nameStart > 0, line[nameStart - 1] != 0x20, line[nameStart - 1] != 0x09 { nameStart -= 1 }
        guard nameStart < open,
              nameStart == 0 || LineScan.firstIndex(of: UInt8(ascii: "."), in: LineScan.slice(line, nameStart..<open)) != nil
        else { return nil }
        return (nameStart..<open, end - open == 5 && LineScan.matches(line, "(...)", at: open))
    }

    /// A register in the dump after the goroutines: `rax    0xca`, `rflags 0x286`, `r15    0x…`.
    private static func isRegister(_ line: LineBytes, from start: Int, to end: Int) -> Bool {
        var index = start
        while index < end, (line[index] | 0x20) &- 0x61 < 26 || LineScan.isDigit(line[index]) { index += 1 }
        guard index > start, index < end, line[index] == 0x20 else { return false }
        index = LineScan.skipBlanks(line, from: index)
        guard LineScan.matches(line, "0x", at: index), let (_, hexEnd) = LineScan.hexadecimal(line, from: index + 2)
        else { return false }
        return hexEnd == end
    }
}
