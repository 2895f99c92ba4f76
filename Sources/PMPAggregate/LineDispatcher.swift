#if canImport(Glibc)
import Glibc
#endif
import PMPSupport

/// Splits the input into lines and hands each to the reader it belongs to.
///
/// A line goes first to the active reader when it carries the same log prefix as the line that reader
/// claimed (the prefix removed); a line that reader does not take, and every line while no reader is active,
/// is offered to each format's `claim`, in order. A claimed line makes its reader active with the claiming
/// line's prefix. A line nobody claims is offered to the readers that still have a stack open
/// (`isInsideStack`): records of other writers between a stack's lines neither end nor split it. Lines no
/// reader takes are outside any dump.
struct LineDispatcher {
    private let table: StackTable
    private let readerTypes: [any DumpReader.Type]
    private var sessions: [(any ReaderSession)?]
    /// The log prefix each reader learned from the last line it claimed.
    private var prefixes: [LogPrefix]
    private var active: Int?
    private let maxLineLength: Int
    /// Inside a line longer than `maxLineLength`: its bytes are skipped up to the next newline.
    private var skippingOverlongLine = false

    private(set) var lines = 0
    private(set) var dumpLines = 0
    private(set) var linesOutsideDumps = 0
    private(set) var unplacedLines = 0
    private(set) var overlongLines = 0
    /// Lines that held NUL bytes (removed before the line was read).
    private(set) var linesWithNUL = 0

    init(table: StackTable, readerTypes: [any DumpReader.Type], maxLineLength: Int) {
        self.table = table
        self.readerTypes = readerTypes
        sessions = Array(repeating: nil, count: readerTypes.count)
        prefixes = Array(repeating: .none, count: readerTypes.count)
        self.maxLineLength = maxLineLength
    }

    /// Dispatches the complete lines of `buffer[0..<count]`, moves the unfinished last line to the start of
    /// the buffer and returns its length (0 when it is being skipped as overlong). `mayHoldNUL` is false when
    /// the caller knows the bytes hold no NUL (then no line is searched for one).
    mutating func splitLines(_ buffer: UnsafeMutablePointer<UInt8>, count: Int, mayHoldNUL: Bool = true) -> Int {
        var start = 0
        while start < count, let found = memchr(buffer + start, 0x0A, count - start) {
            let end = buffer.distance(to: found.assumingMemoryBound(to: UInt8.self))
            if skippingOverlongLine {
                skippingOverlongLine = false
            } else {
                line(buffer + start, count: end - start, mayHoldNUL: mayHoldNUL)
            }
            start = end + 1
        }
        let rest = count - start
        if skippingOverlongLine { return 0 }
        if rest > maxLineLength {
            // Counted now; its remaining bytes are skipped as they arrive.
            lines += 1
            overlongLines += 1
            unplacedLines += 1
            skippingOverlongLine = true
            return 0
        }
        if rest > 0, start > 0 { memmove(buffer, buffer + start, rest) }
        return rest
    }

    /// The input ended; `buffer[0..<count]` is its last line, without a newline.
    mutating func endOfInput(_ buffer: UnsafeMutablePointer<UInt8>, count: Int) {
        if !skippingOverlongLine, count > 0 { line(buffer, count: count, mayHoldNUL: true) }
        skippingOverlongLine = false
    }

    @inline(__always)
    private mutating func line(_ start: UnsafeMutablePointer<UInt8>, count: Int, mayHoldNUL: Bool) {
        lines += 1
        var length = count
        if mayHoldNUL, length > 0, memchr(start, 0, length) != nil {
            // A NUL-filled hole (a log truncated while its writer went on) or UTF-16 text: the rest is read.
            linesWithNUL += 1
            var kept = 0
            for index in 0..<length where start[index] != 0 {
                start[kept] = start[index]
                kept += 1
            }
            length = kept
        }
        if length > 0, start[length - 1] == 0x0D { length -= 1 }
        dispatch(LineBytes(start: start, count: length))
    }

    private mutating func dispatch(_ line: LineBytes) {
        var tried: Int?
        if let index = active, let contentStart = prefixes[index].contentStart(in: line) {
            tried = index
            let session = sessions[index]!
            switch session.feed(LineScan.suffix(line, from: contentStart)) {
            case .consumed:
                dumpLines += 1
                return
            case .malformed:
                unplacedLines += 1
                return
            case .ended:
                if !session.isInsideStack { active = nil }
            }
        }
        for index in readerTypes.indices {
            guard let prefixLength = readerTypes[index].claim(line), prefixLength <= line.count else { continue }
            let session = sessions[index] ?? makeReaderSession(readerTypes[index], table: table)
            sessions[index] = session
            switch session.feed(LineScan.suffix(line, from: prefixLength)) {
            case .consumed:
                dumpLines += 1
            case .malformed:
                unplacedLines += 1
            case .ended:
                // Claimed, then refused: the reader could not read its own opening line.
                unplacedLines += 1
                return
            }
            active = index
            prefixes[index] = LogPrefix(of: line, length: prefixLength)
            return
        }
        // Claimed by none: it may continue a stack left open across other records.
        for index in sessions.indices where index != tried {
            guard let session = sessions[index], session.isInsideStack,
                  let contentStart = prefixes[index].contentStart(in: line) else { continue }
            switch session.feed(LineScan.suffix(line, from: contentStart)) {
            case .consumed:
                dumpLines += 1
            case .malformed:
                unplacedLines += 1
            case .ended:
                continue
            }
            active = index
            return
        }
        linesOutsideDumps += 1
    }

    /// Every reader closes what it has open.
    mutating func finish() {
        for session in sessions { session?.finish() }
        active = nil
    }
}
