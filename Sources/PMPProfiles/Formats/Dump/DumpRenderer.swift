import PMPSupport
/// The goroutine-style text dump. Every line starts with a tag `pmp[PID.SEQ]` so that a dump can be found and
/// put back together from a log, whatever prefix a logging framework puts before each line and whatever else
/// is interleaved:
///
///     pmp[4242.1] dump pid=4242 time=2026-11-26T20:51:01.123Z threads=3 captured=2 elapsed=1.250ms depth=128
///     pmp[4242.1] thread 4243 "cond-0" [condition wait, 12.345s] state=S cpu=0.010s
///     pmp[4242.1]   #0  0x00007f5a1c2d3e4f __futex_abstimed_wait_common in libc.so.6
///     pmp[4242.1]   #1  0x00007f5a1c2d6a10 pthread_cond_wait in libc.so.6
///     pmp[4242.1]   #2  0x000055d1c3a1b2c4 static Workers.blockedInConditionWait() at /src/Workers.swift:42 in pmp-demo
///     pmp[4242.1]   ... truncated at 128 frames
///     pmp[4242.1] thread 4251 "worker-3" [mutex lock, held by thread 4252 "lock-holder", 3.200s] state=S cpu=0.001s
///     pmp[4242.1]   #0  0x00007f5a1c2d4a2b __lll_lock_wait in libc.so.6
///     pmp[4242.1] thread 4250 "blocker" [no answer: signal blocked] state=S cpu=0.000s
///     pmp[4242.1] thread 4252 "pool" [running] state=R cpu=1.250s task=61
///     pmp[4242.1]   #0  0x000055d1c3a1b2c4 Server.parse() at /src/Server.swift:30 in pmp-demo
///     pmp[4242.1]   #1  0x00007f5a1c2e0a10 swift_job_run in libswift_Concurrency.so
///     pmp[4242.1]   ^0  0x000055d1c3a1b2c4 Server.handle() at /src/Server.swift:21 in pmp-demo
///     pmp[4242.1] tasks found=1 method=scan layout="Swift 6.3 x86_64 (size 208, layout 1)" scanned=8388608 elapsed=2.400ms
///     pmp[4242.1] task 61 "conn-0" [running on thread 4252] prio=21 base=21
///     pmp[4242.1]   #0  0x000055d1c3a1b2c4 Server.handle() at /src/Server.swift:21 in pmp-demo
///     pmp[4242.1] end
///
/// The bracket holds the wait reason, then `, held by thread TID "NAME"` when the lock waited for names its
/// holder (the name, quoted like the thread's, is left out when unknown), then `, SECONDS` blocked when known.
///
/// `task=N` names the Swift task a thread was running, and the `^N` lines after the thread's frames continue its
/// stack with that task's async frames, out to the task's entry (its callers are suspended, on no thread's
/// stack). They repeat the task's own frames in the task section, described in `TaskDumpFormat`; readers take
/// the frames from there, and a fold counts them once, as the task's stack.
///
/// Frame lines: index, address, `[inlined] ` for a function inlined into the next frame, the function (its
/// short name, as Swift's crash backtracer prints it; `Snapshot.showingFullNames` for the complete ones),
/// ` at FILE[:LINE]` when known, ` in IMAGE`. File and image have spaces and `%` percent-encoded; the thread
/// name is a quoted string with backslash escapes.
public enum DumpRenderer {
    /// The dump as lines, without line terminators.
    public static func lines(_ snapshot: Snapshot, sequence: Int = 1) -> [String] {
        var lines: [String] = []
        lines.reserveCapacity(snapshot.threads.count * 16 + 2)
        render(snapshot, sequence: sequence) { tag, body in lines.append(tag + body) }
        return lines
    }

    /// The dump as one string, each line ending in a newline.
    /// `dropped`: dumps dropped before this one (the writer was behind), shown as `dropped=N` when not 0.
    public static func text(_ snapshot: Snapshot, sequence: Int = 1, dropped: Int = 0) -> String {
        var text = ""
        text.reserveCapacity(snapshot.threads.count * 1500)
        render(snapshot, sequence: sequence, dropped: dropped) { tag, body in
            text += tag
            text += body
            text += "\n"
        }
        return text
    }

    /// Streams the dump's lines to `emit` as (tag, rest of the line).
    public static func render(_ snapshot: Snapshot, sequence: Int, dropped: Int = 0, _ emit: (String, String) -> Void) {
        let tag = "pmp[\(snapshot.pid).\(sequence)] "
        emit(tag, "dump pid=\(snapshot.pid) time=\(Timestamp.iso8601(snapshot.time)) threads=\(snapshot.threads.count)"
            + " captured=\(snapshot.capturedCount) elapsed=\(Decimal3.format(snapshot.elapsed * 1000))ms depth=\(snapshot.maxDepth)"
            + (dropped > 0 ? " dropped=\(dropped)" : ""))
        // Threads mostly share a few stacks: format each distinct stack's lines once.
        var stackLines: [[Frame]: [String]] = [:]
        let runningTasks = runningTaskFrames(snapshot)
        for thread in snapshot.threads {
            var reason = thread.failure.map { DumpLine.noAnswer.description + $0.rawValue } ?? thread.waitReason.rawValue
            if let holder = thread.heldBy { reason += heldByText(holder) }
            if let blocked = thread.blockedFor { reason += ", \(Decimal3.format(blocked))s" }
            emit(tag, "thread \(thread.tid) \(QuotedString.quote(thread.name)) [\(reason)] state=\(thread.kernelState)"
                + " cpu=\(Decimal3.format(thread.cpuTime))s" + (thread.task.map { " task=\($0)" } ?? ""))
            guard !thread.frames.isEmpty || thread.truncated else { continue }
            let lines: [String]
            if let known = stackLines[thread.frames] {
                lines = known
            } else {
                lines = thread.frames.enumerated().map { frameLine(index: $0.offset, $0.element) }
                stackLines[thread.frames] = lines
            }
            for line in lines { emit(tag, line) }
            if thread.truncated { emit(tag, "  ... truncated at \(thread.frames.count) frames") }
            if let task = thread.task, let frames = runningTasks[task] {
                for (index, frame) in frames.enumerated() { emit(tag, frameLine(index: index, frame, marker: "^")) }
            }
        }
        TaskDumpFormat.render(snapshot, tag: tag, emit)
        emit(tag, "end")
    }

    /// The text that joins a holder to the reason: `, held by thread 1234 "lock-holder"` (no name when unknown).
    static let heldByMarker = DumpLine.heldByMarker.description

    static func heldByText(_ holder: LockHolder) -> String {
        heldByMarker + "\(holder.tid)" + (holder.name.map { " " + QuotedString.quote($0) } ?? "")
    }

    /// The async frames of each task a thread runs, by task id (tasks without frames left out).
    private static func runningTaskFrames(_ snapshot: Snapshot) -> [UInt64: [Frame]] {
        let running = Set(snapshot.threads.compactMap(\.task))
        guard !running.isEmpty else { return [:] }
        var frames: [UInt64: [Frame]] = [:]
        for task in snapshot.tasks where running.contains(task.id) && !task.frames.isEmpty {
            frames[task.id] = frames[task.id] ?? task.frames
        }
        return frames
    }

    /// `  #N  0xADDR …`; `marker` `^` for a running task's async frame continuing a thread's stack.
    static func frameLine(index: Int, _ frame: Frame, marker: Character = "#") -> String {
        var line = "  \(marker)\(index)"
        if index < 10 { line += " " }
        line += " " + Hex.address(frame.address) + " "
        if frame.inlined { line += "[inlined] " }
        line += frame.function
        if let file = frame.file {
            line += " at " + PercentEscape.encode(file)
            if let number = frame.line { line += ":\(number)" }
        }
        line += " in " + PercentEscape.encode(frame.image)
        return line
    }
}

enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// `0x` and 16 hex digits.
    static func address(_ value: UInt64) -> String {
        var bytes = [UInt8](repeating: 0, count: 18)
        bytes[0] = UInt8(ascii: "0")
        bytes[1] = UInt8(ascii: "x")
        var rest = value
        for position in stride(from: 17, through: 2, by: -1) {
            bytes[position] = digits[Int(rest & 0xF)]
            rest >>= 4
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Fixed three decimals, without Foundation: 1.5 → "1.500".
enum Decimal3 {
    static func format(_ value: Double) -> String {
        // A value read from a hostile file may be huge, infinite or NaN: held to what UInt64 thousandths hold.
        let negative = value < 0
        let magnitude = value.isNaN ? 0 : min(abs(value), 1e15)
        let thousandths = UInt64((magnitude * 1000).rounded())
        let fraction = thousandths % 1000
        let padded = fraction < 10 ? "00\(fraction)" : (fraction < 100 ? "0\(fraction)" : "\(fraction)")
        return (negative ? "-" : "") + "\(thousandths / 1000).\(padded)"
    }
}

/// Spaces and percent signs of file and image names, percent-encoded so they stay one token.
enum PercentEscape {
    static func encode(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x20 || $0 == 0x25 || $0 < 0x20 }) else { return text }
        var out = ""
        for byte in text.utf8 {
            if byte == 0x20 || byte == 0x25 || byte < 0x20 {
                out += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0xF, radix: 16, uppercase: true)
            } else {
                out.unicodeScalars.append(Unicode.Scalar(byte))
                if byte >= 0x80 { return encodeSlow(text) }
            }
        }
        return out
    }

    private static func encodeSlow(_ text: String) -> String {
        var bytes: [UInt8] = []
        for byte in text.utf8 {
            if byte == 0x20 || byte == 0x25 || byte < 0x20 {
                bytes.append(UInt8(ascii: "%"))
                bytes.append(contentsOf: String(byte >> 4, radix: 16, uppercase: true).utf8)
                bytes.append(contentsOf: String(byte & 0xF, radix: 16, uppercase: true).utf8)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func decode<S: StringProtocol>(_ text: S) -> String { PercentEncoding.decode(text) }
}

/// A double-quoted string with backslash escapes for `"`, `\` and control characters.
enum QuotedString {
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u{" + String(scalar.value, radix: 16) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// Reads a quoted string at the start of `text`; returns it and the rest after the closing quote.
    static func unquote(_ text: Substring) -> (String, Substring)? {
        guard text.first == "\"" else { return nil }
        var out = String.UnicodeScalarView()
        var scalars = text.unicodeScalars.dropFirst()
        while let scalar = scalars.popFirst() {
            if scalar == "\"" { return (String(out), Substring(scalars)) }
            if scalar == "\\" {
                guard let next = scalars.popFirst() else { return nil }
                switch next {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "u":
                    guard scalars.popFirst() == "{", let close = scalars.firstIndex(of: "}"),
                          let value = UInt32(String(scalars[..<close]), radix: 16), let decoded = Unicode.Scalar(value)
                    else { return nil }
                    out.append(decoded)
                    scalars = scalars[scalars.index(after: close)...]
                default: out.append(next)
                }
                continue
            }
            out.append(scalar)
        }
        return nil
    }
}
