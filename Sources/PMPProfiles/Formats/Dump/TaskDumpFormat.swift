/// The task section of a text dump, after the threads: a summary line, then per task a header and its async
/// backtrace in the frame lines threads use.
///
///     pmp[4242.1] tasks found=3 method=scan layout="Swift 6.3 x86_64 (size 208, layout 1)" scanned=8388608 elapsed=2.400ms
///     pmp[4242.1] task 12 "conn-0" [suspended on continuation, 2.074s] prio=21 base=21
///     pmp[4242.1]   #0  0x000055d1c3a1b2c4 Gate.park() at /src/Gate.swift:13 in pmp-demo
///     pmp[4242.1]   #1  0x000055d1c3a1b400 static Server.handle(_:) at /src/Server.swift:21 in pmp-demo
///     pmp[4242.1] task 26 [suspended on task 61] prio=21 base=21 children=61
///     pmp[4242.1] task 61 [running on thread 4250] prio=21 base=21 parent=26 awaited-by=26 kind=async-let cancelled
///
/// The header: id, the name quoted when the task has one, the state in brackets (`running on thread T`,
/// `enqueued on the global executor`, `enqueued on actor M.A 0x…`, `suspended on continuation`, `suspended on
/// task N`, `suspended on task group`, `sleeping`, `not started`, `suspended`) with `, SECONDS` suspended when
/// known, then `prio=`, `base=` (when known), `parent=`, `children=` and `awaited-by=` (comma-separated ids,
/// each only when not empty), `kind=` (`async-let`, `group-child`, `child`), `cancelled`. The summary line
/// gives `note="…"` when tasks are shown with less than every field or some are missing, and `incomplete`
/// when the search stopped early.
enum TaskDumpFormat {
    static func summaryLine(_ summary: TaskSummary, count: Int) -> String {
        var line = "tasks found=\(count) method=\(summary.method)"
        if let layout = summary.layout { line += " layout=" + QuotedString.quote(layout) }
        line += " scanned=\(summary.scannedBytes) elapsed=\(Decimal3.format(summary.seconds * 1000))ms"
        if summary.incomplete { line += " incomplete" }
        if let note = summary.note { line += " note=" + QuotedString.quote(note) }
        return line
    }

    static func headerLine(_ task: TaskSnapshot) -> String {
        var line = "task \(task.id) "
        if let name = task.name { line += QuotedString.quote(name) + " " }
        line += "[" + task.state.text
        if let seconds = task.suspendedFor { line += ", \(Decimal3.format(seconds))s" }
        line += "] prio=\(task.priority)"
        if let base = task.basePriority { line += " base=\(base)" }
        if let parent = task.parent { line += " parent=\(parent)" }
        if !task.children.isEmpty { line += " children=" + task.children.map(String.init).joined(separator: ",") }
        if !task.awaitedBy.isEmpty { line += " awaited-by=" + task.awaitedBy.map(String.init).joined(separator: ",") }
        if let kind = task.kind { line += " kind=\(kind)" }
        if task.cancelled { line += " cancelled" }
        return line
    }

    /// Emits the section (nothing when the capture did not look for tasks).
    static func render(_ snapshot: Snapshot, tag: String, _ emit: (String, String) -> Void) {
        guard let summary = snapshot.taskSummary else { return }
        emit(tag, summaryLine(summary, count: snapshot.tasks.count))
        var stackLines: [[Frame]: [String]] = [:]
        for task in snapshot.tasks {
            emit(tag, headerLine(task))
            let lines: [String]
            if let known = stackLines[task.frames] {
                lines = known
            } else {
                lines = task.frames.enumerated().map { DumpRenderer.frameLine(index: $0.offset, $0.element) }
                stackLines[task.frames] = lines
            }
            for line in lines { emit(tag, line) }
            if task.truncated { emit(tag, "  ... truncated at \(task.frames.count) frames") }
        }
    }

    /// `found=… method=… layout="…" scanned=… elapsed=…ms [incomplete] [note="…"]` (after `tasks `).
    static func parseSummary(_ body: Substring) -> TaskSummary? {
        var summary = TaskSummary(method: "")
        var rest = body
        while !rest.isEmpty {
            rest = rest.drop(while: { $0 == " " })
            guard !rest.isEmpty else { break }
            if rest.hasPrefix("incomplete") {
                summary.incomplete = true
                rest = rest.dropFirst("incomplete".count)
                continue
            }
            guard let equals = rest.firstIndex(of: "=") else { return nil }
            let key = rest[..<equals]
            var value = rest[rest.index(after: equals)...]
            let text: String
            if value.first == "\"" {
                guard let (quoted, after) = QuotedString.unquote(value) else { return nil }
                text = quoted
                value = after
            } else {
                let end = value.firstIndex(of: " ") ?? value.endIndex
                text = String(value[..<end])
                value = value[end...]
            }
            rest = value
            switch key {
            case "method": summary.method = text
            case "layout": summary.layout = text
            case "note": summary.note = text
            case "scanned": summary.scannedBytes = UInt64(text) ?? 0
            case "elapsed":
                guard text.hasSuffix("ms"), let ms = Double(text.dropLast(2)) else { return nil }
                summary.seconds = (ms * 1000).rounded() / 1e6
            default: break
            }
        }
        return summary.method.isEmpty ? nil : summary
    }

    /// `ID ["NAME"] [STATE(, 1.234s)] prio=… …` (after `task `).
    static func parseHeader(_ body: Substring) -> TaskSnapshot? {
        guard let space = body.firstIndex(of: " "), let id = UInt64(body[..<space]) else { return nil }
        var rest = body[body.index(after: space)...]
        var name: String?
        if rest.first == "\"" {
            guard let (quoted, after) = QuotedString.unquote(rest) else { return nil }
            name = quoted
            rest = after.drop(while: { $0 == " " })
        }
        guard rest.first == "[", let close = rest.lastIndex(of: "]") else { return nil }
        var stateText = rest[rest.index(after: rest.startIndex)..<close]
        var suspendedFor: Double?
        if let comma = stateText.lastRange(of: ", "), stateText.hasSuffix("s"),
           let seconds = Double(stateText[comma.upperBound...].dropLast()) {
            suspendedFor = seconds
            stateText = stateText[..<comma.lowerBound]
        }
        guard let state = TaskState(text: stateText) else { return nil }
        var task = TaskSnapshot(id: id, name: name, state: state, suspendedFor: suspendedFor)
        func ids(_ text: Substring) -> [UInt64] { text.split(separator: ",").compactMap { UInt64($0) } }
        for token in rest[rest.index(after: close)...].split(separator: " ") {
            if token == "cancelled" { task.cancelled = true; continue }
            guard let equals = token.firstIndex(of: "=") else { continue }
            let value = token[token.index(after: equals)...]
            switch token[..<equals] {
            case "prio": task.priority = Int(value) ?? 0
            case "base": task.basePriority = Int(value)
            case "parent": task.parent = UInt64(value)
            case "children": task.children = ids(value)
            case "awaited-by": task.awaitedBy = ids(value)
            case "kind": task.kind = String(value)
            default: break
            }
        }
        return task
    }
}
