import PMPClient
import PMPProcessTable

/// A column of `pmp top`'s table.
enum TopColumn: Hashable, Sendable {
    case host, id, age, status, inStatus
    /// The entry this one is part of (a span's parent), shown when some entry has one.
    case parent
    /// Where the entry's Swift task is (`pmp top --tasks`), shown when some entry says.
    case waitingIn
    case attribute(String)

    var title: String {
        switch self {
        case .host: return "HOST"
        case .id: return "ID"
        case .age: return "AGE"
        case .status: return "STATUS"
        case .inStatus: return "IN STATUS"
        case .parent: return "PARENT"
        case .waitingIn: return "WAITING IN"
        case .attribute(let name): return TerminalText.escaped(name)
        }
    }

    static let fixed: [TopColumn] = [.host, .id, .age, .status, .inStatus]
}

/// One in-flight entry, from one endpoint, ready to show.
struct TopRow: Sendable {
    var host: String
    var endpointIndex: Int
    var id: String
    /// Seconds since it started, and since its status last changed, on the server's clock.
    var age: Double?
    var inStatus: Double?
    var status: String
    var cancelling: Bool
    var attributes: [String: AttributeValue]
    var parentID: String? = nil
    var waitingIn: String? = nil

    /// The cell's text, control characters escaped (so that widths are measured on what is shown).
    func text(_ column: TopColumn) -> String {
        switch column {
        case .host: return TerminalText.escaped(host)
        case .id: return TerminalText.escaped(id)
        case .age: return DurationText.short(seconds: age)
        case .status: return TerminalText.escaped(cancelling ? status + " [cancelling]" : status)
        case .inStatus: return DurationText.short(seconds: inStatus)
        case .parent: return parentID.map { TerminalText.escaped($0) } ?? ""
        case .waitingIn: return waitingIn.map { TerminalText.escaped($0) } ?? ""
        case .attribute(let name): return attributes[name].map(CompactJSON.render) ?? ""
        }
    }
}

/// How rows are sorted.
struct TopSort: Sendable, Hashable {
    var column: TopColumn = .age
    var descending = true
}

/// The table merged across endpoints: rows, their columns, their order.
enum TopTable {
    /// Every in-flight entry of every endpoint that answered. Ages are the server's (its `serverTime` minus
    /// the entry's times) plus the time since the table arrived, so they tick between polls; `now` is the
    /// moment shown (frozen while paused).
    static func rows(_ states: [EndpointState], now: Deadline) -> [TopRow] {
        var rows: [TopRow] = []
        for (index, state) in states.enumerated() {
            guard let listing = state.listing else { continue }
            let sinceListed = state.listedAt.map { max(0, now.seconds(since: $0)) } ?? 0
            for process in listing.processes {
                func seconds(since time: Int64?) -> Double? {
                    guard let time, let serverTime = listing.serverTime else { return nil }
                    return max(0, Double(serverTime - time) / 1e9 + sinceListed)
                }
                var attributes: [String: AttributeValue] = [:]
                for (name, value) in process.attributes { attributes[name] = value }
                rows.append(TopRow(host: state.endpoint.description, endpointIndex: index, id: process.id,
                                   age: seconds(since: process.startTime), inStatus: seconds(since: process.statusTime),
                                   status: process.status, cancelling: process.cancelling, attributes: attributes,
                                   parentID: process.parentID, waitingIn: process.waitingIn))
            }
        }
        return rows
    }

    /// The fixed columns, then one per attribute name: the most common first (ties by name).
    static func columns(_ rows: [TopRow]) -> [TopColumn] {
        var counts: [String: Int] = [:]
        for row in rows {
            for name in row.attributes.keys { counts[name, default: 0] += 1 }
        }
        let names = counts.keys.sorted { counts[$0]! != counts[$1]! ? counts[$0]! > counts[$1]! : $0 < $1 }
        var columns = TopColumn.fixed
        if rows.contains(where: { $0.parentID != nil }) { columns.append(.parent) }
        if rows.contains(where: { $0.waitingIn != nil }) { columns.append(.waitingIn) }
        return columns + names.map(TopColumn.attribute)
    }

    /// Rows in `sort`'s order; ties (and rows without a value, which come last) by host, then id.
    static func sorted(_ rows: [TopRow], by sort: TopSort) -> [TopRow] {
        rows.sorted { a, b in
            let order = compare(a, b, sort.column)
            if order != 0 {
                // Missing values stay last whichever way the column is sorted.
                if order == 2 || order == -2 { return order < 0 }
                return sort.descending ? order > 0 : order < 0
            }
            if a.host != b.host { return a.host < b.host }
            return a.id < b.id
        }
    }

    /// -1, 0, 1 as usual; -2 / 2 when only `b` / only `a` lacks a value.
    private static func compare(_ a: TopRow, _ b: TopRow, _ column: TopColumn) -> Int {
        switch column {
        case .host: return sign(a.host, b.host)
        case .id: return compareIDs(a.id, b.id)
        case .status: return sign(a.status, b.status)
        case .age: return compareOptional(a.age, b.age)
        case .inStatus: return compareOptional(a.inStatus, b.inStatus)
        case .parent: return compareOptional(a.parentID, b.parentID)
        case .waitingIn: return compareOptional(a.waitingIn, b.waitingIn)
        case .attribute(let name):
            switch (a.attributes[name], b.attributes[name]) {
            case (nil, nil): return 0
            case (nil, _): return 2
            case (_, nil): return -2
            case (.number(let x)?, .number(let y)?): return sign(x, y)
            case (let x?, let y?): return sign(CompactJSON.render(x), CompactJSON.render(y))
            }
        }
    }

    /// Ids that end in numbers ("kqz-9", "kqz-10") sort by the number.
    private static func compareIDs(_ a: String, _ b: String) -> Int {
        let aDigits = a.reversed().prefix { $0.isASCII && $0.isNumber }.count
        let bDigits = b.reversed().prefix { $0.isASCII && $0.isNumber }.count
        if aDigits > 0, bDigits > 0, a.dropLast(aDigits) == b.dropLast(bDigits),
           let x = Int(a.suffix(aDigits).prefix(18)), let y = Int(b.suffix(bDigits).prefix(18)) {
            return sign(x, y)
        }
        return sign(a, b)
    }

    private static func compareOptional<T: Comparable>(_ a: T?, _ b: T?) -> Int {
        switch (a, b) {
        case (nil, nil): return 0
        case (nil, _): return 2
        case (_, nil): return -2
        case (let x?, let y?): return sign(x, y)
        }
    }

    private static func sign<T: Comparable>(_ a: T, _ b: T) -> Int { a < b ? -1 : (a > b ? 1 : 0) }
}
