/// Writes a snapshot as Go's counted goroutine profile (`/debug/pprof/goroutine?debug=1`): threads with the same
/// stack and the same thread-name pattern fold into one block with a count, most frequent first.
///
///     goroutine profile: total 14
///     5 @ 0x7f5a1c2d3e4f 0x7f5a1c2d6a10 0x55d1c3a1b2c4
///     # labels: {"thread":"cond-#"}
///     #	0x7f5a1c2d3e4f	__futex_abstimed_wait_common64			./nptl/futex-internal.c:57
///     #	0x7f5a1c2d3e4f	__futex_abstimed_wait_common			./nptl/futex-internal.c:87
///     #	0x7f5a1c2d6a10	pthread_cond_wait@@GLIBC_2.3.2			./nptl/pthread_cond_wait.c:618
///     #	0x55d1c3a1b2c4	static pmp_demo.Workers.blockedInConditionWait() -> ()	/src/Workers.swift:43
///
/// The "@" line lists each physical frame's address once; the "#" lines list every frame, inlined ones too (at
/// the address of the frame they were inlined into), padded with tabs into columns as Go's tabwriter does. A
/// frame without a symbol is its address alone, one without source its address and function. The thread-name
/// pattern ("worker-#") is the block's label, as Go prints profiler labels. Go's `+0x…` offsets are left out
/// (a frame does not carry its symbol's start). Threads whose stack could not be captured have no addresses to
/// list and are left out: the total counts the threads shown.
///
/// Swift tasks are goroutines too: their async backtraces fold into blocks of their own, labelled with the
/// task's state as folds name it (`# labels: {"state":"task suspended on continuation"}`); a task not started
/// yet has no frames and is left out.
public enum GoProfileRenderer {
    public static func render(_ snapshot: Snapshot) -> String {
        struct Key: Hashable {
            var frames: [Frame]
            /// The label's key and value: the thread-name pattern, or a task's state.
            var label: String
            var value: String
        }
        var order: [Key] = []
        var counts: [Key: Int] = [:]
        func count(_ key: Key) {
            if counts[key] == nil { order.append(key) }
            counts[key, default: 0] += 1
        }
        for thread in snapshot.threads where !thread.frames.isEmpty {
            count(Key(frames: thread.frames, label: "thread", value: ThreadNamePattern.of(thread.name)))
        }
        for task in snapshot.tasks where !task.frames.isEmpty {
            count(Key(frames: task.frames, label: "state", value: task.state.foldedText))
        }
        // Most frequent first; equal counts in the order the threads came.
        let blocks = order.enumerated().sorted { a, b in
            let (countA, countB) = (counts[a.element]!, counts[b.element]!)
            return countA != countB ? countA > countB : a.offset < b.offset
        }.map(\.element)

        var text = "goroutine profile: total \(counts.values.reduce(0, +))\n"
        for key in blocks {
            text += String(counts[key]!) + " @"
            for frame in key.frames where !frame.inlined { text += " " + hex(frame.address) }
            text += "\n"
            text += "# labels: {" + quoted(key.label) + ":" + quoted(key.value) + "}\n"
            let rows = key.frames.map { frame -> [String] in
                var cells = ["#", hex(frame.address)]
                guard frame.function != "?" else { return cells }
                cells.append(oneLine(frame.function))
                if let file = frame.file { cells.append(oneLine(file) + ":" + String(frame.line ?? 0)) }
                return cells
            }
            text += TabColumns.lines(rows)
            text += "\n"
        }
        return text
    }

    /// `0x` and the lowercase hex digits without leading zeros, as Go's `%#x`.
    static func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

    /// Tabs and line breaks inside a cell would split it: blanks instead.
    static func oneLine(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) else { return text }
        return String(text.map { $0 == "\t" || $0.isNewline ? " " : $0 })
    }

    /// A JSON string (Go prints labels with `%q`, whose escapes agree with JSON's for names like these).
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let digits = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// Go's `text/tabwriter` as runtime/pprof sets it up (minimum width 1, tab width 8, padding 1, padded with tabs):
/// every cell but a row's last is followed by enough tabs to reach its column's width, which is the widest cell
/// of the column plus one, rounded up to a multiple of 8. A column spans the consecutive rows that have it.
enum TabColumns {
    static func lines(_ rows: [[String]]) -> String {
        let columnCount = rows.map(\.count).max() ?? 0
        // widths[row][column]: the width of the column block the cell belongs to.
        var widths = rows.map { [Int](repeating: 0, count: max(0, $0.count - 1)) }
        for column in 0..<max(0, columnCount - 1) {
            var blockStart = 0
            while blockStart < rows.count {
                guard rows[blockStart].count > column + 1 else {
                    blockStart += 1
                    continue
                }
                var blockEnd = blockStart
                var widest = 0
                while blockEnd < rows.count, rows[blockEnd].count > column + 1 {
                    widest = max(widest, rows[blockEnd][column].unicodeScalars.count)
                    blockEnd += 1
                }
                let width = (widest + 1 + 7) / 8 * 8
                for row in blockStart..<blockEnd { widths[row][column] = width }
                blockStart = blockEnd
            }
        }
        var text = ""
        for (rowIndex, row) in rows.enumerated() {
            for (column, cell) in row.enumerated() {
                text += cell
                if column < row.count - 1 {
                    let tabs = (widths[rowIndex][column] - cell.unicodeScalars.count + 7) / 8
                    text += String(repeating: "\t", count: max(1, tabs))
                }
            }
            text += "\n"
        }
        return text
    }
}
