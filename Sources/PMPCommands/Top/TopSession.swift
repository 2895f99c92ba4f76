#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import PMPClient
import PMPSupport

/// The interactive screen of `pmp top`: draws the fleet's table as polls come in, and reads keys.
final class TopSession {
    private let poller: FleetPoller
    private let terminal: RawTerminal
    private let signals: SignalWatcher
    private let client: HTTPClient
    private let period: Duration
    private let showsStacks: Bool
    private var sort: TopSort
    private var mode = Mode.normal
    private var message: (text: String, until: Deadline)?
    /// While paused: what is shown, and the moment it shows.
    private var frozen: (states: [EndpointState], at: Deadline)?
    private var decoder = KeyDecoder()
    /// The rows and columns last drawn: keys refer to them.
    private var shownRows: [TopRow] = []
    private var shownColumns: [TopColumn] = []
    private var allColumns: [TopColumn] = TopColumn.fixed
    /// Outcomes of cancels, from the threads that send them.
    private let mailbox = Mailbox()

    private enum Mode {
        case normal
        case askingID(String)
        case askingMessage(row: TopRow, text: String)
    }

    /// Messages from other threads to the screen.
    private final class Mailbox: Sendable {
        let messages = Mutex<[String]>([])
    }

    init(poller: FleetPoller, terminal: RawTerminal, signals: SignalWatcher, client: HTTPClient, period: Duration,
         showsStacks: Bool, sort: TopSort) {
        self.poller = poller
        self.terminal = terminal
        self.signals = signals
        self.client = client
        self.period = period
        self.showsStacks = showsStacks
        self.sort = sort
    }

    /// Runs until `q` (0) or a signal (128 + its number).
    func run() -> Int32 {
        var lastDraw = Deadline(nanoseconds: 0)
        var dirty = true
        let redrawGap = 0.1
        while true {
            let now = Deadline.now()
            let sinceDraw = now.seconds(since: lastDraw)
            // Ages tick once a second; bursts of poll results are drawn at most ten times a second.
            if (dirty && sinceDraw >= redrawGap) || (frozen == nil && sinceDraw >= 1) {
                draw()
                lastDraw = now
                dirty = false
            }
            let waitSeconds = dirty ? redrawGap - now.seconds(since: lastDraw) : 1 - now.seconds(since: lastDraw)
            var watched = [pollfd(fd: terminal.inputDescriptor, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: poller.updates.readDescriptor, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: signals.pipe.readDescriptor, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&watched, nfds_t(watched.count), Int32(max(1, min(1000, waitSeconds * 1000))))
            guard ready > 0 else { continue }
            if watched[2].revents != 0 {
                for signal in signals.pipe.drain().map(Int32.init) {
                    if signal == SIGWINCH { dirty = true } else { return 128 + signal }
                }
            }
            if watched[1].revents != 0 {
                _ = poller.updates.drain()
                for text in mailbox.messages.withLock({ messages in defer { messages.removeAll() }; return messages }) {
                    show(text)
                }
                if frozen == nil { dirty = true }
            }
            if watched[0].revents & Int16(POLLIN) != 0 {
                for key in decoder.keys(terminal.readKeys()) {
                    if handle(key) == .quit { return 0 }
                }
                dirty = true
            } else if watched[0].revents & Int16(POLLHUP | POLLERR) != 0 {
                return 1  // the terminal went away
            }
        }
    }

    // MARK: - Drawing

    private func draw() {
        let size = terminal.size()
        let states = frozen?.states ?? poller.snapshot()
        let now = frozen?.at ?? .now()
        let rows = TopTable.sorted(TopTable.rows(states, now: now), by: sort)
        allColumns = TopTable.columns(rows)
        shownRows = rows
        shownColumns = ColumnLayout(columns: allColumns, rows: rows, width: size.columns, gap: TopFrame.gap).visibleColumns
        var wallTime = timespec()
        clock_gettime(CLOCK_REALTIME, &wallTime)
        let frame = TopFrame(states: states, rows: rows, columns: allColumns, sort: sort,
                             stacks: showsStacks ? BlockedStacks.merge(states) : [], showsStacks: showsStacks,
                             period: period, paused: frozen != nil, statusLine: statusLine(),
                             wallClock: Double(wallTime.tv_sec))
        terminal.draw(frame.lines(width: size.columns, height: size.rows))
    }

    private func statusLine() -> String {
        switch mode {
        case .askingID(let text):
            return "cancel which request? id (or id@host), Enter to go on, Esc to give up: \(text)_"
        case .askingMessage(let row, let text):
            return "cancel \(row.id) on \(row.host): message (Enter sends, Esc gives up): \(text)_"
        case .normal:
            if let message, !message.until.hasPassed { return message.text }
            return TopFrame.keyHelp
        }
    }

    private func show(_ text: String, seconds: Double = 6) {
        message = (text, Deadline.after(.milliseconds(Int64(seconds * 1000))))
    }

    // MARK: - Keys

    private enum Handled { case handled, quit }

    private func handle(_ key: Key) -> Handled {
        switch mode {
        case .normal: return handleCommand(key)
        case .askingID(let text):
            switch key {
            case .character(let character): mode = .askingID(text + String(character))
            case .backspace: mode = .askingID(String(text.dropLast()))
            case .clearLine: mode = .askingID("")
            case .escape, .interrupt: mode = .normal
            case .enter:
                mode = .normal
                let wanted = text.trimmingBlanks()
                guard !wanted.isEmpty else { break }
                switch resolve(wanted) {
                case .success(let row): mode = .askingMessage(row: row, text: "")
                case .failure(let failure): show(failure.message)
                }
            case .other: break
            }
        case .askingMessage(let row, let text):
            switch key {
            case .character(let character): mode = .askingMessage(row: row, text: text + String(character))
            case .backspace: mode = .askingMessage(row: row, text: String(text.dropLast()))
            case .clearLine: mode = .askingMessage(row: row, text: "")
            case .escape, .interrupt: mode = .normal
            case .enter:
                mode = .normal
                cancel(row, message: text)
            case .other: break
            }
        }
        return .handled
    }

    private func handleCommand(_ key: Key) -> Handled {
        guard case .character(let character) = key else {
            return key == .interrupt ? .quit : .handled
        }
        switch character {
        case "q", "Q":
            return .quit
        case "p", "P", " ":
            if frozen == nil {
                frozen = (poller.snapshot(), .now())
                poller.setPaused(true)
            } else {
                frozen = nil
                poller.setPaused(false)
            }
        case "s", ">":
            sortBy(next: 1)
        case "S", "<":
            sortBy(next: -1)
        case "r", "R":
            sort.descending.toggle()
        case "1"..."9":
            let index = Int(String(character))! - 1
            if index < shownColumns.count {
                let column = shownColumns[index]
                if column == sort.column { sort.descending.toggle() } else { sort = TopSort(column: column, descending: Self.descendsFirst(column)) }
            }
        case "k", "K":
            mode = .askingID("")
        case "h", "H", "?":
            show(TopFrame.keyHelp + "  (1-9: the Nth column shown; again: reverse)", seconds: 10)
        default:
            break
        }
        return .handled
    }

    private func sortBy(next step: Int) {
        let columns = allColumns
        let index = columns.firstIndex(of: sort.column) ?? 0
        let column = columns[(index + step + columns.count) % columns.count]
        sort = TopSort(column: column, descending: Self.descendsFirst(column))
    }

    /// Durations sort longest first; words from A.
    private static func descendsFirst(_ column: TopColumn) -> Bool { column == .age || column == .inStatus }

    // MARK: - Cancel

    private struct ResolveFailure: Error {
        var message: String
    }

    /// The row an id (or `id@host`) names.
    private func resolve(_ text: String) -> Result<TopRow, ResolveFailure> {
        var id = text
        var host: String?
        if let at = text.lastIndex(of: "@"), !shownRows.contains(where: { $0.id == text }) {
            id = String(text[..<at])
            host = String(text[text.index(after: at)...])
        }
        let matches = shownRows.filter { row in
            row.id == id && (host.map { row.host == $0 || row.host.hasPrefix($0) } ?? true)
        }
        switch matches.count {
        case 1: return .success(matches[0])
        case 0: return .failure(ResolveFailure(message: "no request \(text) is in flight"))
        default:
            let hosts = matches.map(\.host).joined(separator: ", ")
            return .failure(ResolveFailure(message: "\(id) is in flight on \(hosts): type \(id)@HOST"))
        }
    }

    /// Sends the cancel from a thread of its own; the outcome comes back as a message.
    private func cancel(_ row: TopRow, message: String) {
        let endpoint = poller.endpoints[row.endpointIndex]
        let client = self.client
        let mailbox = self.mailbox
        let updates = poller.updates
        show("cancelling \(row.id) on \(row.host)…")
        do {
            try DetachedThread.start {
                let text: String
                do throws(HTTPClientError) {
                    let response = try CancelCommand.cancel(id: row.id, message: message.isEmpty ? nil : message,
                                                            on: endpoint, client: client)
                    text = CancelCommand.outcome(response, id: row.id, endpoint: endpoint, hasToken: client.token != nil).message
                } catch {
                    text = "cancel \(row.id): \(error.description)"
                }
                mailbox.messages.withLock { $0.append(text) }
                updates.wake()
            }
        } catch {
            show("cancel \(row.id): \(error)")
        }
    }
}
