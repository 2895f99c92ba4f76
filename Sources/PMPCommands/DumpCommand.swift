import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import PMPClient

/// `pmp dump ENDPOINT`: every thread's stack in a running process, now (`GET /stacks`).
struct DumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print what every thread of a running process is doing now: its stack and what it waits for.",
        discussion: """
            Asks the endpoint for a snapshot (GET /stacks) and prints it. The text is the dump that \
            kill -USR1 writes: one header for the process, then per thread its tid, name, wait reason and \
            time blocked, and its frames leaf first. pmp aggregate reads it back.

            With --pid PID instead of an endpoint, the process is dumped from outside (with pmp-attach, \
            ptrace): it need not link swift-pmp. Each thread is stopped for tens of microseconds, one at a \
            time, to copy its registers and stack; --consistent stops them all together.

            ENDPOINT is HOST:PORT, http://HOST:PORT[/PREFIX], or the path of a unix socket. A token, when the \
            endpoint needs one, comes from PMP_TOKEN or --token.

            Examples:
              pmp dump 127.0.0.1:9084
              pmp dump /run/myapp/pmp.sock --group
                  identical stacks once, with their count, most frequent first
              pmp dump h1:9084 --format json | jq -r '.threads[].waitReason' | sort | uniq -c
                  how many threads wait for what
              pmp dump h1:9084 --format folded | flamegraph.pl > now.svg
              pmp dump --pid 4242 --group
                  any process, from outside
              PMP_TOKEN=s3cret pmp dump http://gateway/pmp/h1 -o h1.dump
                  through a proxy that serves the endpoints under /pmp/h1, with a token
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, folded
    }

    @Argument(help: ArgumentHelp("Where the process's endpoints answer.", valueName: "endpoint"))
    var endpoint: String?

    @Option(help: ArgumentHelp("Dump this process from outside instead (ptrace; it need not link swift-pmp).",
                               valueName: "pid"))
    var pid: Int32?

    @Flag(help: "With --pid: stop all threads together for one coherent picture, and say how long the process was frozen.")
    var consistent = false

    @Flag(help: "With --pid: print where the time went and how long threads were stopped, to standard error.")
    var timings = false

    @Option(help: "text (the SIGUSR1 dump), json (the /stacks JSON) or folded (root;…;leaf COUNT lines).")
    var format: Format = .text

    @Flag(help: "Fold identical stacks into one with a count (text: most frequent first; json: groups).")
    var group = false

    @Flag(help: "Only threads the process registered with PMP.registerCurrentThread(name:).")
    var registered = false

    @Flag(help: "Show complete demangled names (module, parameter and return types) instead of the short ones Swift's crash backtracer prints.")
    var fullNames = false

    @Option(name: [.short, .long], help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file"))
    var output: String = "-"

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        switch (endpoint, pid) {
        case (nil, nil): throw ValidationError("give an endpoint, or --pid PID to dump a process from outside")
        case (.some, .some): throw ValidationError("give an endpoint or --pid, not both")
        case (.some(let endpoint), nil): _ = try EndpointArgument.parse(endpoint)
        case (nil, .some):
            if registered { throw ValidationError("--registered needs the endpoint: from outside every thread is dumped") }
        }
        if pid == nil && (consistent || timings) { throw ValidationError("--consistent and --timings go with --pid") }
    }

    func run() throws {
        if let pid {
            var arguments = ["dump", "--pid", "\(pid)", "--format", format.rawValue, "-o", output]
            if group { arguments.append("--group") }
            if fullNames { arguments.append("--full-names") }
            if consistent { arguments.append("--consistent") }
            if timings { arguments.append("--timings") }
            try AttachExecutable.exec(arguments)
        }
        let endpoint = try EndpointArgument.parse(endpoint ?? "")
        var query = ["format=\(format.rawValue)"]
        if group { query.append("group=1") }
        if registered { query.append("threads=registered") }
        if fullNames { query.append("names=full") }
        let client = connection.client()
        let response = try EndpointArgument.perform { () throws(HTTPClientError) in
            try client.get("/stacks?" + query.joined(separator: "&"), from: endpoint)
        }
        try OutputFile.write(try EndpointAnswer.body(response, from: endpoint, hasToken: client.token != nil), to: output,
                            isText: true)
    }
}
