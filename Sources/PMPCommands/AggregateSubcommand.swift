import ArgumentParser

/// `pmp aggregate`: `pmp-aggregate` under the `pmp` command, with the same arguments and run.
struct AggregateSubcommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aggregate",
        abstract: AggregateCommand.abstract,
        discussion: AggregateCommand.discussion.replacing("pmp-aggregate ", with: "pmp aggregate "))

    @OptionGroup var arguments: AggregateArguments

    func run() throws {
        try arguments.run()
    }
}
