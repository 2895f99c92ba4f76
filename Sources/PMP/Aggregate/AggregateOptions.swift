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
    /// Keep only the N frames nearest the leaf (stacks that differ deeper fold together); nil keeps all.
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

    public init(foldBy: FoldKey = .function, maxFrames: Int? = nil, byState: Bool = false, perProcess: Bool = false,
                maxStacks: Int = 50_000, demangle: Bool = true, maxLineLength: Int = 64 * 1024) {
        self.foldBy = foldBy
        self.maxFrames = maxFrames
        self.byState = byState
        self.perProcess = perProcess
        self.maxStacks = maxStacks
        self.demangle = demangle
        self.maxLineLength = maxLineLength
    }
}
