import ArgumentParser
import PMPAggregate
import PMPProfiles

extension ProfileFormat: ExpressibleByArgument {}
extension FoldKey: ExpressibleByArgument {}

/// `pmp-aggregate FILE… | -`: folds the stacks of every dump found in logs into one profile and writes it in
/// any profile format. `pmp aggregate` is the same command under another name: it reuses
/// `AggregateArguments` and the texts below.
public struct AggregateCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "pmp-aggregate", abstract: abstract, discussion: discussion)

    public static let abstract = "Fold the stacks of every dump found in logs into one profile: where do threads spend their time?"

    public static let discussion = """
            Recognises, with no flag: swift-pmp dumps (SIGUSR1), gdb `thread apply all bt` / `bt` output, \
            eu-stack output, and Go goroutine dumps (SIGQUIT tracebacks, goroutine?debug=2 and debug=1). \
            They may sit anywhere in a log: every line may carry a log prefix (timestamps, levels), other lines \
            may interleave, and one file may hold many dumps of many processes. Identical stacks fold into one \
            entry with a count, most frequent first.

            Frames fold by function: a frame shows the lines its own stacks were at (`at main.go:18, 22`), and \
            a stack the wait state of its samples (`[chan receive 100, select 50]`) when the dump gives one.

            swift-pmp dumps list the Swift tasks after the threads: each task's async backtrace counts as a \
            stack too, its state (`task suspended on continuation`, `task sleeping`, ...) as its wait state; a \
            task never folds with a thread. --tasks-only folds only the tasks (where are the requests \
            waiting?), --threads-only only the threads.

            The input streams: memory stays flat however large the files. A stack keeps at most 1024 frames \
            (or --frames N) and a name at most 4096 bytes; what is cut is counted. A progress bar shows on \
            stderr when it is a terminal; a summary line on stderr always ends the run: the stacks in the \
            output, the lines that looked like dump lines but could not be placed, and what was left out or cut.

            Examples:
              pmp-aggregate app.log
                  text: each distinct stack with its count, most frequent first, leaf first
              pmp-aggregate --frames 8 --by-state app.log
                  only the 8 frames nearest the leaf, split by wait reason
              pmp-aggregate -o flame.svg app.log.1 app.log
                  a flame graph (the format comes from the file's extension)
              pmp-aggregate --format folded gdb.txt | flamegraph.pl > flame.svg
              kubectl logs my-pod | pmp-aggregate --hide 'epoll_wait|_dispatch_worker' -
                  standard input, without the stacks of idle event loops and pool threads
              pmp-aggregate --tasks-only --by-state app.log
                  where the Swift tasks (the requests) are suspended, split by what they wait on
              pmp-aggregate --match Database --fold-by line --root-first stacks.txt
              pmp-aggregate -o profile.pb.gz dumps.log && go tool pprof -top profile.pb.gz
            """

    @OptionGroup public var arguments: AggregateArguments

    public init() {}

    public func run() throws {
        try arguments.run()
    }
}
