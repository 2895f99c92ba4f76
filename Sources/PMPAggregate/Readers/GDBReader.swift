import PMPSupport
/// Reads gdb backtraces out of logs: `thread apply all bt` (a `Thread N (…):` header before each thread's
/// frames, threads separated by blank lines) and a lone `bt` (frames only).
///
///     Thread 5 (Thread 0x7f099e0836c0 (LWP 27351) "cond-1"):
///     #0  __futex_abstimed_wait_common64 (private=0, cancel=true, …) at ./nptl/futex-internal.c:57
///     #1  0x00007f099dca3f7b in __GI___futex_abstimed_wait_cancelable64 (futex_word=…) at ./nptl/futex-internal.c:139
///     #2  0x00007f099e16fd81 in _dispatch_sema4_timedwait () from /usr/lib/swift/linux/libdispatch.so
///     #3  <signal handler called>
///     Backtrace stopped: previous frame inner to this frame (corrupt stack?)
///
/// The function name ends where its argument list starts (arguments are skipped, whatever parentheses and
/// strings they hold; template arguments in `<…>` stay in the name). A frame without an address is one gdb
/// shows as inlined into the frame below it. Threads come in descending (or ascending) order within one
/// `thread apply all bt`: a thread number out of that order starts the next dump.
///
/// Lines of other log records may interleave: on a foreign line the reader answers `.ended` but keeps the
/// stack open, and a later frame line with the next frame number (frame lines are claimed too) continues it.
/// Up to `GoTracebackReader.foreignLineLimit` foreign lines in a row, the reader is `isInsideStack`: the lines
/// no format claims (an inlined frame, "Backtrace stopped") are offered to it too.
public struct GDBReader: DumpReader {
    public static let format = DumpFormat.gdb

    /// Foreign lines read in a row while a stack is open.
    private var foreignLines = ForeignLineRun()

    public var isInsideStack: Bool { stackOpen && foreignLines.keepsStackOpen }

    private var stackOpen = false
    private var nextFrame = 0
    private var dumpOpen = false
    private var lastThread: (major: Int, minor: Int)?
    /// -1 descending thread numbers, +1 ascending, 0 not known yet.
    private var direction = 0

    public init() {}

    public static func claim(_ line: LineBytes) -> Int? {
        var search = 0
        while let hash = LineScan.firstIndex(of: UInt8(ascii: "#"), in: line, from: search) {
            if isClaimableFrame(line, at: hash) { return hash }
            search = hash + 1
        }
        guard LineScan.hasSuffix(line, "):") || LineScan.hasSuffix(line, "): ") else { return nil }
        search = 0
        while let t = LineScan.firstIndex(of: UInt8(ascii: "T"), in: line, from: search) {
            if threadNumber(LineScan.suffix(line, from: t)) != nil { return t }
            search = t + 1
        }
        return nil
    }

    public mutating func feed(_ content: LineBytes, into sink: inout some StackSink) -> LineOutcome {
        let outcome = read(content, into: &sink)
        _ = foreignLines.note(outcome)
        return outcome
    }

    private mutating func read(_ content: LineBytes, into sink: inout some StackSink) -> LineOutcome {
        guard let first = content.first else {
            closeStack(&sink)
            return .consumed
        }
        switch first {
        case UInt8(ascii: "#"):
            return frameLine(content, into: &sink)
        case UInt8(ascii: "T"):
            if let number = Self.threadNumber(content) {
                threadHeader(content, number: number, into: &sink)
                return .consumed
            }
        case UInt8(ascii: "B"):
            if LineScan.hasPrefix(content, "Backtrace stopped") { return .consumed }
        case UInt8(ascii: "("):
            if LineScan.hasPrefix(content, "(More stack frames follow") { return .consumed }
        case UInt8(ascii: "["):
            // gdb detaching: whatever follows is another dump.
            if LineScan.hasPrefix(content, "[Inferior ") {
                closeStack(&sink)
                dumpOpen = false
            }
        case UInt8(ascii: " "), UInt8(ascii: "\t"):
            if LineScan.isBlank(content) {
                closeStack(&sink)
                return .consumed
            }
        default:
            break
        }
        // Not gdb's: the stack stays open in case its next frame follows after this foreign line.
        return .ended
    }

    public mutating func finish(into sink: inout some StackSink) {
        closeStack(&sink)
        dumpOpen = false
    }

    // MARK: - Lines

    private mutating func threadHeader(_ content: LineBytes, number: (major: Int, minor: Int), into sink: inout some StackSink) {
        closeStack(&sink)
        var newDump = !dumpOpen
        if !newDump, let last = lastThread {
            if number == last {
                newDump = true
            } else {
                let step = number < last ? -1 : 1
                if direction == 0 {
                    direction = step
                } else if step != direction {
                    newDump = true
                }
            }
        }
        if newDump {
            sink.beginDump(format: .gdb)
            dumpOpen = true
            direction = 0
        }
        lastThread = number
        sink.beginStack(format: .gdb, threadName: Self.threadName(content), state: nil, process: nil, count: 1)
        stackOpen = true
        nextFrame = 0
    }

    private mutating func frameLine(_ content: LineBytes, into sink: inout some StackSink) -> LineOutcome {
        guard let (index, afterIndex) = LineScan.decimal(content, from: 1), afterIndex < content.count,
              content[afterIndex] == 0x20
        else { return .ended }
        if index == 0, !stackOpen || nextFrame > 0 {
            // A lone `bt`: its stack is a dump of its own.
            closeStack(&sink)
            sink.beginDump(format: .gdb)
            dumpOpen = true
            lastThread = nil
            direction = 0
            sink.beginStack(format: .gdb, threadName: nil, state: nil, process: nil, count: 1)
            stackOpen = true
            nextFrame = 0
        }
        // Frames count up from 0; a gap means lines went missing (kept), a repeat cannot be placed.
        guard stackOpen, index >= nextFrame else { return .malformed }
        guard Self.readFrame(content, from: LineScan.skipBlanks(content, from: afterIndex), into: &sink) else {
            return .malformed
        }
        nextFrame = index + 1
        return .consumed
    }

    private mutating func closeStack(_ sink: inout some StackSink) {
        guard stackOpen else { return }
        sink.endStack()
        stackOpen = false
    }

    // MARK: - Pieces

    /// `Thread N (…):` or `Thread N.M (…):` → (N, M); nil for other lines.
    static func threadNumber(_ content: LineBytes) -> (major: Int, minor: Int)? {
        guard LineScan.hasPrefix(content, "Thread "), let (major, afterMajor) = LineScan.decimal(content, from: 7) else { return nil }
        var minor = 0
        var cursor = afterMajor
        if cursor < content.count, content[cursor] == UInt8(ascii: "."), let (value, after) = LineScan.decimal(content, from: cursor + 1) {
            minor = value
            cursor = after
        }
        guard LineScan.matches(content, " (", at: cursor) else { return nil }
        let end = LineScan.endTrimmingBlanks(content)
        guard end >= 2, content[end - 1] == UInt8(ascii: ":"), content[end - 2] == UInt8(ascii: ")") else { return nil }
        return (major, minor)
    }

    /// The quoted name at the end of a thread header (`… (LWP 27351) "cond-1"):`), when gdb printed one. gdb
    /// does not escape quotes in names: the name runs from the first quote to the one before `):`.
    static func threadName(_ content: LineBytes) -> LineBytes? {
        let end = LineScan.endTrimmingBlanks(content) - 2
        guard end > 0, content[end - 1] == UInt8(ascii: "\""),
              let open = LineScan.firstIndex(of: UInt8(ascii: "\""), in: content), open < end - 1
        else { return nil }
        return LineScan.slice(content, open + 1..<end - 1)
    }

    /// True when a gdb frame line starts at `hash` (for `claim`): `#N  0xADDR in `, `#N  <signal handler
    /// called>`, or an inlined `#N  name (…) at FILE:LINE`.
    static func isClaimableFrame(_ line: LineBytes, at hash: Int) -> Bool {
        guard let (_, afterIndex) = LineScan.decimal(line, from: hash + 1), afterIndex < line.count,
              line[afterIndex] == 0x20
        else { return false }
        let start = LineScan.skipBlanks(line, from: afterIndex)
        if LineScan.matches(line, "0x", at: start) {
            guard let (_, afterAddress) = LineScan.hexadecimal(line, from: start + 2) else { return false }
            return LineScan.matches(line, " in ", at: afterAddress)
        }
        if LineScan.matches(line, "<signal handler called>", at: start) { return true }
        let nameEnd = functionNameEnd(line, from: start)
        guard nameEnd > start, LineScan.matches(line, " (", at: nameEnd) else { return false }
        return sourceLocation(line, after: nameEnd) != nil
    }

    /// Reads `[0xADDR in ]FUNCTION[ (ARGS)][ at FILE:LINE | from IMAGE]` from `start` and hands the frame on.
    static func readFrame(_ content: LineBytes, from start: Int, into sink: inout some StackSink) -> Bool {
        var cursor = start
        var address: UInt64?
        if LineScan.matches(content, "0x", at: cursor) {
            guard let (value, end) = LineScan.hexadecimal(content, from: cursor + 2) else { return false }
            address = value
            cursor = end
            if LineScan.matches(content, " in ", at: cursor) { cursor += 4 }
            cursor = LineScan.skipBlanks(content, from: cursor)
        }
        guard cursor < content.count else { return false }
        if content[cursor] == UInt8(ascii: "<") {
            // `<signal handler called>` and the like: the whole bracket is the name.
            let close = LineScan.firstIndex(of: UInt8(ascii: ">"), in: content, from: cursor) ?? content.count - 1
            sink.frame(function: LineScan.slice(content, cursor..<close + 1), address: address, file: nil, line: nil,
                       image: nil, inlined: address == nil)
            return true
        }
        let nameEnd = functionNameEnd(content, from: cursor)
        guard nameEnd > cursor else { return false }
        var file: LineBytes?
        var line: Int?
        var image: LineBytes?
        if let location = sourceLocation(content, after: nameEnd) {
            file = LineScan.slice(content, location.file)
            line = location.line
        } else if let from = LineScan.findLast(" from ", in: content, from: nameEnd) {
            image = LineScan.slice(content, from + 6..<LineScan.endTrimmingBlanks(content))
        }
        sink.frame(function: LineScan.slice(content, cursor..<nameEnd), address: address, file: file, line: line,
                   image: image, inlined: address == nil)
        return true
    }

    /// Where the function name starting at `start` ends: before ` (` (its arguments), ` at `, ` from ` or the
    /// end of the line, outside template brackets (`std::function<void ()>::operator()` is one name).
    static func functionNameEnd(_ content: LineBytes, from start: Int) -> Int {
        // Most names have no template brackets: jump from space to space while none has been seen.
        var search = start
        while true {
            let space = LineScan.firstIndex(of: 0x20, in: content, from: search) ?? content.count
            if LineScan.firstIndex(of: UInt8(ascii: "<"), in: LineScan.slice(content, search..<space)) != nil {
                return bracketedNameEnd(content, from: start)
            }
            if space == content.count { return LineScan.endTrimmingBlanks(content, from: start) }
            if isNameEnd(content, space: space) { return space }
            search = space + 1
        }
    }

    /// `functionNameEnd` for a name with `<…>` in it: spaces inside the brackets do not end it.
    private static func bracketedNameEnd(_ content: LineBytes, from start: Int) -> Int {
        var depth = 0
        var index = start
        while index < content.count {
            let byte = content[index]
            if byte == UInt8(ascii: "<") {
                depth += 1
            } else if byte == UInt8(ascii: ">") {
                if depth > 0 { depth -= 1 }
            } else if byte == 0x20, depth == 0, isNameEnd(content, space: index) {
                return index
            }
            index += 1
        }
        return LineScan.endTrimmingBlanks(content, from: start)
    }

    /// A space followed by the argument list, ` at ` or ` from `.
    @inline(__always)
    private static func isNameEnd(_ content: LineBytes, space: Int) -> Bool {
        guard space + 1 < content.count else { return false }
        switch content[space + 1] {
        case UInt8(ascii: "("): return true
        case UInt8(ascii: "a"): return LineScan.matches(content, " at ", at: space)
        case UInt8(ascii: "f"): return LineScan.matches(content, " from ", at: space)
        default: return false
        }
    }

    /// ` at FILE:LINE` ending the line, after `nameEnd`.
    static func sourceLocation(_ content: LineBytes, after nameEnd: Int) -> (file: Range<Int>, line: Int)? {
        let end = LineScan.endTrimmingBlanks(content, from: nameEnd)
        var digits = end
        while digits > nameEnd, LineScan.isDigit(content[digits - 1]) { digits -= 1 }
        guard digits < end, digits > nameEnd + 1, content[digits - 1] == UInt8(ascii: ":"),
              let (number, _) = LineScan.decimal(content, from: digits),
              let at = LineScan.findLast(" at ", in: content, from: nameEnd, before: digits - 1),
              at + 4 < digits - 1
        else { return nil }
        return (at + 4..<digits - 1, number)
    }
}
