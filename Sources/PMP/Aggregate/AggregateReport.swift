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

    public init() {}

    /// Dumps found, all formats together.
    public var dumpCount: Int { dumps.values.reduce(0, +) }

    /// One line for the user: "read 1200 lines: 3 dumps (gdb 2, pmp 1), 51 stacks; 0 lines could not be placed".
    public var summary: String {
        let formats = DumpFormat.allCases.compactMap { format in dumps[format].map { "\(format.rawValue) \($0)" } }
        var text = "read \(lines) line\(lines == 1 ? "" : "s"): \(dumpCount) dump\(dumpCount == 1 ? "" : "s")"
        if !formats.isEmpty { text += " (" + formats.joined(separator: ", ") + ")" }
        text += ", \(stacks) stack\(stacks == 1 ? "" : "s")"
        if samples != stacks { text += " (\(samples) samples)" }
        text += ", \(distinctStacks) distinct"
        text += "; \(unplacedLines) line\(unplacedLines == 1 ? "" : "s") could not be placed"
        if overlongLines > 0 { text += " (\(overlongLines) longer than the line limit)" }
        if droppedSamples > 0 { text += "; \(droppedSamples) samples dropped past the distinct-stack limit" }
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
