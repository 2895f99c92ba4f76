#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Logging
import NIOCore
import PMP
import PMPServer

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

        With --serve it is also a small HTTP service whose requests are entries of the process table \
        (GET /work?ms=N goes through "reading", "querying", "rendering"; GET /hello answers at once), and with \
        --pmp it serves the profiler's endpoints (/stacks, /profile, /procs, ...). The bound addresses are printed \
        before "ready" as "serving URL" and "pmp URL" lines; port 0 lets the system choose.

        Examples:
          pmp-demo --threads 10 &      # then: kill -USR1 <pid>
          pmp-demo --threads 1000 --busy 0
          pmp-demo --threads 1000 --busy 0 --record 10s@100Hz    # what sampling costs: see tools/bench-collector
          pmp-demo --serve 127.0.0.1:8080 --pmp 127.0.0.1:9084 &
            curl 'http://127.0.0.1:8080/work?ms=30000' &    # a slow request
            curl http://127.0.0.1:9084/procs                # in flight: its status
            curl -X DELETE -d '{"message":"too slow"}' \\
                 http://127.0.0.1:9084/procs/ID             # cancel it
            curl 'http://127.0.0.1:9084/stacks?format=text'
          pmp-demo --serve :0 --pmp :0 --wedge    # pool and loops stuck: /stacks
          pmp-demo --pmp :0 --churn-libraries 300 # images loaded and unloaded: see tools/bench-churn
          PMP_LISTEN=/tmp/pmp.sock pmp-demo --serve :8080   # pmp on a unix socket
        """)

    @Option(help: "Worker threads to start.")
    var threads: Int = 10

    @Option(help: "How many of the workers spin on the CPU (the rest block).")
    var busy: Int = 1

    @Option(help: "Swift tasks suspended on a continuation.")
    var tasks: Int = 4

    @Option(help: ArgumentHelp("Swift tasks in every state, this many of each: on a continuation, sleeping, awaiting an async let, a task group, another task, queued on a busy actor (held by one running task).",
                               valueName: "N"))
    var taskStates: Int = 0

    @Option(help: ArgumentHelp("Fill this many MiB of heap with junk for the task search to read through, with copies of the task class pointer in it (see --junk-isa-per-mib).",
                               valueName: "MiB"))
    var junkMib: Int = 0

    @Option(help: ArgumentHelp("Copies of the task class pointer per MiB of junk, each followed by garbage.", valueName: "N"))
    var junkIsaPerMib: Int = 16

    @Option(help: "Where triggered dumps go: stderr, log (stderr through a swift-log logger, one prefixed record per line), or a file path to append to.")
    var dumpTo: String = "stderr"

    @Option(help: ArgumentHelp("Once ready, sample every thread for a window and print a summary line to stdout.",
                               valueName: "SECONDS@HZ"))
    var record: String?

    @Option(help: "With --record: stop after this many captures instead (give a high rate to go flat out).")
    var recordCaptures: Int?

    @Flag(help: "With --record: signal every thread at every capture (no idle batching).")
    var noIdleBatching = false

    @Option(help: ArgumentHelp("Serve the demo's own HTTP API (/work?ms=N, /hello) at this address: HOST:PORT, :PORT (loopback) or a unix socket path.",
                               valueName: "ADDR"))
    var serve: String?

    @Option(help: ArgumentHelp("Serve the profiler's endpoints (/stacks, /profile, /procs, ...) at this address (PMP_TOKEN, when set, guards them). Without it, PMP_LISTEN starts them.",
                               valueName: "ADDR"))
    var pmp: String?

    @Flag(help: "Once ready, block every thread of Swift's cooperative pool and every event loop of --serve for good.")
    var wedge = false

    @Option(help: ArgumentHelp("Crash (fatalError on a thread of its own) this many seconds after \"ready\", for crash-report tests.",
                               valueName: "SECONDS"))
    var crashAfter: Double?
    @Flag(help: "Install neither the dump trigger nor the profiler's endpoints: the same process without swift-pmp, to measure what it costs.")
    var withoutPmp = false

    @Option(help: ArgumentHelp("Load and unload small system libraries on a thread of their own, this many times a second (0: as fast as possible).",
                               valueName: "RATE"))
    var churnLibraries: Double?

    @Option(help: ArgumentHelp("Create and join short-lived threads, this many a second (0: as fast as possible).",
                               valueName: "RATE"))
    var churnThreads: Double?

    @Option(help: ArgumentHelp("Close fd 2 before installing the dump trigger, then open this file (which takes fd 2): a service started without stderr that later opens a file of its own.",
                               valueName: "PATH"))
    var closeStderrThenOpen: String?

    @Flag(help: "Once ready, open file descriptors until one is left (the soft limit lowered to those open plus 64 first).")
    var exhaustFds = false

    func validate() throws {
        if let record, TriggerProfile.parse(record) == nil {
            throw ValidationError("--record takes SECONDS@HZ, for example 10s@100Hz")
        }
        guard threads >= 0, threads <= 100_000 else { throw ValidationError("--threads must be between 0 and 100000") }
        guard busy >= 0, busy <= threads else { throw ValidationError("--busy must be between 0 and --threads") }
        guard tasks >= 0 else { throw ValidationError("--tasks must not be negative") }
        guard junkMib >= 0, junkMib <= 1 << 20 else { throw ValidationError("--junk-mib must be between 0 and 1048576") }
        guard junkIsaPerMib >= 0, junkIsaPerMib <= 65536 else { throw ValidationError("--junk-isa-per-mib must be between 0 and 65536") }
        if let churnLibraries, !(churnLibraries >= 0 && churnLibraries <= 1_000_000) {
            throw ValidationError("--churn-libraries must be between 0 and 1000000")
        }
        if let churnThreads, !(churnThreads >= 0 && churnThreads <= 1_000_000) {
            throw ValidationError("--churn-threads must be between 0 and 1000000")
        }
        if let serve, ListenAddress.parse(serve) == nil {
            throw ValidationError("--serve takes HOST:PORT, :PORT or a unix socket path, not \"\(serve)\"")
        }
        if withoutPmp, pmp != nil || record != nil {
            throw ValidationError("--without-pmp goes with neither --pmp nor --record")
        }
        if let pmp, ListenAddress.parse(pmp) == nil {
            throw ValidationError("--pmp takes HOST:PORT, :PORT or a unix socket path, not \"\(pmp)\"")
        }
    }

    func run() throws {
        // A parent that spawned us from a thread with signals blocked (any Dispatch worker) passes that mask on,
        // SIGTERM and SIGINT included: start with none blocked, as a service should.
        var none = sigset_t()
        sigemptyset(&none)
        sigprocmask(SIG_SETMASK, &none, nil)
        print(getpid())
        fflush(nil)
        if closeStderrThenOpen != nil { close(2) }
        if !withoutPmp {
            PMP.registerCurrentThread(name: "main")
            let destination: DumpDestination
            switch dumpTo {
            case "stderr": destination = .standardError
            case "log": destination = .logger(Logger(label: "pmp-demo") { StreamLogHandler.standardError(label: $0) })
            default: destination = .file(dumpTo)
            }
            try PMP.installTrigger(TriggerConfiguration(destination: destination))
        }
        if let closeStderrThenOpen {
            var fd = open(closeStderrThenOpen, O_WRONLY | O_CREAT | O_APPEND, 0o600)
            // Background start-up work may hold the lowest free descriptor for a moment; put the file on 2 itself.
            if fd > 2, dup2(fd, 2) == 2 {
                close(fd)
                fd = 2
            }
            print("opened \(closeStderrThenOpen) fd=\(fd)")
        }

        Workers.prepare()
        let blockingKinds: [Workers.Kind] = [.condition, .mutex, .sleep, .pipeRead]
        for index in 0..<threads {
            let kind = index < busy ? Workers.Kind.busy : blockingKinds[(index - busy) % blockingKinds.count]
            Workers.start(kind, index: index)
        }
        SuspendedTasks.start(count: tasks)
        if junkMib > 0 { HeapJunk.fill(megabytes: junkMib, isaCopiesPerMegabyte: junkIsaPerMib) }
        TaskStates.start(count: taskStates)
        if let churnLibraries { LibraryChurn.start(rate: churnLibraries) }
        if let churnThreads { ThreadChurn.start(rate: churnThreads) }

        // Kept for the life of the process (run never returns).
        let service = try serve.flatMap(ListenAddress.parse).map { try DemoService(listen: $0) }
        if let service { print("serving \(service.url)") }
        let endpoints = withoutPmp ? nil : try startEndpoints()
        if let endpoints { print("pmp \(endpoints.localAddress.url)") }
        print("ready threads=\(threads) busy=\(busy) tasks=\(tasks)" + (taskStates > 0 ? " task-states=\(taskStates)" : ""))
        fflush(nil)
        if wedge {
            let width = System.coreCount
            let loops = service?.eventLoops ?? []
            let outcome = Wedge.blockEverything(cooperativeWidth: width, eventLoops: loops)
            print("wedged cooperative-threads=\(outcome.cooperativeThreads)/\(width)"
                  + " event-loops=\(outcome.eventLoops)/\(loops.count)")
            fflush(nil)
        }
        if let crashAfter {
            Workers.startThread(name: "crasher") {
                // A loop: the capture signal cuts a sleep short.
                var remaining = timespec(tv_sec: Int(max(0, min(crashAfter, 3600))),
                                         tv_nsec: Int(crashAfter.truncatingRemainder(dividingBy: 1) * 1e9))
                var left = timespec()
                while nanosleep(&remaining, &left) != 0, errno == EINTR { remaining = left }
                fatalError("pmp-demo: crash requested with --crash-after")
            }
        }
        if exhaustFds {
            // After the start-up's jobs on the capture thread (symbol tables opened), which run in order before it.
            _ = try? PMP.capture(CaptureOptions(threads: .threads([])))
            print("exhausted fds open=\(DescriptorExhaustion.exhaust())")
            fflush(nil)
        }
        if let record, let window = TriggerProfile.parse(record) {
            try Recording.run(window: window, captures: recordCaptures, idleBatching: !noIdleBatching)
        }
        withExtendedLifetime((service, endpoints)) {
            while true { sleep(3600) }
        }
    }

    /// The profiler's endpoints: at --pmp, else where PMP_LISTEN says, else none.
    private func startEndpoints() throws -> PMPServer? {
        guard let pmp, let address = ListenAddress.parse(pmp) else {
            return try PMPServer.startFromEnvironment()
        }
        let token = getenv("PMP_TOKEN").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
        return try PMPServer.start(PMPServerConfiguration(listen: address, token: token))
    }
}
