import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import PMPAggregate
import PMPProfiles

/// The files and options of `pmp-aggregate` (and `pmp aggregate`), and the run itself.
public struct AggregateArguments: ParsableArguments {
    @Argument(help: ArgumentHelp("Log or dump files to read; - reads standard input.", valueName: "FILE"))
    public var files: [String] = []

    @Option(help: ArgumentHelp("Output format (default: from the -o file's extension, else text).", valueName: "format"))
    public var format: ProfileFormat?

    @Option(name: [.short, .long], help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file"))
    public var output: String?

    @Option(help: ArgumentHelp("Keep the N frames nearest the leaf (default \(AggregateOptions.defaultFrameLimit)); stacks that differ only deeper fold together.",
                               valueName: "N"))
    public var frames: Int?

    @Option(help: ArgumentHelp("Keep only stacks with a function name matching this regular expression.", valueName: "regex"))
    public var match: String?

    @Option(help: ArgumentHelp("Drop stacks with a function name matching this regular expression.", valueName: "regex"))
    public var hide: String?

    @Flag(help: "Keep stacks with different wait reasons (thread states) apart.")
    public var byState = false

    @Flag(help: "Keep stacks of different processes apart (when the dump names its process).")
    public var perProcess = false

    @Flag(help: "Fold only the Swift tasks' async backtraces of swift-pmp dumps, not the threads' stacks.")
    public var tasksOnly = false

    @Flag(help: "Fold only the threads' stacks (and the goroutines of Go dumps), not the Swift tasks.")
    public var threadsOnly = false

    @Option(help: ArgumentHelp("What makes frames the same: the function name, function and file:line, or the address.",
                               valueName: "key"))
    public var foldBy: FoldKey = .function

    @Flag(help: "Print stacks from the root down (text); the default is leaf first, like the classic poor man's profiler.")
    public var rootFirst = false

    @Flag(help: "Show complete demangled names (module, parameter and return types) instead of the short ones Swift's crash backtracer prints.")
    public var fullNames = false

    @Option(help: ArgumentHelp("Distinct stacks kept; samples of further ones are counted as dropped.", valueName: "N"))
    public var maxStacks: Int = AggregateOptions().maxStacks

    public init() {}

    public func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one FILE, or - to read standard input") }
        if let frames, frames < 1 { throw ValidationError("--frames must be at least 1") }
        if tasksOnly && threadsOnly { throw ValidationError("--tasks-only and --threads-only cannot be given together") }
        if maxStacks < 1 { throw ValidationError("--max-stacks must be at least 1") }
        if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("- (standard input) can be read only once") }
    }

    public func run() throws {
        let outputFormat = format ?? output.flatMap { ProfileFormat.forFileName($0) } ?? .text
        if outputFormat == .pprof, output == nil, isatty(STDOUT_FILENO) != 0 {
            throw CommandFailure("pprof output is binary: write it to a file with -o FILE (or redirect stdout)")
        }
        let filter = StackFilter(match: try Self.regex(match, option: "--match"), hide: try Self.regex(hide, option: "--hide"))
        // Every file is opened before any is read: a misspelt name fails at once, not after a long read.
        let inputs = try files.map(Input.open)
        defer { for input in inputs where input.descriptor != STDIN_FILENO { close(input.descriptor) } }

        let aggregator = Aggregator(options: AggregateOptions(foldBy: foldBy, maxFrames: frames, byState: byState,
                                                              perProcess: perProcess, maxStacks: maxStacks,
                                                              kinds: tasksOnly ? .tasks : threadsOnly ? .threads : .all))
        var progress = ProgressBar(totalBytes: inputs.allSatisfy { $0.size != nil } ? inputs.reduce(0) { $0 + ($1.size ?? 0) } : nil)
        do {
            for input in inputs {
                try aggregator.consume(fileDescriptor: input.descriptor, name: input.name) { progress.update($0) }
            }
        } catch {
            progress.clear()
            throw CommandFailure("\(error)")
        }
        progress.clear()
        let folded = aggregator.finish()
        let profile = filter.apply(to: fullNames ? folded.showingFullNames : folded)
        let report = aggregator.report

        let title = "pmp-aggregate " + files.joined(separator: " ")
        let bytes = profile.rendered(as: outputFormat, options: RenderOptions(rootFirst: rootFirst, byState: byState, title: title))
        if let output {
            let descriptor = Glibc.open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw CommandFailure("\(output): cannot write: \(Self.errorText())") }
            defer { close(descriptor) }
            try Self.write(bytes, to: descriptor, name: output)
        } else {
            try Self.write(bytes, to: STDOUT_FILENO, name: "standard output")
        }

        var summary = "pmp-aggregate: " + report.summary
        if profile.stacks.count != report.distinctStacks {
            summary += "; \(profile.stacks.count) of \(report.distinctStacks) distinct stacks kept by --match/--hide"
        }
        if report.dumpCount == 0 { summary += "; no dumps found" }
        StandardError.write(summary + "\n")
    }

    // MARK: - Pieces

    static func regex(_ pattern: String?, option: String) throws -> Regex<AnyRegexOutput>? {
        guard let pattern else { return nil }
        do {
            return try Regex(pattern)
        } catch {
            throw CommandFailure("\(option): not a valid regular expression: \(pattern) (\(error))")
        }
    }

    static func write(_ bytes: [UInt8], to descriptor: Int32, name: String) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, bytes.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw CommandFailure("\(name): cannot write: \(errorText())")
            }
            offset += written
        }
    }

    static func errorText() -> String { String(cString: strerror(errno)) }

    /// An input file, opened.
    struct Input {
        var name: String
        var descriptor: Int32
        /// Bytes, for a regular file (progress); nil for pipes and terminals.
        var size: Int?

        static func open(_ path: String) throws -> Input {
            if path == "-" { return Input(name: "standard input", descriptor: STDIN_FILENO, size: regularSize(STDIN_FILENO)) }
            let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw CommandFailure("\(path): cannot open: \(AggregateArguments.errorText())") }
            return Input(name: path, descriptor: descriptor, size: regularSize(descriptor))
        }

        private static func regularSize(_ descriptor: Int32) -> Int? {
            var info = stat()
            guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
            return Int(info.st_size)
        }
    }
}
