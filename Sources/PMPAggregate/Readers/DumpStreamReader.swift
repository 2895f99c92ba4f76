/// Reads swift-pmp's own dumps (see `DumpRenderer`) for `Aggregator`, at the byte level: every line carries a
/// `pmp[PID.SEQ] ` tag, so dumps of several processes (and several dumps of one) may interleave line by line.
/// Each open dump, keyed by its tag, keeps its current thread until the next `thread` or `end` line completes
/// it; only then is the stack handed to the sink, whole.
///
/// Any tagged line is claimed (the prefix before the tag is the log prefix); a line without a tag ends the
/// reader's turn but not its open dumps.
public struct DumpStreamReader: DumpReader {
    public static let format = DumpFormat.pmp

    private struct StoredFrame {
        var function: Range<Int>
        var file: Range<Int>?
        var line: Int?
        var image: Range<Int>
        var address: UInt64
        var inlined: Bool
    }

    /// A dump whose `end` has not been read yet.
    private struct OpenDump {
        var pid: Int
        var sequence: Int
        /// The pid's digits, then the current thread's name, reason and frames' texts.
        var bytes: [UInt8] = []
        var processLength = 0
        var hasThread = false
        var name: Range<Int>?
        var state: Range<Int>?
        var frames: [StoredFrame] = []
        /// Frames of the current thread past the sink's frame limit: counted, not stored.
        var droppedFrames = 0
        /// In the task section: its lines are read past (threads are what is folded).
        var inTasks = false
    }

    private var open: [OpenDump] = []
    /// Dumps kept open at once; a log interleaves a few at a time.
    static let openDumpLimit = 64

    public init() {}

    public static func claim(_ line: LineBytes) -> Int? {
        var search = 0
        while let bracket = LineScan.firstIndex(of: UInt8(ascii: "["), in: line, from: search) {
            if bracket >= 3, tag(line, at: bracket - 3) != nil { return bracket - 3 }
            search = bracket + 1
        }
        return nil
    }

    public mutating func feed(_ content: LineBytes, into sink: inout some StackSink) -> LineOutcome {
        guard let tag = Self.tag(content, at: 0) else { return .ended }
        let body = LineScan.suffix(content, from: tag.end)
        let index = open.firstIndex { $0.pid == tag.pid && $0.sequence == tag.sequence }
        if LineScan.hasPrefix(body, "dump ") {
            if let index {
                emitThread(index, into: &sink)
                open.remove(at: index)
            }
            if open.count >= Self.openDumpLimit {
                // Dumps never ended (cut logs of many processes): the oldest is given up, its last stack kept.
                emitThread(0, into: &sink)
                open.removeFirst()
            }
            sink.beginDump(format: .pmp)
            var dump = OpenDump(pid: tag.pid, sequence: tag.sequence)
            dump.bytes.append(contentsOf: LineScan.slice(content, 4..<tag.pidEnd))
            dump.processLength = dump.bytes.count
            open.append(dump)
            return .consumed
        }
        // Lines of a dump whose header was not read cannot be placed.
        guard let index else { return .malformed }
        if open[index].inTasks, LineScan.hasPrefix(body, "  #") || LineScan.hasPrefix(body, "  ... truncated") {
            return .consumed
        }
        if LineScan.hasPrefix(body, "tasks ") || LineScan.hasPrefix(body, "task ") {
            emitThread(index, into: &sink)
            open[index].inTasks = true
            return .consumed
        }
        if LineScan.hasPrefix(body, "  #") {
            if open[index].hasThread, open[index].frames.count >= sink.frameLimit {
                // A stack of millions of frames costs no more than one at the limit.
                open[index].droppedFrames += 1
                return .consumed
            }
            return readFrame(LineScan.suffix(body, from: 3), dump: index) ? .consumed : .malformed
        }
        if LineScan.hasPrefix(body, "thread ") {
            emitThread(index, into: &sink)
            open[index].inTasks = false
            return readThread(LineScan.suffix(body, from: 7), dump: index) ? .consumed : .malformed
        }
        if body.count == 3, LineScan.hasPrefix(body, "end") {
            emitThread(index, into: &sink)
            open.remove(at: index)
            return .consumed
        }
        if LineScan.hasPrefix(body, "  ... truncated"), open[index].hasThread { return .consumed }
        return .malformed
    }

    public mutating func finish(into sink: inout some StackSink) {
        for index in open.indices { emitThread(index, into: &sink) }
        open.removeAll()
    }

    // MARK: - Threads and frames

    /// `TID "NAME" [REASON(, held by thread TID "NAME")(, 1.234s)] state=S cpu=0.010s`
    private mutating func readThread(_ body: LineBytes, dump index: Int) -> Bool {
        guard let (_, afterTid) = LineScan.decimal(body, from: 0), LineScan.matches(body, " \"", at: afterTid),
              let nameEnd = Self.closingQuote(body, from: afterTid + 2),
              let open = LineScan.firstIndex(of: UInt8(ascii: "["), in: body, from: nameEnd),
              let close = LineScan.lastIndex(of: UInt8(ascii: "]"), in: body, from: open)
        else { return false }
        var reasonEnd = close
        if let comma = LineScan.findLast(", ", in: body, from: open, before: close), body[close - 1] == UInt8(ascii: "s"),
           LineScan.isDigit(body[comma + 2]) {
            reasonEnd = comma
        }
        // The holder of a lock is the thread's, not the stack's: the state is the reason alone.
        if let held = LineScan.find(", held by thread ", in: body, from: open + 1, before: reasonEnd) {
            reasonEnd = held
        }
        if let colon = LineScan.find("no answer: ", in: body, from: open + 1, before: reasonEnd), colon == open + 1 {
            reasonEnd = open + 1 + "no answer".utf8.count
        }
        self.open[index].hasThread = true
        self.open[index].name = append(LineScan.slice(body, afterTid + 2..<nameEnd), to: index)
        self.open[index].state = append(LineScan.slice(body, open + 1..<reasonEnd), to: index)
        return true
    }

    /// `N  0xADDR [inlined] FUNCTION[ at FILE[:LINE]] in IMAGE` (after the `  #`).
    private mutating func readFrame(_ body: LineBytes, dump index: Int) -> Bool {
        guard open[index].hasThread, let (_, afterNumber) = LineScan.decimal(body, from: 0) else { return false }
        var cursor = LineScan.skipBlanks(body, from: afterNumber)
        guard LineScan.matches(body, "0x", at: cursor),
              let (address, afterAddress) = LineScan.hexadecimal(body, from: cursor + 2),
              afterAddress < body.count, body[afterAddress] == 0x20
        else { return false }
        cursor = afterAddress + 1
        var inlined = false
        if LineScan.matches(body, "[inlined] ", at: cursor) {
            inlined = true
            cursor += 10
        }
        guard let inStart = LineScan.findLast(" in ", in: body, from: cursor) else { return false }
        var functionEnd = inStart
        var file: Range<Int>?
        var line: Int?
        if let at = LineScan.findLast(" at ", in: body, from: cursor, before: inStart),
           LineScan.firstIndex(of: 0x20, in: LineScan.slice(body, at + 4..<inStart)) == nil {
            var fileEnd = inStart
            if let colon = LineScan.lastIndex(of: UInt8(ascii: ":"), in: body, from: at + 4, before: inStart),
               let (number, end) = LineScan.decimal(body, from: colon + 1), end == inStart {
                fileEnd = colon
                line = number
            }
            file = appendDecoded(LineScan.slice(body, at + 4..<fileEnd), to: index)
            functionEnd = at
        }
        let function = append(LineScan.slice(body, cursor..<functionEnd), to: index)
        let image = appendDecoded(LineScan.suffix(body, from: inStart + 4), to: index)
        open[index].frames.append(StoredFrame(function: function, file: file, line: line, image: image,
                                              address: address, inlined: inlined))
        return true
    }

    /// Hands the dump's current thread to the sink and clears it.
    private mutating func emitThread(_ index: Int, into sink: inout some StackSink) {
        guard open[index].hasThread else { return }
        do {
            let dump = open[index]
            dump.bytes.withUnsafeBufferPointer { bytes in
            sink.beginStack(format: .pmp, threadName: dump.name.map { LineScan.slice(bytes, $0) },
                            state: dump.state.map { LineScan.slice(bytes, $0) },
                            process: LineScan.slice(bytes, 0..<dump.processLength), count: 1)
            for frame in dump.frames {
                sink.frame(function: LineScan.slice(bytes, frame.function), address: frame.address,
                           file: frame.file.map { LineScan.slice(bytes, $0) }, line: frame.line,
                           image: LineScan.slice(bytes, frame.image), inlined: frame.inlined)
            }
            if dump.droppedFrames > 0 { sink.framesDropped(dump.droppedFrames) }
            sink.endStack()
            }
        }
        open[index].hasThread = false
        open[index].droppedFrames = 0
        open[index].frames.removeAll(keepingCapacity: true)
        open[index].bytes.removeLast(open[index].bytes.count - open[index].processLength)
        open[index].name = nil
        open[index].state = nil
    }

    /// Appends a name, cut one byte past `AggregateOptions.nameLimit`: the sink sees that it was longer, and
    /// cuts and counts it; the dump's bytes stay bounded by the frame limit.
    private mutating func append(_ text: LineBytes, to index: Int) -> Range<Int> {
        let start = open[index].bytes.count
        open[index].bytes.append(contentsOf: LineScan.slice(text, 0..<min(text.count, AggregateOptions.nameLimit + 1)))
        return start..<open[index].bytes.count
    }

    /// Appends a file or image name, undoing the dump's percent-encoding of spaces and `%`.
    private mutating func appendDecoded(_ text: LineBytes, to index: Int) -> Range<Int> {
        guard LineScan.firstIndex(of: UInt8(ascii: "%"), in: text) != nil else { return append(text, to: index) }
        let start = open[index].bytes.count
        var cursor = 0
        while cursor < text.count, open[index].bytes.count - start <= AggregateOptions.nameLimit {
            if text[cursor] == UInt8(ascii: "%"), cursor + 2 < text.count,
               let (value, end) = LineScan.hexadecimal(LineScan.slice(text, cursor + 1..<cursor + 3), from: 0), end == 2 {
                open[index].bytes.append(UInt8(value))
                cursor += 3
            } else {
                open[index].bytes.append(text[cursor])
                cursor += 1
            }
        }
        return start..<open[index].bytes.count
    }

    // MARK: - Pieces

    /// The `pmp[PID.SEQ] ` tag at `offset`: its numbers, where the pid's digits end, and where the body starts.
    static func tag(_ line: LineBytes, at offset: Int) -> (pid: Int, sequence: Int, pidEnd: Int, end: Int)? {
        guard LineScan.matches(line, "pmp[", at: offset),
              let (pid, pidEnd) = LineScan.decimal(line, from: offset + 4), pidEnd < line.count,
              line[pidEnd] == UInt8(ascii: "."),
              let (sequence, sequenceEnd) = LineScan.decimal(line, from: pidEnd + 1),
              LineScan.matches(line, "] ", at: sequenceEnd)
        else { return nil }
        return (pid, sequence, pidEnd, sequenceEnd + 2)
    }

    /// The closing quote of a quoted string whose text starts at `start` (backslash escapes skipped).
    static func closingQuote(_ line: LineBytes, from start: Int) -> Int? {
        var index = start
        while index < line.count {
            switch line[index] {
            case UInt8(ascii: "\\"): index += 2
            case UInt8(ascii: "\""): return index
            default: index += 1
            }
        }
        return nil
    }
}
