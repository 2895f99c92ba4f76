import ArgumentParser
import PMP

public struct AggregateCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "pmp-aggregate")
    public init() {}
    public func run() throws {}
}
