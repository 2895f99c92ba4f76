import PMPSupport
/// Reads Go's counted goroutine profile, `/debug/pprof/goroutine?debug=1` (any `debug=1` count profile of
/// runtime/pprof has the same shape):
///
///     goroutine profile: total 27
///     5 @ 0x43b296 0x407e9b 0x407998 0x674dd3 0x46b2e1
///     # labels: {"job":"nightly"}
///     #	0x674dd2	main.receiveForever+0x52	/src/main.go:36
///     #	0x4a1b2c                                                  (no symbol)
///
/// One dump per "profile: total" line; one stack per block, counted as its leading number (Go has already
/// folded identical stacks). Frames are the "#" lines: address, function (without its "+0x…" offset), file and
/// line. Go leaves the runtime frames at the leaf and `runtime.goexit` out of these lines (they are only in the
/// "@" list), so these stacks are shorter than the same goroutines' debug=2 tracebacks. Labels are skipped.
/// A block line is claimed too, so that a profile cut by other log lines goes on in the same dump; a foreign
/// line inside a block leaves it open (`isInsideStack`) for the frames after it, up to
/// `GoTracebackReader.foreignLineLimit` foreign lines in a row.
public struct GoProfileReader: DumpReader {
    public static let format = DumpFormat.goProfile

    /// Foreign lines read in a row while a block is open.
    private var foreignLines = ForeignLineRun()

    public var isInsideStack: Bool { stackOpen }

    private var dumpBegun = false
    private var stackOpen = false

    public init() {}

    // MARK: - Claim

    /// The "goroutine profile: total N" line, or a block's "COUNT @ 0x…" line.
    public static func claim(_ line: LineBytes) -> Int? {
        if let start = totalLine(line) { return start }
        return blockHeader(line)?.start
    }

    // MARK: - Lines

    public mutating func feed(_ content: LineBytes, into sink: inout some StackSink) -> LineOutcome {
        let outcome = read(content, into: &sink)
        if foreignLines.note(outcome) { closeStack(into: &sink) }
        return outcome
    }

    private mutating func read(_ content: LineBytes, into sink: inout some StackSink) -> LineOutcome {
        if LineScan.isBlank(content) {
            closeStack(into: &sink)
            return .consumed
        }
        if let hash = Self.frameMark(content) {
            guard stackOpen else { return .malformed }
            if LineScan.matches(content, "# labels:", at: hash) { return .consumed }
            return readFrame(content, from: hash + 1, into: &sink) ? .consumed : .malformed
        }
        if let block = Self.blockHeader(content) {
            closeStack(into: &sink)
            if !dumpBegun {
                // The profile's first line was lost (or cut off): its blocks still make a dump.
                dumpBegun = true
                sink.beginDump(format: Self.format)
            }
            stackOpen = true
            sink.beginStack(format: Self.format, threadName: nil, state: nil, process: nil, count: block.count)
            return .consumed
        }
        if Self.totalLine(content) != nil {
            closeStack(into: &sink)
            dumpBegun = true
            sink.beginDump(format: Self.format)
            return .consumed
        }
        return .ended
    }

    public mutating func finish(into sink: inout some StackSink) {
        closeStack(into: &sink)
    }

    private mutating func closeStack(into sink: inout some StackSink) {
        guard stackOpen else { return }
        stackOpen = false
        sink.endStack()
    }

    /// `#\t0xPC\tFUNCTION+0xOFF\tFILE:LINE` (tabwriter pads with more tabs) or `#\t0xPC`; `start` after the `#`.
    private func readFrame(_ line: LineBytes, from start: Int, into sink: inout some StackSink) -> Bool {
        let addressStart = LineScan.skipBlanks(line, from: start)
        guard LineScan.matches(line, "0x", at: addressStart),
              let (address, addressEnd) = LineScan.hexadecimal(line, from: addressStart + 2)
        else { return false }
        let nameStart = LineScan.skipBlanks(line, from: addressEnd)
        let end = LineScan.endTrimmingBlanks(line, from: nameStart)
        guard nameStart < end else {
            sink.frame(function: Self.unknownFunction, address: address, file: nil, line: nil, image: nil, inlined: false)
            return true
        }
        guard nameStart > addressEnd else { return false }
        let nameEnd = LineScan.firstIndex(of: 0x09, in: line, from: nameStart).map { min($0, end) } ?? end
        var functionEnd = nameEnd
        if let offset = LineScan.findLast("+0x", in: line, from: nameStart, before: nameEnd) { functionEnd = offset }
        guard functionEnd > nameStart else { return false }
        var file: LineBytes?
        var number: Int?
        let locationStart = LineScan.skipBlanks(line, from: nameEnd)
        if locationStart < end {
            guard let colon = LineScan.lastIndex(of: UInt8(ascii: ":"), in: line, from: locationStart, before: end),
                  colon > locationStart,
                  let (value, valueEnd) = LineScan.decimal(line, from: colon + 1), valueEnd == end
            else { return false }
            file = LineScan.slice(line, locationStart..<colon)
            number = value
        }
        sink.frame(function: LineScan.slice(line, nameStart..<functionEnd), address: address, file: file, line: number,
                   image: nil, inlined: false)
        return true
    }

    // MARK: - Shapes

    private static let unknownFunctionBytes: StaticString = "?"
    private static var unknownFunction: LineBytes {
        LineBytes(start: unknownFunctionBytes.utf8Start, count: unknownFunctionBytes.utf8CodeUnitCount)
    }

    /// Where "goroutine profile: total N" starts.
    private static func totalLine(_ line: LineBytes) -> Int? {
        guard let start = LineScan.find("goroutine profile: total ", in: line),
              let (_, end) = LineScan.decimal(line, from: start + 25),
              LineScan.endTrimmingBlanks(line, from: end) == end
        else { return nil }
        return start
    }

    /// `COUNT @ 0xPC 0xPC …`: where the count starts, and the count.
    private static func blockHeader(_ line: LineBytes) -> (start: Int, count: Int)? {
        guard let at = LineScan.firstIndex(of: UInt8(ascii: "@"), in: line), at >= 2, line[at - 1] == 0x20,
              LineScan.isDigit(line[at - 2]) else { return nil }
        var start = at - 2
        while start > 0, LineScan.isDigit(line[start - 1]) { start -= 1 }
        guard start == 0 || line[start - 1] == 0x20 || line[start - 1] == 0x09,
              let (count, _) = LineScan.decimal(line, from: start)
        else { return nil }
        // Every word after the "@" is an address, and there is one at least.
        let end = LineScan.endTrimmingBlanks(line, from: at + 1)
        var index = at + 1
        guard index < end else { return nil }
        while index < end {
            guard line[index] == 0x20, LineScan.matches(line, "0x", at: index + 1),
                  let (_, hexEnd) = LineScan.hexadecimal(line, from: index + 3)
            else { return nil }
            index = hexEnd
        }
        return (start, count)
    }

    /// Where a frame's (or the labels') "#" stands: the line's first non-blank byte, or a "#" followed by a tab
    /// after stray text.
    private static func frameMark(_ line: LineBytes) -> Int? {
        let first = LineScan.skipBlanks(line, from: 0)
        if first < line.count, line[first] == UInt8(ascii: "#") { return first }
        if let hash = LineScan.find("#\t", in: line) { return hash }
        return LineScan.find("# labels:", in: line)
    }
}
