import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import PMPClient

/// `pmp top --endpoints h1:p,h2:p`: the requests in flight across a fleet, and where its threads are blocked,
/// live.
struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "Watch the requests in flight across many processes, and the stacks their threads are blocked in.",
        discussion: """
            Polls every endpoint once a period (GET /procs, and GET /stacks?format=json&group=1 for the \
            panel), each on a thread of its own: a dead or slow endpoint is marked at the top and costs its own \
            timeout, never the others' refresh. One table merges the entries of every process table: HOST, ID, \
            AGE, STATUS, time IN STATUS, then one column per attribute (method, uri, …; any JSON value, \
            compactly). Below it, the blocked stacks most threads share across the fleet (every wait reason \
            but running and idle), with where they were seen and the longest time a thread has been blocked.

            Keys:
              q, Ctrl-C   quit
              p, space    pause (the screen freezes and polling stops) / resume
              s, S        sort by the next / previous column;  r  reverse the order
              1-9         sort by the Nth column shown (again: reverse)
              k           cancel a request: its id (id@host if two hosts have it),
                          Enter, then a message and Enter; Esc gives up
              h, ?        show the keys

            Columns that do not fit the terminal are left out (the title says how many); the screen redraws \
            when the terminal is resized. Ages are measured on each server's clock. With --once, one table is \
            printed (no keys, no terminal needed) once every endpoint has answered or failed.

            Examples:
              pmp top --endpoints 127.0.0.1:9084
              pmp top --endpoints h1:9084,h2:9084,h3:9084 --refresh 2s --sort uri
              pmp top --endpoints "$(paste -sd, fleet.txt)" --connect-timeout 0.3
                  one endpoint a line in fleet.txt; a dead host costs 0.3 s
              pmp top --endpoints h1:9084,h2:9084 --once --no-stacks | grep querying
                  one table, for scripts
            """)

    @Option(help: ArgumentHelp("Endpoints, separated by commas (or give the option again): HOST:PORT, http://HOST:PORT[/PREFIX] or a unix socket path.",
                               valueName: "endpoints"))
    var endpoints: [String] = []

    @Option(help: ArgumentHelp("How often to poll: 1s, 500ms, 2.5 (seconds).", valueName: "period"))
    var refresh: String = "1s"

    @Option(help: ArgumentHelp("The column to sort by first: age, in-status, host, id, status, or an attribute's name.",
                               valueName: "column"))
    var sort: String = "age"

    @Flag(help: "Sort from the smallest (the oldest first for age is the default).")
    var ascending = false

    @Flag(help: "Leave out the panel of blocked stacks (and the captures it asks each endpoint for).")
    var noStacks = false

    @Flag(help: "Show where each entry's Swift task is waiting (WAITING IN: its state and innermost functions). Each poll then takes a task capture in every process (GET /procs?tasks=1).")
    var tasks = false

    @Flag(help: "Print one table and exit, without keys or a terminal.")
    var once = false

    @Option(help: ArgumentHelp("Token for endpoints started with PMP_TOKEN (default: $PMP_TOKEN).", valueName: "token"))
    var token: String?

    @Option(help: ArgumentHelp("Seconds to wait for a connection to each endpoint.", valueName: "seconds"))
    var connectTimeout: Double = 1

    @Option(help: ArgumentHelp("Seconds to wait for each answer.", valueName: "seconds"))
    var timeout: Double = 5

    func validate() throws {
        _ = try parsedEndpoints()
        guard let period = DurationText.parse(refresh), period >= .milliseconds(100) else {
            throw ValidationError("--refresh takes a period of at least 100ms, such as 1s, 500ms or 2.5")
        }
        guard connectTimeout > 0, connectTimeout.isFinite, timeout > 0, timeout.isFinite else {
            throw ValidationError("the timeouts must be positive")
        }
        if let token = ConnectionOptions.token(option: token), token.contains(where: { $0.isNewline }) {
            throw ValidationError("the token may not contain line breaks")
        }
        if !once, !RawTerminal.isAvailable {
            throw ValidationError("pmp top needs a terminal; use --once to print one table")
        }
    }

    private func parsedEndpoints() throws -> [Endpoint] {
        let parsed: [Endpoint]
        do {
            parsed = try Endpoint.parseList(endpoints)
        } catch {
            throw ValidationError(error.description)
        }
        guard !parsed.isEmpty else { throw ValidationError("give the endpoints with --endpoints h1:9084,h2:9084") }
        return parsed
    }

    private var initialSort: TopSort {
        let column: TopColumn
        switch sort.lowercased() {
        case "age": column = .age
        case "in-status", "instatus", "in status": column = .inStatus
        case "host": column = .host
        case "id": column = .id
        case "status": column = .status
        default: column = .attribute(sort)
        }
        let descending = column == .age || column == .inStatus
        return TopSort(column: column, descending: ascending ? false : descending)
    }

    func run() throws {
        let endpoints = try parsedEndpoints()
        let period = DurationText.parse(refresh)!
        let client = HTTPClient(token: ConnectionOptions.token(option: token),
                                connectTimeout: .milliseconds(Int64(connectTimeout * 1000)),
                                timeout: .milliseconds(Int64(timeout * 1000)), maxBodyBytes: HTTPClient.pollAnswerLimit)
        if once {
            try printOnce(endpoints: endpoints, client: client, period: period)
            return
        }
        // Signals are blocked before any other thread starts, so that every thread inherits the mask.
        let signals = try SignalWatcher()
        try signals.start()
        let poller = try FleetPoller(endpoints: endpoints, client: client, period: period, fetchStacks: !noStacks, fetchTasks: tasks)
        try poller.start()
        defer { poller.stop() }
        let terminal = RawTerminal()
        try terminal.enter()
        let session = TopSession(poller: poller, terminal: terminal, signals: signals, client: client, period: period,
                                 showsStacks: !noStacks, sort: initialSort)
        let status = session.run()
        terminal.restore()
        if status != 0 { throw ExitCode(status) }
    }

    /// One poll of every endpoint, printed as a table as wide as the terminal (or $COLUMNS, or 200).
    private func printOnce(endpoints: [Endpoint], client: HTTPClient, period: Duration) throws {
        let poller = try FleetPoller(endpoints: endpoints, client: client, period: .seconds(3600), fetchStacks: !noStacks, fetchTasks: tasks)
        try poller.start()
        defer { poller.stop() }
        // Each poll is bounded by the timeouts: two requests.
        let deadline = Deadline.after(.milliseconds(Int64((connectTimeout + timeout) * 2000) + 1000))
        while !poller.everyEndpointPolled, !deadline.hasPassed {
            var entry = pollfd(fd: poller.updates.readDescriptor, events: Int16(POLLIN), revents: 0)
            _ = poll(&entry, 1, deadline.remainingMilliseconds)
            _ = poller.updates.drain()
        }
        let states = poller.snapshot()
        let rows = TopTable.sorted(TopTable.rows(states, now: .now()), by: initialSort)
        var wallTime = timespec()
        clock_gettime(CLOCK_REALTIME, &wallTime)
        let frame = TopFrame(states: states, rows: rows, columns: TopTable.columns(rows), sort: initialSort,
                             stacks: noStacks ? [] : BlockedStacks.merge(states), showsStacks: !noStacks,
                             period: period, paused: false, statusLine: "", wallClock: Double(wallTime.tv_sec))
        var lines = frame.lines(width: Self.outputWidth(), height: nil)
        while lines.last?.isEmpty == true { lines.removeLast() }
        print(lines.joined(separator: "\n"))
    }

    private static func outputWidth() -> Int {
        var size = winsize()
        if isatty(STDOUT_FILENO) != 0, ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 {
            return Int(size.ws_col)
        }
        if let columns = getenv("COLUMNS").flatMap({ Int(String(cString: $0)) }), columns > 0 { return columns }
        return 200
    }
}
