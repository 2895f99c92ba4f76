import PMPSupport

/// Reads dumps written by `DumpRenderer` back, line by line, out of arbitrary logs: whatever comes before the
/// `pmp[PID.SEQ]` tag on a line is taken as a log prefix and ignored, lines without a tag are skipped, and dumps
/// of several processes (or several dumps of one) may interleave.
public struct DumpParser {
    /// One dump read back.
    public struct ParsedDump: Sendable, Equatable {
        public var sequence: Int
        public var snapshot: Snapshot
        /// False when the input ended before the dump's `end` line.
        public var complete: Bool
    }

    private struct Key: Hashable {
        var pid: Int32
        var sequence: Int
    }

    private struct Partial {
        var snapshot: Snapshot
        var current: ThreadSnapshot?
        var currentTask: TaskSnapshot?
        var order: Int

        mutating func closeTask() {
            if let task = currentTask { snapshot.tasks.append(task) }
            currentTask = nil
        }

        mutating func closeThread() {
            if let thread = current { snapshot.threads.append(thread) }
            current = nil
        }
    }

    private var partials: [Key: Partial] = [:]
    private var started = 0
    /// Lines that carried a tag but could not be read (or belonged to no open dump).
    public private(set) var unplacedLines = 0
    /// Lines read that belong to a dump.
    public private(set) var dumpLines = 0

    public init() {}

    /// Parses a whole text.
    public static func parse(_ text: String) -> [ParsedDump] {
        var parser = DumpParser()
        var dumps: [ParsedDump] = []
        // "\r\n" is one Character in Swift: split on any newline, not on "\n" alone.
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            dumps += parser.feed(line)
        }
        return dumps + parser.finish()
    }

    /// Feeds one line (without its terminator); returns the dumps it completed.
    public mutating func feed<S: StringProtocol>(_ rawLine: S) -> [ParsedDump] where S.SubSequence == Substring {
        // The line's own bytes when they are contiguous (a native string's), a copy only otherwise.
        if let dumps = rawLine.utf8.withContiguousStorageIfAvailable({ feed(bytes: $0) }) { return dumps }
        var line = String(rawLine)
        return line.withUTF8 { feed(bytes: $0) }
    }

    private mutating func feed(bytes: DumpLine.Bytes) -> [ParsedDump] {
        let line = bytes.last == UInt8(ascii: "\r") ? LineScan.slice(bytes, 0..<bytes.count - 1) : bytes
        guard let tag = DumpLine.firstTag(line), tag.pid <= Int(Int32.max) else { return [] }
        let key = Key(pid: Int32(tag.pid), sequence: tag.sequence)
        let body = LineScan.suffix(line, from: tag.bodyStart)
        dumpLines += 1
        let kind = DumpLine.kind(body)
        if kind == .header {
            if let snapshot = Self.parseHeader(Self.text(body).dropFirst(5), pid: key.pid) {
                var finished: [ParsedDump] = []
                if let previous = partials.removeValue(forKey: key) { finished.append(close(previous, key: key, complete: false)) }
                started += 1
                partials[key] = Partial(snapshot: snapshot, current: nil, currentTask: nil, order: started)
                return finished
            }
            unplacedLines += 1
            return []
        }
        guard var partial = partials[key] else {
            unplacedLines += 1
            return []
        }
        switch kind {
        case .end:
            partials.removeValue(forKey: key)
            return [close(partial, key: key, complete: true)]
        case .thread:
            if let thread = Self.parseThread(LineScan.suffix(body, from: 7)) {
                partial.closeTask()
                partial.closeThread()
                partial.current = thread
                partials[key] = partial
                return []
            }
        case .task:
            if let task = TaskDumpFormat.parseHeader(Self.text(body).dropFirst(5)) {
                partial.closeThread()
                partial.closeTask()
                partial.currentTask = task
                partials[key] = partial
                return []
            }
        case .taskSummary:
            if let summary = TaskDumpFormat.parseSummary(Self.text(body).dropFirst(6)) {
                partial.closeThread()
                partial.closeTask()
                partial.snapshot.taskSummary = summary
                partials[key] = partial
                return []
            }
        case .frame:
            if partial.currentTask != nil || partial.current != nil, let frame = Self.parseFrame(LineScan.suffix(body, from: 3)) {
                if partial.currentTask != nil {
                    partial.currentTask!.frames.append(frame)
                } else {
                    partial.current!.frames.append(frame)
                }
                partials[key] = partial
                return []
            }
        case .asyncFrame where partial.current != nil && partial.currentTask == nil
                && DumpLine.frame(LineScan.suffix(body, from: 3)) != nil:
            // A running task's frames continuing its thread's stack: the task section holds them.
            return []
        case .asyncFrame:
            break
        case .truncated:
            if partial.currentTask != nil {
                partial.currentTask!.truncated = true
                partials[key] = partial
                return []
            }
            if partial.current != nil {
                partial.current!.truncated = true
                partials[key] = partial
                return []
            }
        case .header, .other:
            break
        }
        unplacedLines += 1
        return []
    }

    /// Dumps still open at the end of the input, marked incomplete, in the order they started.
    public mutating func finish() -> [ParsedDump] {
        let open = partials.sorted { $0.value.order < $1.value.order }
        partials.removeAll()
        return open.map { close($0.value, key: $0.key, complete: false) }
    }

    private func close(_ partial: Partial, key: Key, complete: Bool) -> ParsedDump {
        var partial = partial
        partial.closeThread()
        partial.closeTask()
        return ParsedDump(sequence: key.sequence, snapshot: partial.snapshot, complete: complete)
    }

    // MARK: - Pieces

    /// The bytes as text (a line's parts are short; invalid UTF-8 is repaired).
    private static func text(_ bytes: DumpLine.Bytes) -> Substring {
        Substring(String(decoding: bytes, as: UTF8.self))
    }

    private static func text(_ bytes: DumpLine.Bytes, _ range: Range<Int>) -> Substring {
        text(LineScan.slice(bytes, range))
    }

    /// `pid=… time=… threads=… captured=… elapsed=…ms depth=…`
    static func parseHeader(_ body: Substring, pid: Int32) -> Snapshot? {
        var fields: [Substring: Substring] = [:]
        for token in body.split(separator: " ") {
            guard let equals = token.firstIndex(of: "=") else { continue }
            fields[token[..<equals]] = token[token.index(after: equals)...]
        }
        guard let time = fields["time"].flatMap({ Timestamp.parse($0) }),
              let elapsedText = fields["elapsed"], elapsedText.hasSuffix("ms"),
              let elapsed = Double(elapsedText.dropLast(2)),
              let depth = fields["depth"].flatMap({ Int($0) })
        else { return nil }
        let headerPid = fields["pid"].flatMap { Int32($0) } ?? pid
        return Snapshot(pid: headerPid, time: time, elapsed: (elapsed * 1000).rounded() / 1e6, maxDepth: depth, threads: [])
    }

    /// `TID "NAME" [REASON(, held by thread TID( "NAME"))(, 1.234s)] state=S cpu=0.010s` (after `thread `).
    static func parseThread(_ body: DumpLine.Bytes) -> ThreadSnapshot? {
        guard let line = DumpLine.thread(body), let (name, _) = QuotedString.unquote(text(body, line.quotedName))
        else { return nil }
        var heldBy: LockHolder?
        if let holder = line.holder {
            heldBy = LockHolder(tid: Int32(holder))
            if let quoted = line.quotedHolderName {
                guard let (holderName, _) = QuotedString.unquote(text(body, quoted)) else { return nil }
                heldBy?.name = holderName
            }
        }
        var failure: CaptureFailure?
        var reason = WaitReason(String(text(body, line.reason)))
        if let why = line.failure {
            failure = CaptureFailure(rawValue: String(text(body, why)))
            reason = .noAnswer
        }
        var state = "?"
        var cpu = 0.0
        var task: UInt64?
        for token in text(body, line.fields).split(separator: " ") {
            if token.hasPrefix("task=") { task = UInt64(token.dropFirst(5)) }
            if token.hasPrefix("state=") { state = String(token.dropFirst(6)) }
            if token.hasPrefix("cpu="), token.hasSuffix("s"), let value = Double(token.dropFirst(4).dropLast()) { cpu = value }
        }
        return ThreadSnapshot(tid: Int32(line.tid), name: name, kernelState: state, waitReason: reason,
                              blockedFor: line.blockedFor.flatMap { Double(text(body, $0)) }, cpuTime: cpu, frames: [],
                              truncated: false, failure: failure, heldBy: heldBy, task: task)
    }

    /// `N  0xADDR [inlined] FUNCTION at FILE:LINE in IMAGE` (after the `  #`).
    static func parseFrame(_ body: DumpLine.Bytes) -> Frame? {
        guard let line = DumpLine.frame(body) else { return nil }
        return Frame(address: line.address, function: String(text(body, line.function)),
                     file: line.file.map { PercentEscape.decode(text(body, $0)) }, line: line.line,
                     image: PercentEscape.decode(text(body, line.image)), inlined: line.inlined)
    }
}

extension Substring {
    /// The last occurrence of `needle` (a short ASCII string), without Foundation.
    func lastRange(of needle: String) -> Range<Index>? {
        let pattern = Array(needle.utf8)
        let bytes = utf8
        guard !pattern.isEmpty, bytes.count >= pattern.count else { return nil }
        var end = bytes.endIndex
        while true {
            guard let start = bytes.index(end, offsetBy: -pattern.count, limitedBy: bytes.startIndex) else { return nil }
            if bytes[start..<end].elementsEqual(pattern) { return start..<end }
            end = bytes.index(before: end)
        }
    }
}

