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
        var line = Substring(rawLine)
        if line.last == "\r" { line = line.dropLast() }
        guard let (key, body) = Self.splitTag(line) else { return [] }
        dumpLines += 1
        if body.hasPrefix("dump ") {
            if let snapshot = Self.parseHeader(body.dropFirst(5), pid: key.pid) {
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
        if body == "end" {
            partials.removeValue(forKey: key)
            return [close(partial, key: key, complete: true)]
        }
        if body.hasPrefix("thread ") {
            if let thread = Self.parseThread(body.dropFirst(7)) {
                partial.closeTask()
                partial.closeThread()
                partial.current = thread
                partials[key] = partial
                return []
            }
        } else if body.hasPrefix("task ") {
            if let task = TaskDumpFormat.parseHeader(body.dropFirst(5)) {
                partial.closeThread()
                partial.closeTask()
                partial.currentTask = task
                partials[key] = partial
                return []
            }
        } else if body.hasPrefix("tasks ") {
            if let summary = TaskDumpFormat.parseSummary(body.dropFirst(6)) {
                partial.closeThread()
                partial.closeTask()
                partial.snapshot.taskSummary = summary
                partials[key] = partial
                return []
            }
        } else if body.hasPrefix("  #") {
            if partial.currentTask != nil, let frame = Self.parseFrame(body.dropFirst(3)) {
                partial.currentTask!.frames.append(frame)
                partials[key] = partial
                return []
            }
            if partial.current != nil, let frame = Self.parseFrame(body.dropFirst(3)) {
                partial.current!.frames.append(frame)
                partials[key] = partial
                return []
            }
        } else if body.hasPrefix("  ... truncated") {
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

    /// Finds `pmp[PID.SEQ] ` and returns the key and what follows it.
    private static func splitTag(_ line: Substring) -> (Key, Substring)? {
        let utf8 = line.utf8
        var search = utf8.startIndex
        while let p = utf8[search...].firstIndex(of: UInt8(ascii: "p")) {
            var cursor = p
            search = utf8.index(after: p)
            guard utf8[cursor...].starts(with: "pmp[".utf8) else { continue }
            cursor = utf8.index(cursor, offsetBy: 4)
            guard let (pid, afterPid) = number(utf8, from: cursor), afterPid < utf8.endIndex,
                  utf8[afterPid] == UInt8(ascii: "."),
                  let (sequence, afterSequence) = number(utf8, from: utf8.index(after: afterPid)),
                  utf8[afterSequence...].starts(with: "] ".utf8), pid <= Int(Int32.max)
            else { continue }
            let bodyStart = utf8.index(afterSequence, offsetBy: 2)
            return (Key(pid: Int32(pid), sequence: sequence), Substring(utf8[bodyStart...]))
        }
        return nil
    }

    private static func number(_ utf8: Substring.UTF8View, from start: Substring.UTF8View.Index) -> (Int, Substring.UTF8View.Index)? {
        var index = start
        var value = 0
        var digits = 0
        while index < utf8.endIndex, utf8[index] >= 48, utf8[index] <= 57, digits < 18 {
            value = value * 10 + Int(utf8[index] - 48)
            digits += 1
            index = utf8.index(after: index)
        }
        return digits > 0 ? (value, index) : nil
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

    /// `TID "NAME" [REASON(, held by thread TID( "NAME"))(, 1.234s)] state=S cpu=0.010s`
    static func parseThread(_ body: Substring) -> ThreadSnapshot? {
        guard let space = body.firstIndex(of: " "), let tid = Int32(body[..<space]),
              let (name, rest) = QuotedString.unquote(body[body.index(after: space)...].drop(while: { $0 == " " })),
              let open = rest.firstIndex(of: "["), let close = rest.lastIndex(of: "]"), open < close
        else { return nil }
        var reasonText = rest[rest.index(after: open)..<close]
        var blockedFor: Double?
        if let comma = reasonText.lastRange(of: ", "),
           reasonText.hasSuffix("s"), let seconds = Double(reasonText[comma.upperBound...].dropLast()) {
            blockedFor = seconds
            reasonText = reasonText[..<comma.lowerBound]
        }
        var heldBy: LockHolder?
        if let marker = reasonText.firstRange(of: DumpRenderer.heldByMarker) {
            let after = reasonText[marker.upperBound...]
            let digits = after.prefix(while: \.isASCIIDigitCharacter)
            guard let holder = Int32(digits) else { return nil }
            let tail = after[digits.endIndex...]
            if tail.isEmpty {
                heldBy = LockHolder(tid: holder)
            } else if tail.first == " ", let (holderName, end) = QuotedString.unquote(tail.dropFirst()), end.isEmpty {
                heldBy = LockHolder(tid: holder, name: holderName)
            } else {
                return nil
            }
            reasonText = reasonText[..<marker.lowerBound]
        }
        var failure: CaptureFailure?
        var reason = WaitReason(String(reasonText))
        if reasonText.hasPrefix("no answer: ") {
            failure = CaptureFailure(rawValue: String(reasonText.dropFirst("no answer: ".count)))
            reason = .noAnswer
        }
        var state = "?"
        var cpu = 0.0
        var task: UInt64?
        for token in rest[rest.index(after: close)...].split(separator: " ") {
            if token.hasPrefix("task=") { task = UInt64(token.dropFirst(5)) }
            if token.hasPrefix("state=") { state = String(token.dropFirst(6)) }
            if token.hasPrefix("cpu="), token.hasSuffix("s"), let value = Double(token.dropFirst(4).dropLast()) { cpu = value }
        }
        return ThreadSnapshot(tid: tid, name: name, kernelState: state, waitReason: reason, blockedFor: blockedFor,
                              cpuTime: cpu, frames: [], truncated: false, failure: failure, heldBy: heldBy, task: task)
    }

    /// `N  0xADDR [inlined] FUNCTION at FILE:LINE in IMAGE` (after the `  #`).
    static func parseFrame(_ body: Substring) -> Frame? {
        var rest = body.drop(while: { $0.isNumber }).drop(while: { $0 == " " })
        guard rest.hasPrefix("0x"), let space = rest.firstIndex(of: " "),
              let address = UInt64(rest[rest.index(rest.startIndex, offsetBy: 2)..<space], radix: 16)
        else { return nil }
        rest = rest[rest.index(after: space)...]
        var inlined = false
        if rest.hasPrefix("[inlined] ") {
            inlined = true
            rest = rest.dropFirst(10)
        }
        guard let inRange = rest.lastRange(of: " in ") else { return nil }
        let image = PercentEscape.decode(rest[inRange.upperBound...])
        var function = rest[..<inRange.lowerBound]
        var file: String?
        var line: Int?
        if let atRange = function.lastRange(of: " at "),
           !function[atRange.upperBound...].contains(" ") {
            let location = function[atRange.upperBound...]
            if let colon = location.lastIndex(of: ":"), let number = Int(location[location.index(after: colon)...]) {
                file = PercentEscape.decode(location[..<colon])
                line = number
            } else {
                file = PercentEscape.decode(location)
            }
            function = function[..<atRange.lowerBound]
        }
        return Frame(address: address, function: String(function), file: file, line: line, image: image, inlined: inlined)
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

private extension Character {
    var isASCIIDigitCharacter: Bool { isASCII && isNumber }
}
