import ArgumentParser

/// `pmp`: the command-line client of swift-pmp's endpoints, and the dump aggregator.
public struct PMPCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "pmp",
        abstract: "See what the threads and requests of running Swift services are doing, across machines.",
        discussion: """
            A process with swift-pmp's endpoints (PMPServer, or PMP_LISTEN) answers these commands. ENDPOINT \
            is HOST:PORT, http://HOST:PORT[/PREFIX], or the path of a unix socket; a token, when the \
            endpoint was started with PMP_TOKEN, comes from PMP_TOKEN or --token.

            Examples:
              pmp dump 127.0.0.1:9084
                  every thread's stack, now
              pmp record 127.0.0.1:9084 -o flame.svg
                  a 5 s profile as a flame graph
              pmp top --endpoints h1:9084,h2:9084
                  the requests in flight and the blocked stacks of two hosts, live
              pmp cancel h1:9084 kqz-17 -m "runaway export"
                  cancel one request
              pmp link --endpoints h1:9084,h2:9084
                  one URL of the web UI for the whole fleet
              pmp aggregate app.log
                  fold the dumps found in a log into one profile

            Run pmp help COMMAND for each command's options and more examples.
            """,
        subcommands: [DumpCommand.self, RecordCommand.self, TopCommand.self, CancelCommand.self, LinkCommand.self,
                      AggregateSubcommand.self])

    public init() {}
}
