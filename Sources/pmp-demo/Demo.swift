#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Logging
import PMP

@main
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pmp-demo",
        abstract: "A small process with swift-pmp built in and threads blocked in known ways.",
        discussion: """
        Prints its pid as the first line of stdout, installs the SIGUSR1 dump trigger, starts the worker \
        threads, prints "ready", and runs until killed. Worker threads are spread round-robin over a condition \
        wait, a mutex held by another thread, nanosleep and a blocking read on a pipe; --busy of them spin on \
        the CPU instead.

        Examples:
          pmp-demo --threads 10 &      # then: kill -USR1 <pid>
          pmp-demo --threads 1000 --busy 0
          pmp-demo --threads 1000 --busy 0 --record 10s@100Hz    # what sampling costs: see tools/bench-collector
        """)

    @Option(help: "Worker threads to start.")
    var threads: Int = 10

    @Option(help: "How many of the workers spin on the CPU (the rest block).")
    var busy: Int = 1

    @Option(help: "Swift tasks suspended on a continuation.")
    var tasks: Int = 4

    @Option(help: "Where triggered dumps go: stderr, log (stderr through a swift-log logger, one prefixed record per line), or a file path to append to.")
    var dumpTo: String = "stderr"

    @Option(help: ArgumentHelp("Once ready, sample every thread for a window and print a summary line to stdout.",
                               valueName: "SECONDS@HZ"))
    var record: String?

    @Option(help: "With --record: stop after this many captures instead (give a high rate to go flat out).")
    var recordCaptures: Int?

    @Flag(help: "With --record: signal every thread at every capture (no idle batching).")
    var noIdleBatching = false

    func validate() throws {
        if let record, TriggerProfile.parse(record) == nil {
            throw ValidationError("--record takes SECONDS@HZ, for example 10s@100Hz")
        }
        guard threads >= 0, threads <= 100_000 else { throw ValidationError("--threads must be between 0 and 100000") }
        guard busy >= 0, busy <= threads else { throw ValidationError("--busy must be between 0 and --threads") }
        guard tasks >= 0 else { throw ValidationError("--tasks must not be negative") }
    }

    func run() throws {
        // A parent that spawned us from a thread with signals blocked (any Dispatch worker) passes that mask on,
        // SIGTERM and SIGINT included: start with none blocked, as a service should.
        var none = sigset_t()
        sigemptyset(&none)
        sigprocmask(SIG_SETMASK, &none, nil)
        print(getpid())
        fflush(nil)
        PMP.registerCurrentThread(name: "main")
        let destination: DumpDestination
        switch dumpTo {
        case "stderr": destination = .standardError
        case "log": destination = .logger(Logger(label: "pmp-demo") { StreamLogHandler.standardError(label: $0) })
        default: destination = .file(dumpTo)
        }
        try PMP.installTrigger(TriggerConfiguration(destination: destination))

        Workers.prepare()
        let blockingKinds: [Workers.Kind] = [.condition, .mutex, .sleep, .pipeRead]
        for index in 0..<threads {
            let kind = index < busy ? Workers.Kind.busy : blockingKinds[(index - busy) % blockingKinds.count]
            Workers.start(kind, index: index)
        }
        SuspendedTasks.start(count: tasks)
        print("ready threads=\(threads) busy=\(busy) tasks=\(tasks)")
        fflush(nil)
        if let record, let window = TriggerProfile.parse(record) {
            try Recording.run(window: window, captures: recordCaptures, idleBatching: !noIdleBatching)
        }
        while true { sleep(3600) }
    }
}
