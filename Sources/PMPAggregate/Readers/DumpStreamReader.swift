import PMPProfiles
import PMPSupport
/// Reads swift-pmp's own dumps (see `DumpRenderer`) for `Aggregator`, at the byte level: every line carries a
/// `pmp[PID.SEQ] ` tag, so dumps of several processes (and several dumps of one) may interleave line by line.
/// Each open dump, keyed by its tag, keeps its current thread until the next `thread` or `end` line completes
/// it; only then is the stack handed to the sink, whole. The task section after the threads is read the same
/// way: each task's async backtrace is a stack (`beginTaskStack`), its state the fold's wait reason.
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
        /// The current stack is a task's async backtrace (the task section follows the threads).
        var isTask = false
    }

    private var open: [OpenDump] = []
    /// Dumps kept open at once; a log interleaves a few at a time.
    static let openDumpLimit = 64

    public init() {}

    public static func claim(_ line: LineBytes) -> Int? {
        DumpLine.firstTag(line).map { $0.pidDigits.lowerBound - 4 }
    }

    public mutating func feed(_ content: LineBytes, into sink: inout some StackSink) -> LineOutcome {
        guard let tag = DumpLine.tag(content, at: 0) else { return .ended }
        let body = LineScan.suffix(content, from: tag.bodyStart)
        let index = open.firstIndex { $0.pid == tag.pid && $0.sequence == tag.sequence }
        let kind = DumpLine.kind(body)
        if kind == .header {
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
            dump.bytes.append(contentsOf: LineScan.slice(content, tag.pidDigits))
            dump.processLength = dump.bytes.count
            open.append(dump)
            return .consumed
        }
        // Lines of a dump whose header was not read cannot be placed.
        guard let index else { return .malformed }
        switch kind {
        case .taskSummary:
            emitThread(index, into: &sink)
            return .consumed
        case .task:
            emitThread(index, into: &sink)
            return readTask(LineScan.suffix(body, from: 5), dump: index) ? .consumed : .malformed
        case .frame:
            if open[index].hasThread, open[index].frames.count >= sink.frameLimit {
                // A stack of millions of frames costs no more than one at the limit.
                open[index].droppedFrames += 1
                return .consumed
            }
            return readFrame(LineScan.suffix(body, from: 3), dump: index) ? .consumed : .malformed
        case .thread:
            emitThread(index, into: &sink)
            return readThread(LineScan.suffix(body, from: 7), dump: index) ? .consumed : .malformed
        case .end:
            emitThread(index, into: &sink)
            open.remove(at: index)
            return .consumed
        case .truncated where open[index].hasThread:
            return .consumed
        case .asyncFrame where open[index].hasThread && !open[index].isTask
                && DumpLine.frame(LineScan.suffix(body, from: 3)) != nil:
            // A running task's frames continuing its thread's stack: they fold once, as the task's own stack.
            return .consumed
        case .asyncFrame, .truncated, .header, .other:
            return .malformed
        }
    }

    public mutating func finish(into sink: inout some StackSink) {
        for index in open.indices { emitThread(index, into: &sink) }
        open.removeAll()
    }

    // MARK: - Threads and frames

    /// A thread line (after `thread `): its name and its state, the wait reason alone (the holder of a lock is
    /// the thread's, not the stack's; a failure is `no answer` whatever its cause).
    private mutating func readThread(_ body: LineBytes, dump index: Int) -> Bool {
        guard let line = DumpLine.thread(body) else { return false }
        let reasonEnd = line.failure.map { $0.lowerBound - 2 } ?? line.reason.upperBound
        open[index].hasThread = true
        open[index].name = append(LineScan.slice(body, line.name), to: index)
        open[index].state = append(LineScan.slice(body, line.reason.lowerBound..<reasonEnd), to: index)
        return true
    }

    /// A task's header (after `task `): its state, without the ids that would keep every task apart.
    private mutating func readTask(_ body: LineBytes, dump index: Int) -> Bool {
        guard let task = DumpLine.task(body) else { return false }
        open[index].hasThread = true
        open[index].isTask = true
        var state = Array(task.state.foldedText.utf8)
        open[index].state = state.withUnsafeBufferPointer { append($0, to: index) }
        state.removeAll()
        return true
    }

    /// A frame line (after `  #`).
    private mutating func readFrame(_ body: LineBytes, dump index: Int) -> Bool {
        guard open[index].hasThread, let line = DumpLine.frame(body) else { return false }
        let file = line.file.map { appendDecoded(LineScan.slice(body, $0), to: index) }
        let function = append(LineScan.slice(body, line.function), to: index)
        let image = appendDecoded(LineScan.slice(body, line.image), to: index)
        open[index].frames.append(StoredFrame(function: function, file: file, line: line.line, image: image,
                                              address: line.address, inlined: line.inlined))
        return true
    }

    /// Hands the dump's current thread to the sink and clears it.
    private mutating func emitThread(_ index: Int, into sink: inout some StackSink) {
        guard open[index].hasThread else { return }
        do {
            let dump = open[index]
            dump.bytes.withUnsafeBufferPointer { bytes in
            if dump.isTask {
                sink.beginTaskStack(format: .pmp, state: dump.state.map { LineScan.slice(bytes, $0) },
                                    process: LineScan.slice(bytes, 0..<dump.processLength))
            } else {
                sink.beginStack(format: .pmp, threadName: dump.name.map { LineScan.slice(bytes, $0) },
                                state: dump.state.map { LineScan.slice(bytes, $0) },
                                process: LineScan.slice(bytes, 0..<dump.processLength), count: 1)
            }
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
        open[index].isTask = false
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
        PercentEncoding.decode(text, into: &open[index].bytes, limit: AggregateOptions.nameLimit + 1)
        return start..<open[index].bytes.count
    }
}
