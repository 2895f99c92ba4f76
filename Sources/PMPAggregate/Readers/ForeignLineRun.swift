/// The lines in a row that no reader claimed while a reader's stack is open. Records of other writers may sit
/// between a dump's lines, so a stack survives up to `GoTracebackReader.foreignLineLimit` of them, then ends.
struct ForeignLineRun {
    private var count = 0

    /// Whether an open stack may still take lines: the run has not reached the limit.
    var keepsStackOpen: Bool { count < GoTracebackReader.foreignLineLimit }

    /// Counts the outcome of one line (`.ended`: no reader took it) and answers whether the stack must end now.
    mutating func note(_ outcome: LineOutcome) -> Bool {
        count = outcome == .ended ? count + 1 : 0
        return !keepsStackOpen
    }
}
