/// One format's reader at work on the input, with the stack builder it feeds. The aggregator keeps one per
/// format for the whole input: a reader that answered `.ended` keeps its state (an open dump, stacks keyed by
/// tag) and gets lines again when its format claims one.
protocol ReaderSession: AnyObject {
    func feed(_ content: LineBytes) -> LineOutcome
    /// The reader has a stack open that later lines may continue (see `DumpReader.isInsideStack`).
    var isInsideStack: Bool { get }
    /// The input ended: the reader closes what it has open, then any stack still open is counted.
    func finish()
}

final class TypedReaderSession<Reader: DumpReader>: ReaderSession {
    // Held through pointers: a class's stored properties passed inout cost a dynamic exclusivity check on
    // every line, which showed in profiles of large inputs.
    private let reader: UnsafeMutablePointer<Reader>
    private let sink: UnsafeMutablePointer<StackBuilder>

    init(table: StackTable) {
        reader = .allocate(capacity: 1)
        reader.initialize(to: Reader())
        sink = .allocate(capacity: 1)
        sink.initialize(to: StackBuilder(table: table))
    }

    deinit {
        reader.deinitialize(count: 1)
        reader.deallocate()
        sink.deinitialize(count: 1)
        sink.deallocate()
    }

    func feed(_ content: LineBytes) -> LineOutcome {
        reader.pointee.feed(content, into: &sink.pointee)
    }

    var isInsideStack: Bool { reader.pointee.isInsideStack }

    func finish() {
        reader.pointee.finish(into: &sink.pointee)
        sink.pointee.endStack()
    }
}

/// A session for a reader type known only at run time.
func makeReaderSession<Reader: DumpReader>(_ type: Reader.Type, table: StackTable) -> any ReaderSession {
    TypedReaderSession<Reader>(table: table)
}
