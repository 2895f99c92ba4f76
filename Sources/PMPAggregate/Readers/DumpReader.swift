/// The bytes of one input line: no terminator ("\n", and a trailing "\r" already removed). Valid only for the
/// duration of the call it is passed to.
public typealias LineBytes = UnsafeBufferPointer<UInt8>

/// The dump formats `pmp-aggregate` recognises on its own.
public enum DumpFormat: String, Sendable, Hashable, CaseIterable, Codable {
    /// swift-pmp's own dump (`pmp[PID.SEQ] dump …`).
    case pmp
    /// gdb's `thread apply all bt` (and `bt`).
    case gdb
    /// elfutils' `eu-stack -p PID`.
    case euStack = "eu-stack"
    /// A Go traceback: SIGQUIT / panic output, or `/debug/pprof/goroutine?debug=2`.
    case goTraceback = "go"
    /// Go's counted goroutine profile, `/debug/pprof/goroutine?debug=1`.
    case goProfile = "go-debug1"
}

/// What one line did for a reader.
public enum LineOutcome: Sendable, Equatable {
    /// The line belongs to the dump and was used.
    case consumed
    /// The line looked like part of the dump but could not be read (counted and reported as unplaced).
    case malformed
    /// The line is not part of this dump: the dump has ended; the line is offered to the other formats.
    case ended
}

/// Where readers hand the stacks they find, frame by frame. The byte slices are only valid during the call;
/// a sink copies what it keeps (interning names, so a large input costs no more memory than its distinct
/// stacks).
public protocol StackSink {
    /// A thread's (or goroutine's) stack begins. `count` > 1 when the format folds identical stacks itself
    /// (Go's debug=1). `process` identifies the process when the format says it (a pid).
    mutating func beginStack(format: DumpFormat, threadName: LineBytes?, state: LineBytes?, process: LineBytes?,
                             count: Int)
    /// A Swift task's async backtrace begins (swift-pmp's dumps list the tasks after the threads); `state` is
    /// its state as `TaskState.foldedText` says it. Its frames follow as a thread's do.
    mutating func beginTaskStack(format: DumpFormat, state: LineBytes?, process: LineBytes?)
    /// The next frame, leaf first. Addresses, files, lines and images are given when the format has them.
    mutating func frame(function: LineBytes, address: UInt64?, file: LineBytes?, line: Int?, image: LineBytes?,
                        inlined: Bool)
    /// The stack is complete.
    mutating func endStack()
    /// A whole dump (one process at one moment) begins; used to count captures.
    mutating func beginDump(format: DumpFormat)
    /// Frames a stack may have; a reader that stores a stack's frames before handing them on stores no more.
    var frameLimit: Int { get }
    /// The current stack had `count` frames past `frameLimit` that the reader did not store (they are counted).
    mutating func framesDropped(_ count: Int)
}

extension StackSink {
    public mutating func beginTaskStack(format: DumpFormat, state: LineBytes?, process: LineBytes?) {
        beginStack(format: format, threadName: nil, state: state, process: process, count: 1)
    }
    public var frameLimit: Int { Int.max }
    public mutating func framesDropped(_ count: Int) {}
}

/// A reader of one dump format, fed line by line. The aggregator offers every line that no reader is busy
/// with to each format's `claim`; the reader that claims it gets the following lines (with the same log
/// prefix removed) until it answers `.ended`, and `finish` at the end of the input. A reader still
/// `isInsideStack` after `.ended` is offered the lines that no format claims, so that a stack goes on across the
/// records of other writers between its lines.
public protocol DumpReader {
    static var format: DumpFormat { get }
    /// If `line` opens a dump (or a stack) of this format, the offset where the format's text begins (the
    /// length of the log prefix before it); nil otherwise. Called on every unclaimed line: keep it cheap.
    static func claim(_ line: LineBytes) -> Int?
    init()
    /// Reads one line, the log prefix already removed (the claiming line too).
    mutating func feed(_ content: LineBytes, into sink: inout some StackSink) -> LineOutcome
    /// The input ended: close any open stack.
    mutating func finish(into sink: inout some StackSink)
    /// True while a stack is open that lines to come may continue: after answering `.ended` for a foreign line
    /// (another log record between two frame lines), the reader is offered the lines no format claims.
    var isInsideStack: Bool { get }
}

extension DumpReader {
    public var isInsideStack: Bool { false }
}
