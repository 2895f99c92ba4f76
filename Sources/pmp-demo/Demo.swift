#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
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
        """)

    @Option(help: "Worker threads to start.")
    var threads: Int = 10

    @Option(help: "How many of the workers spin on the CPU (the rest block).")
    var busy: Int = 1

    @Option(help: "Swift tasks suspended on a continuation.")
    var tasks: Int = 4

    @Option(help: "Where triggered dumps go: stderr, or a file path to append to.")
    var dumpTo: String = "stderr"

    func validate() throws {
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
        let destination: DumpDestination = dumpTo == "stderr" ? .standardError : .file(dumpTo)
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
        while true { sleep(3600) }
    }
}
