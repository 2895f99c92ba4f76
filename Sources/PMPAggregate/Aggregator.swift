#if canImport(Glibc)
import Glibc
#endif
import PMPProfiles

/// Folds the stacks of every dump found in logs: swift-pmp's own dumps, gdb backtraces, eu-stack output and Go
/// goroutine dumps, each recognised on its own, wherever they stand among other lines and whatever log prefix
/// each line carries. Streams: memory holds one read buffer and the distinct stacks, however large the input.
///
///     let aggregator = Aggregator(options: AggregateOptions(maxFrames: 20))
///     try aggregator.consume(fileDescriptor: fd, name: "app.log")
///     let profile = aggregator.finish()
///     print(aggregator.report.summary)
public final class Aggregator {
    /// The formats recognised, in the order their `claim` is asked.
    public static var readerTypes: [any DumpReader.Type] {
        [DumpStreamReader.self, GDBReader.self, EuStackReader.self, GoTracebackReader.self, GoProfileReader.self]
    }

    public let options: AggregateOptions
    private let table: StackTable
    private var dispatcher: LineDispatcher
    private var bytes = 0
    private var sources: [String] = []
    private var inputsWithCRLineEndings = 0
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity: Int

    /// Bytes asked of each read(2).
    static let chunkSize = 1 << 20
    /// The start of each input examined for binary content.
    static let binaryCheckLength = 64 * 1024

    public init(options: AggregateOptions = AggregateOptions(), readerTypes: [any DumpReader.Type] = Aggregator.readerTypes) {
        self.options = options
        table = StackTable(options: options)
        let maxLineLength = max(1, options.maxLineLength)
        dispatcher = LineDispatcher(table: table, readerTypes: readerTypes, maxLineLength: maxLineLength)
        capacity = Self.chunkSize + maxLineLength + 1
        buffer = .allocate(capacity: capacity)
    }

    deinit { buffer.deallocate() }

    /// What has been read so far.
    public var report: AggregateReport {
        var report = AggregateReport()
        report.bytes = bytes
        report.lines = dispatcher.lines
        report.dumps = table.dumpCounts()
        report.stacks = table.stacksRead
        report.samples = table.samples
        report.taskStacks = table.taskStacksKept
        report.threadStacksLeftOut = table.threadStacksLeftOut
        report.taskStacksLeftOut = table.taskStacksLeftOut
        report.distinctStacks = table.distinctStacks
        report.dumpLines = dispatcher.dumpLines
        report.linesOutsideDumps = dispatcher.linesOutsideDumps
        report.unplacedLines = dispatcher.unplacedLines
        report.overlongLines = dispatcher.overlongLines
        report.droppedSamples = table.droppedSamples
        report.emptyStacks = table.emptyStacks
        report.emptySamples = table.emptySamples
        report.droppedStacks = table.droppedStacks
        report.stacksCut = table.stacksCut
        report.framesDropped = table.framesDropped
        report.frameLimit = options.frameLimit
        report.namesTruncated = table.namesTruncated
        report.linesWithNUL = dispatcher.linesWithNUL
        report.inputsWithCRLineEndings = inputsWithCRLineEndings
        return report
    }

    /// Reads `fileDescriptor` to its end (it is not closed). `name` names the input in errors and in the
    /// profile's source. `progress` is called after every read.
    public func consume(fileDescriptor: Int32, name: String, progress: ((AggregateProgress) -> Void)? = nil) throws {
        sources.append(name)
        var input = InputText(binaryCheckLength: Self.binaryCheckLength)
        var carried = 0
        while true {
            let count = read(fileDescriptor, buffer + carried, capacity - carried)
            if count < 0 {
                if errno == EINTR { continue }
                throw AggregateError.unreadable(name: name, reason: String(cString: strerror(errno)))
            }
            if count == 0 { break }
            carried = try chunk(&input, carried: carried, count: count, name: name)
            progress?(AggregateProgress(bytes: bytes, stacks: table.stacksRead))
        }
        endInput(&input, carried: carried)
    }

    /// Reads a whole text (tests, small inputs).
    public func consume(text: String, name: String = "text") {
        sources.append(name)
        var input = InputText(binaryCheckLength: 0)
        var utf8 = Array(text.utf8)
        utf8.withUnsafeMutableBufferPointer { text in
            var offset = 0
            var carried = 0
            while offset < text.count {
                let count = min(Self.chunkSize, text.count - offset)
                (buffer + carried).update(from: text.baseAddress! + offset, count: count)
                offset += count
                carried = (try? chunk(&input, carried: carried, count: count, name: name)) ?? 0
            }
            endInput(&input, carried: carried)
        }
    }

    /// Reads the `count` new bytes after the `carried` ones at the start of the buffer; returns the bytes of
    /// the unfinished last line, now at the start of the buffer.
    private func chunk(_ input: inout InputText, carried: Int, count: Int, name: String) throws -> Int {
        let new = UnsafeMutableBufferPointer(start: buffer + carried, count: count)
        if input.looksBinary(UnsafeBufferPointer(new)) { throw AggregateError.binaryInput(name: name) }
        input.convertLineEndings(new, previous: carried > 0 ? buffer + carried - 1 : nil)
        bytes += count
        let mayHoldNUL = memchr(new.baseAddress!, 0, count) != nil
        return dispatcher.splitLines(buffer, count: carried + count, mayHoldNUL: mayHoldNUL || carried > 0)
    }

    private func endInput(_ input: inout InputText, carried: Int) {
        dispatcher.endOfInput(buffer, count: carried)
        if input.lineEndings == .carriageReturn { inputsWithCRLineEndings += 1 }
    }

    /// Ends the input (readers close open dumps and stacks) and returns the folded profile. Call once, after
    /// the last `consume`.
    public func finish() -> Profile {
        dispatcher.finish()
        return table.profile(source: sources.isEmpty ? nil : sources.joined(separator: ", "))
    }
}

/// What one input's bytes are: text or binary data, and which line endings it uses.
struct InputText {
    enum LineEndings { case unknown, lineFeed, carriageReturn }

    private var check: BinaryCheck
    private(set) var lineEndings = LineEndings.unknown
    /// The previous chunk ended in a CR: whether a LF follows decides.
    private var pendingCR = false

    init(binaryCheckLength: Int) { check = BinaryCheck(limit: binaryCheckLength) }

    mutating func looksBinary(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        !check.done && check.looksBinary(bytes)
    }

    /// Decides the line endings from the first line end (a CR not followed by a LF: lone CRs); with lone CRs,
    /// turns every CR into a LF, in place. `previous` is the byte before `bytes` when there is one (the carried
    /// start of an unfinished line).
    mutating func convertLineEndings(_ bytes: UnsafeMutableBufferPointer<UInt8>, previous: UnsafeMutablePointer<UInt8>?) {
        guard !bytes.isEmpty, let base = bytes.baseAddress else { return }
        if lineEndings == .unknown {
            if pendingCR {
                pendingCR = false
                lineEndings = bytes[0] == 0x0A ? .lineFeed : .carriageReturn
                if lineEndings == .carriageReturn, let previous, previous.pointee == 0x0D { previous.pointee = 0x0A }
            } else {
                let lf = memchr(base, 0x0A, bytes.count).map { UnsafeRawPointer(base).distance(to: $0) }
                if let cr = memchr(base, 0x0D, lf ?? bytes.count).map({ UnsafeRawPointer(base).distance(to: $0) }) {
                    if cr + 1 < bytes.count {
                        lineEndings = bytes[cr + 1] == 0x0A ? .lineFeed : .carriageReturn
                    } else {
                        pendingCR = true
                    }
                } else if lf != nil {
                    lineEndings = .lineFeed
                }
            }
        }
        guard lineEndings == .carriageReturn else { return }
        var start = 0
        while start < bytes.count, let found = memchr(base + start, 0x0D, bytes.count - start) {
            let index = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
            bytes[index] = 0x0A
            start = index + 1
        }
    }
}

/// Tells text from binary data at the start of an input: more than one byte in ten (NUL bytes aside) being a
/// control character other than the ones text uses (tab, newlines, form feed, backspace, escape), or not
/// valid UTF-8. NUL bytes alone do not make a log binary: a log truncated while its writer went on starts with
/// a hole of NULs, and UTF-16 text is half NULs; the lines that hold them are read without them.
struct BinaryCheck {
    private let limit: Int
    private var examined = 0
    private var nonText = 0
    /// Continuation bytes the current UTF-8 sequence still needs.
    private var continuations = 0

    init(limit: Int) { self.limit = limit }

    var done: Bool { examined >= limit }

    /// Examines the next bytes of the input; true once it is clearly binary.
    mutating func looksBinary(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        for byte in bytes where byte != 0 {
            guard examined < limit else { break }
            examined += 1
            if continuations > 0 {
                if byte & 0xC0 == 0x80 {
                    continuations -= 1
                    continue
                }
                continuations = 0
                nonText += 1
            }
            switch byte {
            case 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x08, 0x1B:
                break
            case 0x01..<0x20, 0x7F:
                nonText += 1
            case 0xC2...0xDF:
                continuations = 1
            case 0xE0...0xEF:
                continuations = 2
            case 0xF0...0xF4:
                continuations = 3
            case 0x80...:
                nonText += 1
            default:
                break
            }
        }
        // A ratio over a few bytes says little: judge from 512 bytes on.
        return examined >= 512 && nonText * 10 > examined
    }
}
