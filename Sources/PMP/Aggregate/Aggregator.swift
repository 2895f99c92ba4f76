#if canImport(Glibc)
import Glibc
#endif

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
        report.distinctStacks = table.distinctStacks
        report.dumpLines = dispatcher.dumpLines
        report.linesOutsideDumps = dispatcher.linesOutsideDumps
        report.unplacedLines = dispatcher.unplacedLines
        report.overlongLines = dispatcher.overlongLines
        report.droppedSamples = table.droppedSamples
        report.emptyStacks = table.emptyStacks
        return report
    }

    /// Reads `fileDescriptor` to its end (it is not closed). `name` names the input in errors and in the
    /// profile's source. `progress` is called after every read.
    public func consume(fileDescriptor: Int32, name: String, progress: ((AggregateProgress) -> Void)? = nil) throws {
        sources.append(name)
        var checker = BinaryCheck(limit: Self.binaryCheckLength)
        var carried = 0
        while true {
            let count = read(fileDescriptor, buffer + carried, capacity - carried)
            if count < 0 {
                if errno == EINTR { continue }
                throw AggregateError.unreadable(name: name, reason: String(cString: strerror(errno)))
            }
            if count == 0 { break }
            if !checker.done, checker.looksBinary(UnsafeBufferPointer(start: buffer + carried, count: count)) {
                throw AggregateError.binaryInput(name: name)
            }
            bytes += count
            carried = dispatcher.splitLines(buffer, count: carried + count)
            progress?(AggregateProgress(bytes: bytes, stacks: table.stacksRead))
        }
        dispatcher.endOfInput(buffer, count: carried)
    }

    /// Reads a whole text (tests, small inputs).
    public func consume(text: String, name: String = "text") {
        sources.append(name)
        var utf8 = Array(text.utf8)
        utf8.withUnsafeMutableBufferPointer { input in
            var offset = 0
            var carried = 0
            while offset < input.count {
                let count = min(Self.chunkSize, input.count - offset)
                (buffer + carried).update(from: input.baseAddress! + offset, count: count)
                offset += count
                bytes += count
                carried = dispatcher.splitLines(buffer, count: carried + count)
            }
            dispatcher.endOfInput(buffer, count: carried)
        }
    }

    /// Ends the input (readers close open dumps and stacks) and returns the folded profile. Call once, after
    /// the last `consume`.
    public func finish() -> Profile {
        dispatcher.finish()
        return table.profile(source: sources.isEmpty ? nil : sources.joined(separator: ", "))
    }
}

/// Tells text from binary data at the start of an input: any NUL byte, or more than one byte in ten being a
/// control character other than the ones text uses (tab, newlines, form feed, backspace, escape).
struct BinaryCheck {
    private let limit: Int
    private var examined = 0
    private var controlBytes = 0

    init(limit: Int) { self.limit = limit }

    var done: Bool { examined >= limit }

    /// Examines the next bytes of the input; true once it is clearly binary.
    mutating func looksBinary(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let part = UnsafeBufferPointer(rebasing: bytes.prefix(limit - examined))
        for byte in part {
            if byte < 0x20 {
                switch byte {
                case 0: return true
                case 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x08, 0x1B: break
                default: controlBytes += 1
                }
            } else if byte == 0x7F {
                controlBytes += 1
            }
        }
        examined += part.count
        // A ratio over a few bytes says little: judge from 512 bytes on (NUL bytes count at once).
        return examined >= 512 && controlBytes * 10 > examined
    }
}
