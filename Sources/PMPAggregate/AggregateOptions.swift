import PMPProfiles

/// What makes two frames "the same" when stacks are folded.
public enum FoldKey: String, Sendable, Hashable, CaseIterable, Codable {
    /// The function name alone (arguments, addresses, files and lines ignored): the classic poor man's profiler.
    case function
    /// The function and its file:line: separate call sites of one function stay apart.
    case functionAndLine = "line"
    /// The function at its address (frames without an address fold by function).
    case address
}

/// How `Aggregator` folds the stacks it finds.
public struct AggregateOptions: Sendable, Hashable {
    /// What identifies a frame.
    public var foldBy: FoldKey
    /// Keep only the N frames nearest the leaf (stacks that differ deeper fold together); nil keeps
    /// `AggregateOptions.defaultFrameLimit`. Frames past the limit are not stored while reading; they are counted.
    public var maxFrames: Int?
    /// Keep stacks with different wait reasons (thread states) apart; otherwise `Stack.waitReason` is nil.
    public var byState: Bool
    /// Keep stacks of different processes apart (`Stack.process`), when the format names the process.
    public var perProcess: Bool
    /// Distinct stacks kept; samples of further distinct stacks are counted in `Profile.droppedSamples`.
    public var maxStacks: Int
    /// Readable names for mangled Swift and C++ symbols (gdb prints Swift names mangled).
    public var demangle: Bool
    /// Longest line read, in bytes; a longer line is skipped and counted as unplaced.
    public var maxLineLength: Int
    /// Threads' stacks, Swift tasks' async backtraces, or both (the default). The others are counted, not kept.
    public var kinds: StackKinds

    /// Frames kept per stack when `maxFrames` is not given: a stack of millions of frames costs no more.
    public static let defaultFrameLimit = 1024
    /// Bytes kept of a function, file, image, thread or state name; a longer name is cut (at a character
    /// boundary) and counted.
    public static let nameLimit = 4096

    /// The frames kept per stack.
    public var frameLimit: Int { maxFrames.map { max(0, $0) } ?? Self.defaultFrameLimit }

    public init(foldBy: FoldKey = .function, maxFrames: Int? = nil, byState: Bool = false, perProcess: Bool = false,
                maxStacks: Int = 50_000, demangle: Bool = true, maxLineLength: Int = 64 * 1024,
                kinds: StackKinds = .all) {
        self.foldBy = foldBy
        self.maxFrames = maxFrames
        self.byState = byState
        self.perProcess = perProcess
        self.maxStacks = maxStacks
        self.demangle = demangle
        self.maxLineLength = maxLineLength
        self.kinds = kinds
    }
}
