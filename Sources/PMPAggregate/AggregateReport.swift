/// What `Aggregator` read: enough to tell the user what was found and what could not be placed.
public struct AggregateReport: Sendable, Hashable {
    /// Bytes read.
    public var bytes: Int = 0
    /// Lines read.
    public var lines: Int = 0
    /// Dumps found, per format.
    public var dumps: [DumpFormat: Int] = [:]
    /// Stacks read (threads or goroutines; a counted Go stack is one).
    public var stacks: Int = 0
    /// Samples those stacks stand for (a counted stack stands for its count).
    public var samples: Int = 0
    /// Of the stacks in the profile, the Swift tasks' async backtraces.
    public var taskStacks: Int = 0
    /// Stacks of the kind `AggregateOptions.kinds` left out (samples, for counted stacks): not in `stacks`.
    public var threadStacksLeftOut: Int = 0
    public var taskStacksLeftOut: Int = 0
    /// Distinct stacks after folding.
    public var distinctStacks: Int = 0
    /// Lines that belonged to a dump and were used.
    public var dumpLines: Int = 0
    /// Lines outside any dump (other log records, tool chatter): expected, not an error.
    public var linesOutsideDumps: Int = 0
    /// Lines that looked like part of a dump but could not be read, and overlong lines: they are reported.
    public var unplacedLines: Int = 0
    /// Lines longer than the limit (counted in `unplacedLines` too).
    public var overlongLines: Int = 0
    /// Samples not kept because the distinct-stack limit was reached.
    public var droppedSamples: Int = 0
    /// Stacks without frames (a thread that did not answer).
    public var emptyStacks: Int = 0
    /// Samples of those stacks.
    public var emptySamples: Int = 0
    /// Stacks not kept because the distinct-stack limit was reached (their samples are `droppedSamples`).
    public var droppedStacks: Int = 0
    /// Stacks cut to the frame limit (`--frames`, or `AggregateOptions.defaultFrameLimit`).
    public var stacksCut: Int = 0
    /// Frames cut off those stacks.
    public var framesDropped: Int = 0
    /// The frame limit that applied.
    public var frameLimit: Int = AggregateOptions.defaultFrameLimit
    /// Names longer than `AggregateOptions.nameLimit` bytes, cut to it.
    public var namesTruncated: Int = 0
    /// Lines holding NUL bytes: the bytes were removed and the rest read.
    public var linesWithNUL: Int = 0
    /// Inputs whose lines end in a lone CR (classic Mac OS): read as lines all the same.
    public var inputsWithCRLineEndings: Int = 0

    public init() {}

    /// Dumps found, all formats together.
    public var dumpCount: Int { dumps.values.reduce(0, +) }

    /// Stacks in the profile: those read, less the ones without frames and those past the distinct-stack limit.
    public var stacksInProfile: Int { stacks - emptyStacks - droppedStacks }
    /// Samples in the profile: the counts of its stacks add up to this.
    public var samplesInProfile: Int { samples - emptySamples - droppedSamples }

    /// One line for the user: "read 1200 lines: 3 dumps (gdb 2, pmp 1), 51 stacks; 0 lines could not be placed".
    /// Its stack (or sample) count is what the profile holds; what was read but left out is said after it.
    public var summary: String {
        func plural(_ count: Int, _ word: String) -> String { "\(count) \(word)\(count == 1 ? "" : "s")" }
        let formats = DumpFormat.allCases.compactMap { format in dumps[format].map { "\(format.rawValue) \($0)" } }
        var text = "read \(plural(lines, "line")): \(plural(dumpCount, "dump"))"
        if !formats.isEmpty { text += " (" + formats.joined(separator: ", ") + ")" }
        text += ", \(plural(stacksInProfile, "stack"))"
        if samplesInProfile != stacksInProfile { text += " (\(plural(samplesInProfile, "sample")))" }
        if taskStacks > 0 { text += " (\(plural(taskStacks, "task")) among them)" }
        text += ", \(distinctStacks) distinct"
        text += "; \(plural(unplacedLines, "line")) could not be placed"
        if overlongLines > 0 { text += " (\(overlongLines) longer than the line limit)" }
        if threadStacksLeftOut > 0 { text += "; \(plural(threadStacksLeftOut, "thread stack")) left out (tasks only)" }
        if taskStacksLeftOut > 0 { text += "; \(plural(taskStacksLeftOut, "task stack")) left out (threads only)" }
        if emptyStacks > 0 { text += "; \(plural(emptyStacks, "stack")) without frames left out" }
        if droppedSamples > 0 {
            text += "; \(droppedSamples) samples dropped past the distinct-stack limit (\(plural(droppedStacks, "stack")))"
        }
        if stacksCut > 0 {
            text += "; \(plural(stacksCut, "stack")) cut to \(frameLimit) frames (\(plural(framesDropped, "frame")) dropped)"
        }
        if namesTruncated > 0 { text += "; \(plural(namesTruncated, "name")) cut to \(AggregateOptions.nameLimit) bytes" }
        if linesWithNUL > 0 { text += "; \(plural(linesWithNUL, "line")) held NUL bytes (removed)" }
        if inputsWithCRLineEndings > 0 { text += "; \(plural(inputsWithCRLineEndings, "input")) with CR line endings" }
        return text
    }
}

/// How far `Aggregator.consume` has got, for a progress bar.
public struct AggregateProgress: Sendable, Hashable {
    /// Bytes read so far, over every input consumed.
    public var bytes: Int
    /// Stacks read so far.
    public var stacks: Int
}
