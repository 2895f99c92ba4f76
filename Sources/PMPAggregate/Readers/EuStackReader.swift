import PMPSupport
/// Reads the output of elfutils' `eu-stack -p PID` (also of a core file), with any of its output options:
///
///     PID 28315 - process
///     TID 28315:
///     #0  0x00007f685deed545 clock_nanosleep@GLIBC_2.2.5
///     #1  0x00007f685def1e53 - 1 __GI___nanosleep - /usr/lib/x86_64-linux-gnu/libc.so.6     (-a, -m)
///         ../sysdeps/unix/sysv/linux/nanosleep.c:25:13                                      (-s)
///         [93ac61ec…]@0x7f685de1e000+0xd3e52                                                 (-b)
///     eu-stack: tid 28315: shown max number of frames (4, use -n 0 for unlimited)            (stderr)
///
/// One dump per `PID` line (or, with `-1`, which prints no `PID` line, per run of distinct `TID`s); one stack
/// per `TID`. eu-stack prints no thread names or states. With `-i`, an inlined function is printed as a frame
/// of its own at the same address as the function it was inlined into: a frame followed by another frame at
/// the same address with a different name is marked inlined (the same name at the same address is recursion).
/// A frame without a symbol (`-q`, or none found) is named "?". The module map of `-l` is skipped.
///
/// Other records of a log between a stack's lines neither end nor split it: the stack stays open (the reader
/// answers `.ended` and is `isInsideStack`) until a header, or `GoTracebackReader.foreignLineLimit` foreign
/// lines in a row.
public struct EuStackReader: DumpReader {
    public static let format = DumpFormat.euStack

    /// Foreign lines read in a row while a stack is open.
    private var foreignLines = ForeignLineRun()

    public var isInsideStack: Bool { stackOpen }

    private var dumpBegun = false
    private var inModuleMap = false
    private var stackOpen = false
    /// The pid of the current dump's `PID` line, as printed; empty when the dump had none.
    private var process: [UInt8] = []
    /// Threads seen in the current dump: a thread seen again starts a new dump (output of `-1` has no `PID` line).
    private var threadsSeen = Set<Int>()
    private var held = HeldFrame()

    public init() {}

    // MARK: - Claim

    /// A `PID n - ` line (the dump's header) or a `TID n:` line (a thread's header; the first line of `-1` output).
    public static func claim(_ line: LineBytes) -> Int? {
        var search = 0
        while let found = LineScan.find("ID ", in: line, from: max(search, 1)) {
            search = found + 1
            let start = found - 1
            guard line[start] == UInt8(ascii: "P") || line[start] == UInt8(ascii: "T"),
                  start == 0 || !isWordByte(line[start - 1]) else { continue }
            if pidHeader(line, at: start) != nil || tidHeader(line, at: start) != nil { return start }
        }
        return nil
    }

    // MARK: - Lines

    public mutating func feed(_ content: LineBytes, into sink: inout some StackSink) -> LineOutcome {
        let outcome = read(content, into: &sink)
        if foreignLines.note(outcome) { closeStack(into: &sink) }
        return outcome
    }

    private mutating func read(_ content: LineBytes, into sink: inout some StackSink) -> LineOutcome {
        if LineScan.isBlank(content) { return .consumed }
        if let frameStart = Self.frameStart(content) {
            return readFrame(content, from: frameStart, into: &sink)
        }
        if !inModuleMap, let indent = LineScan.find("    ", in: content) {
            // Stray text before the indent (a log prefix longer than the one learned) is tolerated when the rest
            // reads as a location; a line that starts indented but does not read is malformed.
            if readIndented(content, from: LineScan.skipBlanks(content, from: indent)) { return .consumed }
            if indent == 0 { return .malformed }
        }
        if let headerStart = Self.claim(content) {
            if let pid = Self.pidHeader(content, at: headerStart) {
                return readPIDHeader(pid: LineScan.slice(content, pid.digits), moduleMap: pid.moduleMap, into: &sink)
            }
            if let tid = Self.tidHeader(content, at: headerStart) {
                return readTIDHeader(tid, into: &sink)
            }
        }
        if LineScan.find("eu-stack: ", in: content) != nil {
            // The tool's own diagnostics (frame limit reached, unwinding failed), when stderr went to the log too.
            return .consumed
        }
        if inModuleMap, Self.isModuleMapLine(content) { return .consumed }
        return .ended
    }

    public mutating func finish(into sink: inout some StackSink) {
        closeStack(into: &sink)
    }

    private mutating func readPIDHeader(pid: LineBytes, moduleMap: Bool, into sink: inout some StackSink) -> LineOutcome {
        closeStack(into: &sink)
        if moduleMap {
            // `-l` prints the module map first, under a header of its own, then the usual `PID` line.
            inModuleMap = true
            dumpBegun = false
            return .consumed
        }
        inModuleMap = false
        startDump(into: &sink)
        process.removeAll(keepingCapacity: true)
        process.append(contentsOf: pid)
        return .consumed
    }

    private mutating func readTIDHeader(_ tid: Int, into sink: inout some StackSink) -> LineOutcome {
        closeStack(into: &sink)
        inModuleMap = false
        if !dumpBegun || threadsSeen.contains(tid) {
            // A thread seen again: the next run of `-1` (which prints no `PID` line).
            if dumpBegun { process.removeAll(keepingCapacity: true) }
            startDump(into: &sink)
        }
        threadsSeen.insert(tid)
        stackOpen = true
        process.withUnsafeBufferPointer { process in
            sink.beginStack(format: Self.format, threadName: nil, state: nil, process: process.isEmpty ? nil : process,
                            count: 1)
        }
        return .consumed
    }

    private mutating func startDump(into sink: inout some StackSink) {
        dumpBegun = true
        threadsSeen.removeAll(keepingCapacity: true)
        sink.beginDump(format: Self.format)
    }

    /// `#N  0xADDR[ - 1][ NAME][ - MODULE]`, `start` at the `#`.
    private mutating func readFrame(_ line: LineBytes, from start: Int, into sink: inout some StackSink) -> LineOutcome {
        guard stackOpen,
              let addressStart = LineScan.find("0x", in: line, from: start),
              let (address, addressEnd) = LineScan.hexadecimal(line, from: addressStart + 2)
        else { return .malformed }
        var cursor = LineScan.skipBlanks(line, from: addressEnd)
        // `-a`: "- 1" marks a caller frame whose pc-1 was looked up (the leaf shows blanks there).
        if LineScan.matches(line, "- 1", at: cursor), cursor + 3 == line.count || line[cursor + 3] == 0x20 {
            cursor = LineScan.skipBlanks(line, from: cursor + 3)
        }
        let end = LineScan.endTrimmingBlanks(line, from: cursor)
        var function = LineScan.slice(line, cursor..<end)
        var image: LineBytes?
        if LineScan.matches(line, "- ", at: cursor) {
            function = LineScan.slice(line, cursor..<cursor)
            image = LineScan.slice(line, (cursor + 2)..<end)
        } else if let dash = LineScan.findLast(" - ", in: line, from: cursor, before: end) {
            function = LineScan.slice(line, cursor..<dash)
            image = LineScan.slice(line, (dash + 3)..<end)
        }
        if function.isEmpty { function = Self.unknownFunction }
        if held.isHeld {
            if held.address == address, !held.hasFunction(function) { held.inlined = true }
            held.release(into: &sink)
        }
        held.hold(function: function, address: address, image: image, inlined: false)
        return .consumed
    }

    /// The lines under a frame: its source location (`-s`) or its build id (`-b`). False when the line is neither.
    private mutating func readIndented(_ line: LineBytes, from start: Int) -> Bool {
        guard stackOpen, held.isHeld else { return false }
        if LineScan.matches(line, "[", at: start) {
            return LineScan.find("]@0x", in: line, from: start) != nil
        }
        // FILE:LINE or FILE:LINE:COLUMN; the file name may hold spaces and colons.
        let end = LineScan.endTrimmingBlanks(line, from: start)
        guard let lastColon = LineScan.lastIndex(of: UInt8(ascii: ":"), in: line, from: start, before: end),
              let (last, lastEnd) = LineScan.decimal(line, from: lastColon + 1), lastEnd == end
        else { return false }
        var fileEnd = lastColon
        var lineNumber = last
        if let colon = LineScan.lastIndex(of: UInt8(ascii: ":"), in: line, from: start, before: lastColon),
           let (number, numberEnd) = LineScan.decimal(line, from: colon + 1), numberEnd == lastColon {
            fileEnd = colon
            lineNumber = number
        }
        guard fileEnd > start else { return false }
        held.locate(file: LineScan.slice(line, start..<fileEnd), line: lineNumber)
        return true
    }

    private mutating func closeStack(into sink: inout some StackSink) {
        held.release(into: &sink)
        if stackOpen {
            stackOpen = false
            sink.endStack()
        }
    }

    // MARK: - Shapes

    private static let unknownFunctionBytes: StaticString = "?"
    private static var unknownFunction: LineBytes {
        LineBytes(start: unknownFunctionBytes.utf8Start, count: unknownFunctionBytes.utf8CodeUnitCount)
    }

    /// `PID n - …` at `start`: the pid's digits, and whether this is the header of `-l`'s module map.
    private static func pidHeader(_ line: LineBytes, at start: Int) -> (digits: Range<Int>, moduleMap: Bool)? {
        guard LineScan.matches(line, "PID ", at: start),
              let (_, end) = LineScan.decimal(line, from: start + 4), LineScan.matches(line, " - ", at: end)
        else { return nil }
        return (start + 4..<end, LineScan.find("module memory map", in: line, from: end) != nil)
    }

    /// `TID n:` at `start`, ending the line: the tid.
    private static func tidHeader(_ line: LineBytes, at start: Int) -> Int? {
        guard LineScan.matches(line, "TID ", at: start),
              let (tid, end) = LineScan.decimal(line, from: start + 4), LineScan.matches(line, ":", at: end),
              LineScan.endTrimmingBlanks(line, from: end) == end + 1
        else { return nil }
        return tid
    }

    /// Where a `#N  0x…` frame starts (after any stray text before it).
    private static func frameStart(_ line: LineBytes) -> Int? {
        var search = 0
        while let hash = LineScan.firstIndex(of: UInt8(ascii: "#"), in: line, from: search) {
            search = hash + 1
            guard let (_, digitsEnd) = LineScan.decimal(line, from: hash + 1) else { continue }
            let address = LineScan.skipBlanks(line, from: digitsEnd)
            if address > digitsEnd, LineScan.matches(line, "0x", at: address) { return hash }
        }
        return nil
    }

    /// A line of `-l`'s module map: `0xSTART-0xEND NAME`, or an indented build id, file name or `-`.
    private static func isModuleMapLine(_ line: LineBytes) -> Bool {
        LineScan.hasPrefix(line, "0x") || LineScan.hasPrefix(line, "  ")
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        LineScan.isDigit(byte) || (byte | 0x20) &- 0x61 < 26 || byte == UInt8(ascii: "_")
    }
}
