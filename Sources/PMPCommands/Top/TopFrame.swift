#if canImport(Glibc)
import Glibc
#endif
import PMPClient

/// One screen of `pmp top`, as lines of at most `width` columns: the title, the endpoints that fail, the
/// table of requests in flight, the panel of blocked stacks, and the status line.
struct TopFrame {
    var states: [EndpointState]
    var rows: [TopRow]
    var columns: [TopColumn]
    var sort: TopSort
    var stacks: [BlockedStack]
    var showsStacks: Bool
    var period: Duration
    var paused: Bool
    /// The bottom line: a prompt, a message, or the keys.
    var statusLine: String
    /// Wall-clock seconds since 1970, for the clock in the title.
    var wallClock: Double

    static let gap = 2
    static let keyHelp = "q quit  p pause  s/S sort column  r reverse  1-9 sort by column  k cancel a request"

    /// The lines; `height` nil lays out everything (for --once).
    func lines(width: Int, height: Int?) -> [String] {
        let width = max(20, width)
        var top: [String] = [title(width: width)]
        let failing = states.filter { $0.failure != nil }
        let pending = states.filter { $0.pollCount == 0 }
        let failingBudget = height.map { max(1, $0 / 5) } ?? failing.count
        for (index, state) in failing.enumerated() {
            if index == failingBudget - 1, failing.count > failingBudget {
                let rest = failing[index...].map(\.endpoint.description)
                top.append(CellText.truncated("✗ \(rest.count) more failing: " + rest.joined(separator: ", "), to: width))
                break
            }
            top.append(CellText.truncated(failureLine(state), to: width))
        }
        if !pending.isEmpty, height == nil || top.count < failingBudget + 1 {
            top.append(CellText.truncated("… waiting for the first answer of " + pending.map(\.endpoint.description)
                                            .joined(separator: ", "), to: width))
        }
        top.append("")

        let layout = ColumnLayout(columns: columns, rows: rows, width: width, gap: Self.gap)
        var tableLines = [layout.header(sort: sort)]
        var panel: [String] = []
        if showsStacks {
            panel = ["", CellText.truncated("BLOCKED THREADS  (threads · wait reason · where · longest blocked · stack, leaf first)",
                                            to: width)]
            if stacks.isEmpty { panel.append(states.contains { $0.stacks != nil } ? "  (no thread is blocked)" : "  (no stacks yet)") }
        }

        guard let height else {
            tableLines += rows.isEmpty ? ["  (no request in flight)"] : rows.map { layout.line($0) }
            panel += stacks.map { stackLine($0, width: width) }
            return (top + tableLines + panel + [statusLine]).map { CellText.truncated($0, to: width) }
        }

        // Rows for the table and the panel out of what the title, failures and status line leave.
        let available = max(0, height - top.count - 1 - tableLines.count)
        let stackRows = showsStacks && !stacks.isEmpty ? min(stacks.count, max(2, available / 3)) : 0
        let tableRows = max(1, available - panel.count - stackRows)
        if rows.isEmpty {
            tableLines.append("  (no request in flight)")
        } else if rows.count <= tableRows {
            tableLines += rows.map { layout.line($0) }
        } else {
            tableLines += rows.prefix(max(0, tableRows - 1)).map { layout.line($0) }
            tableLines.append("  … \(rows.count - max(0, tableRows - 1)) more (sorted by \(sort.column.title))")
        }
        panel += stacks.prefix(stackRows).map { stackLine($0, width: width) }
        var lines = (top + tableLines).map { CellText.truncated($0, to: width) }
        let room = height - 1 - lines.count
        if room > 0 { lines += panel.prefix(room).map { CellText.truncated($0, to: width) } }
        while lines.count < height - 1 { lines.append("") }
        lines = Array(lines.prefix(height - 1))
        // The last column of the last line stays empty: writing there could scroll some terminals.
        lines.append(CellText.truncated(statusLine, to: width - 1))
        return lines
    }

    /// What matters first (counts, pause, hidden columns, the sort); the period and the clock only when they fit.
    private func title(width: Int) -> String {
        let up = states.filter(\.isUp).count
        let failing = states.filter { $0.failure != nil }.count
        var parts = ["pmp top", "\(states.count) endpoint\(states.count == 1 ? "" : "s"): \(up) up"
                     + (failing > 0 ? ", \(failing) failing" : "")]
        parts.append("\(rows.count) in flight")
        if paused { parts.append("PAUSED (p resumes)") }
        let hidden = ColumnLayout(columns: columns, rows: rows, width: width, gap: Self.gap).hiddenCount
        parts.append("sort \(sort.column.title) \(sort.descending ? "↓" : "↑")")
        if hidden > 0 { parts.append("\(hidden) column\(hidden == 1 ? "" : "s") hidden") }
        var optionals = ["every " + DurationText.short(seconds: period.seconds).replacing(".0s", with: "s"), clock()]
        if hidden > 0 { optionals.insert("widen the terminal to see them", at: 0) }
        for optional in optionals {
            if (parts + [optional]).joined(separator: " · ").count <= width { parts.append(optional) }
        }
        return CellText.truncated(parts.joined(separator: " · "), to: width)
    }

    private func failureLine(_ state: EndpointState) -> String {
        let since = state.failingSince.map { Deadline.now().seconds(since: $0) }.flatMap { $0 >= 1 ? DurationText.short(seconds: $0) : nil }
        let verb = state.failureAnswered ? "failing" : "unreachable"
        var failure = state.failure ?? ""
        // Messages that start with the endpoint's name need not say it twice.
        if failure.hasPrefix("\(state.endpoint): ") { failure.removeFirst("\(state.endpoint): ".count) }
        return "✗ \(state.endpoint) \(verb): \(failure)" + (since.map { " (for \($0))" } ?? "")
    }

    private func stackLine(_ stack: BlockedStack, width: Int) -> String {
        let threads = CellText.padded(String(stack.threads), to: 5, alignRight: true)
        let reason = CellText.padded(stack.waitReason, to: 22)
        let hosts = CellText.padded(stack.hosts.count == 1 ? stack.hosts[0] : "\(stack.hosts.count) endpoints", to: 21)
        let blocked = CellText.padded(DurationText.short(seconds: stack.longestBlocked), to: 7, alignRight: true)
        let held = stack.holderText.map { "[\($0)] " } ?? ""
        return CellText.truncated("\(threads)  \(reason)  \(hosts)  \(blocked)  \(held)\(stack.summary)", to: width)
    }

    private func clock() -> String {
        var seconds = time_t(wallClock)
        var parts = tm()
        localtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }
}

/// Which columns fit the width, and how wide each is.
struct ColumnLayout {
    /// The columns shown, with their widths.
    private(set) var shown: [(column: TopColumn, width: Int)] = []
    private(set) var hiddenCount = 0
    let gap: Int

    static func cap(_ column: TopColumn) -> Int {
        switch column {
        case .host: return 28
        case .id: return 24
        case .age, .inStatus: return 9
        case .status: return 30
        case .parent: return 24
        case .waitingIn: return 60
        case .attribute: return 40
        }
    }

    static func isNumeric(_ column: TopColumn) -> Bool { column == .age || column == .inStatus }

    init(columns: [TopColumn], rows: [TopRow], width: Int, gap: Int) {
        self.gap = gap
        var used = 0
        for (index, column) in columns.enumerated() {
            let natural = rows.reduce(column.title.count + 2) { max($0, $1.text(column).count) }
            let wanted = min(natural, max(column.title.count + 2, Self.cap(column)))
            let start = used == 0 ? 0 : used + gap
            if start + wanted <= width {
                shown.append((column, wanted))
                used = start + wanted
            } else if width - start >= 6 {
                shown.append((column, width - start))
                used = width
                hiddenCount = columns.count - index - 1
                break
            } else {
                hiddenCount = columns.count - index
                break
            }
        }
    }

    func header(sort: TopSort) -> String {
        join(shown.map { column, width in
            let title = column.title + (column == sort.column ? (sort.descending ? " ↓" : " ↑") : "")
            return CellText.padded(title, to: width, alignRight: Self.isNumeric(column))
        })
    }

    func line(_ row: TopRow) -> String {
        join(shown.map { column, width in CellText.padded(row.text(column), to: width, alignRight: Self.isNumeric(column)) })
    }

    /// The columns shown, in order (number keys pick from these).
    var visibleColumns: [TopColumn] { shown.map(\.column) }

    private func join(_ cells: [String]) -> String {
        var line = cells.joined(separator: String(repeating: " ", count: gap))
        while line.last == " " { line.removeLast() }
        return line
    }
}
