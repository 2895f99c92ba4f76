import PMPSupport

/// The grammar of a text dump's lines (see `DumpRenderer`), read at the byte level: the one reading of it, for
/// both the whole-text `DumpParser` and the aggregator's streaming reader, so the two cannot disagree on what
/// a line says. Positions are offsets into the bytes given; nothing is copied.
package enum DumpLine {
    package typealias Bytes = UnsafeBufferPointer<UInt8>

    /// `pmp[PID.SEQ] `: the numbers, where the pid's digits are, and where the body starts.
    package struct Tag: Equatable, Sendable {
        package var pid: Int
        package var sequence: Int
        package var pidDigits: Range<Int>
        package var bodyStart: Int
    }

    /// What a line's body is.
    package enum Kind: Equatable, Sendable {
        /// `dump pid=… time=…`
        case header
        /// `thread TID "NAME" [REASON…] …`
        case thread
        /// `  #N  0xADDR …`
        case frame
        /// `  ^N  0xADDR …`: an async frame of the task a thread runs, continuing its stack (the task's own
        /// section has the same frames)
        case asyncFrame
        /// `  ... truncated at N frames`
        case truncated
        /// `tasks found=…`
        case taskSummary
        /// `task ID …`
        case task
        /// `end`
        case end
        /// Anything else under a tag.
        case other
    }

    /// A thread line's parts, after `thread `.
    package struct Thread: Equatable, Sendable {
        package var tid: Int
        /// Between the quotes, escapes left as written.
        package var name: Range<Int>
        /// From the opening quote to the closing one, for `QuotedString.unquote`.
        package var quotedName: Range<Int>
        /// The wait reason alone: without the lock holder and the time (`no answer: WHY` whole).
        package var reason: Range<Int>
        /// `WHY` of `no answer: WHY`.
        package var failure: Range<Int>?
        /// The digits and fraction of `, 1.234s`.
        package var blockedFor: Range<Int>?
        package var holder: Int?
        /// The holder's quoted name, quotes included.
        package var quotedHolderName: Range<Int>?
        /// After the closing bracket: ` state=S cpu=0.010s task=N`.
        package var fields: Range<Int>
    }

    /// A frame line's parts, after `  #`.
    package struct Frame: Equatable, Sendable {
        package var address: UInt64
        package var inlined: Bool
        package var function: Range<Int>
        /// Percent-encoded, as written.
        package var file: Range<Int>?
        package var line: Int?
        /// Percent-encoded, as written.
        package var image: Range<Int>
    }

    package static let heldByMarker: StaticString = ", held by thread "
    package static let noAnswer: StaticString = "no answer: "

    /// The tag at `offset`.
    package static func tag(_ line: Bytes, at offset: Int) -> Tag? {
        guard LineScan.matches(line, "pmp[", at: offset),
              let (pid, pidEnd) = LineScan.decimal(line, from: offset + 4), pidEnd < line.count,
              line[pidEnd] == UInt8(ascii: "."),
              let (sequence, sequenceEnd) = LineScan.decimal(line, from: pidEnd + 1),
              LineScan.matches(line, "] ", at: sequenceEnd)
        else { return nil }
        return Tag(pid: pid, sequence: sequence, pidDigits: offset + 4..<pidEnd, bodyStart: sequenceEnd + 2)
    }

    /// The first tag anywhere in the line (what comes before it is a log prefix).
    package static func firstTag(_ line: Bytes) -> Tag? {
        var search = 0
        while let bracket = LineScan.firstIndex(of: UInt8(ascii: "["), in: line, from: search) {
            if bracket >= 3, let found = tag(line, at: bracket - 3) { return found }
            search = bracket + 1
        }
        return nil
    }

    /// The kind of a body (the bytes after the tag).
    package static func kind(_ body: Bytes) -> Kind {
        if LineScan.hasPrefix(body, "  #") { return .frame }
        if LineScan.hasPrefix(body, "  ^") { return .asyncFrame }
        if LineScan.hasPrefix(body, "thread ") { return .thread }
        if LineScan.hasPrefix(body, "  ... truncated") { return .truncated }
        if LineScan.hasPrefix(body, "task ") { return .task }
        if LineScan.hasPrefix(body, "tasks ") { return .taskSummary }
        if LineScan.hasPrefix(body, "dump ") { return .header }
        if body.count == 3, LineScan.hasPrefix(body, "end") { return .end }
        return .other
    }

    /// `TID "NAME" [REASON(, held by thread TID( "NAME"))(, 1.234s)] state=S cpu=0.010s` (after `thread `).
    package static func thread(_ body: Bytes) -> Thread? {
        guard let (tid, afterTid) = LineScan.decimal(body, from: 0), tid <= Int(Int32.max),
              LineScan.matches(body, " \"", at: afterTid),
              let nameEnd = closingQuote(body, from: afterTid + 2),
              let open = LineScan.firstIndex(of: UInt8(ascii: "["), in: body, from: nameEnd),
              let close = LineScan.lastIndex(of: UInt8(ascii: "]"), in: body, from: open)
        else { return nil }
        var reasonEnd = close
        var blockedFor: Range<Int>?
        if let comma = LineScan.findLast(", ", in: body, from: open, before: close), isSeconds(body, comma + 2..<close) {
            blockedFor = comma + 2..<close - 1
            reasonEnd = comma
        }
        var holder: Int?
        var quotedHolderName: Range<Int>?
        if let marker = LineScan.find(heldByMarker, in: body, from: open + 1, before: reasonEnd) {
            let digitsStart = marker + heldByMarker.utf8CodeUnitCount
            guard let (tid, afterDigits) = LineScan.decimal(LineScan.slice(body, 0..<reasonEnd), from: digitsStart),
                  tid <= Int(Int32.max)
            else { return nil }
            if afterDigits < reasonEnd {
                guard LineScan.matches(body, " \"", at: afterDigits),
                      let quote = closingQuote(body, from: afterDigits + 2), quote == reasonEnd - 1
                else { return nil }
                quotedHolderName = afterDigits + 1..<reasonEnd
            }
            holder = tid
            reasonEnd = marker
        }
        var failure: Range<Int>?
        if LineScan.matches(body, noAnswer, at: open + 1), open + 1 + noAnswer.utf8CodeUnitCount <= reasonEnd {
            failure = open + 1 + noAnswer.utf8CodeUnitCount..<reasonEnd
        }
        return Thread(tid: tid, name: afterTid + 2..<nameEnd, quotedName: afterTid + 1..<nameEnd + 1,
                      reason: open + 1..<reasonEnd, failure: failure, blockedFor: blockedFor, holder: holder,
                      quotedHolderName: quotedHolderName, fields: close + 1..<body.count)
    }

    /// A task's header (after `task `), as `TaskDumpFormat` writes it.
    package static func task(_ body: Bytes) -> TaskSnapshot? {
        TaskDumpFormat.parseHeader(Substring(String(decoding: body, as: UTF8.self)))
    }

    /// `N  0xADDR [inlined] FUNCTION[ at FILE[:LINE]] in IMAGE` (after `  #`).
    package static func frame(_ body: Bytes) -> Frame? {
        guard let (_, afterNumber) = LineScan.decimal(body, from: 0) else { return nil }
        var cursor = LineScan.skipBlanks(body, from: afterNumber)
        guard LineScan.matches(body, "0x", at: cursor),
              let (address, afterAddress) = LineScan.hexadecimal(body, from: cursor + 2),
              afterAddress < body.count, body[afterAddress] == 0x20
        else { return nil }
        cursor = afterAddress + 1
        var inlined = false
        if LineScan.matches(body, "[inlined] ", at: cursor) {
            inlined = true
            cursor += 10
        }
        guard let inStart = LineScan.findLast(" in ", in: body, from: cursor) else { return nil }
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
            file = at + 4..<fileEnd
            functionEnd = at
        }
        return Frame(address: address, inlined: inlined, function: cursor..<functionEnd, file: file, line: line,
                     image: inStart + 4..<body.count)
    }

    /// The closing quote of a quoted string whose text starts at `start` (backslash escapes skipped).
    package static func closingQuote(_ line: Bytes, from start: Int) -> Int? {
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

    /// `1.234s`: an optional `-` (the renderer writes what a hostile file gave it), digits, an optional
    /// fraction, then `s` ending the range.
    private static func isSeconds(_ line: Bytes, _ range: Range<Int>) -> Bool {
        guard range.count >= 2, line[range.upperBound - 1] == UInt8(ascii: "s") else { return false }
        let digitsStart = line[range.lowerBound] == UInt8(ascii: "-") ? range.lowerBound + 1 : range.lowerBound
        guard let (_, afterInteger) = LineScan.decimal(line, from: digitsStart), afterInteger < range.upperBound
        else { return false }
        if afterInteger == range.upperBound - 1 { return true }
        guard line[afterInteger] == UInt8(ascii: ".") else { return false }
        guard let (_, afterFraction) = LineScan.decimal(line, from: afterInteger + 1) else { return false }
        return afterFraction == range.upperBound - 1
    }
}
