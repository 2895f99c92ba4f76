import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import PMPClient
import PMPProfiles

/// `pmp record ENDPOINT -o FILE`: a sampled profile of a running process (`GET /profile`), written to a file.
struct RecordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Sample every thread of a running process for a while and write the profile to a file.",
        discussion: """
            Asks the endpoint for a profile (GET /profile): it samples every thread --hz times a second for \
            --seconds, folds identical stacks, running and blocked alike, and answers in the format the file's \
            extension names:

              .svg              a flame graph that opens in a browser (click to zoom)
              .pb.gz, .pprof    gzipped pprof, for go tool pprof
              .folded           root;…;leaf COUNT lines, for flamegraph.pl and speedscope
              .speedscope.json  speedscope's own format
              .json             the profile as JSON
              .txt              count, then stack, most frequent first

            --format overrides the extension (and is needed with -o -, standard output).

            Examples:
              pmp record 127.0.0.1:9084 -o flame.svg
              pmp record h1:9084 --seconds 30 --hz 50 -o cpu.pb.gz
              go tool pprof -top cpu.pb.gz
              pmp record /run/myapp/pmp.sock --by-state -o blocked.folded
                  the wait reason as the root frame: blocked and running time apart
              pmp record h1:9084 --seconds 2 --format text -o - | head -40
            """)

    @Argument(help: ArgumentHelp("Where the process's endpoints answer.", valueName: "endpoint"))
    var endpoint: String

    @Option(help: ArgumentHelp("How long to sample (the endpoint allows up to 60).", valueName: "seconds"))
    var seconds: Double = 5

    @Option(help: ArgumentHelp("Samples per second (the endpoint allows up to 1000).", valueName: "rate"))
    var hz: Double = 100

    @Option(name: [.short, .long], help: ArgumentHelp("The file to write; - for standard output.", valueName: "file"))
    var output: String

    @Option(help: ArgumentHelp("The profile format (default: from the file's extension).", valueName: "format"))
    var format: ProfileFormat?

    @Flag(help: "Put the wait reason in every stack as its root frame.")
    var byState = false

    @Flag(help: "Put the thread-name pattern in every stack as a root frame.")
    var byThread = false

    @Flag(help: "Text: print stacks from the root down.")
    var rootFirst = false

    @Flag(help: "Only threads the process registered with PMP.registerCurrentThread(name:).")
    var registered = false

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        _ = try EndpointArgument.parse(endpoint)
        guard seconds > 0, seconds.isFinite else { throw ValidationError("--seconds must be positive") }
        guard hz > 0, hz.isFinite else { throw ValidationError("--hz must be positive") }
        _ = try outputFormat()
    }

    func outputFormat() throws -> ProfileFormat {
        if let format { return format }
        if output == "-" { throw ValidationError("writing to standard output: say which format with --format") }
        guard let format = ProfileFormat.forFileName(output) else {
            throw ValidationError("cannot tell the format from the name \"\(output)\": end it in .svg, .pb.gz, "
                                  + ".folded, .speedscope.json, .json or .txt, or give --format")
        }
        return format
    }

    func run() throws {
        let endpoint = try EndpointArgument.parse(endpoint)
        let format = try outputFormat()
        if format == .pprof, output == "-", isatty(STDOUT_FILENO) != 0 {
            throw CommandFailure("pprof output is binary: write it to a file with -o FILE (or redirect stdout)")
        }
        var query = ["seconds=\(Self.number(seconds))", "hz=\(Self.number(hz))", "format=\(format.rawValue)"]
        if byState { query.append("state=1") }
        if byThread { query.append("thread=1") }
        if rootFirst { query.append("rootfirst=1") }
        if registered { query.append("threads=registered") }
        let client = connection.client()
        // The endpoint answers once it has sampled for the whole window.
        let timeout = Duration.milliseconds(Int64((seconds + connection.timeout) * 1000))
        let response = try EndpointArgument.perform { () throws(HTTPClientError) in
            try client.get("/profile?" + query.joined(separator: "&"), from: endpoint, timeout: timeout)
        }
        let body = try EndpointAnswer.body(response, from: endpoint, hasToken: client.token != nil)
        try OutputFile.write(body, to: output, isText: format != .pprof)
        let written = output == "-" ? "" : ": wrote \(output) (\(OutputFile.size(body.count)), \(format.rawValue))"
        StandardError.write("pmp record: \(Self.number(seconds)) s at \(Self.number(hz)) Hz from \(endpoint)\(written)\n")
    }

    /// 5, 0.5: no trailing ".0" in queries and messages.
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
