/// PMP text: the classic poor man's profiler report. One block per distinct stack, most frequent first: a line
/// with the count, the wait reason in brackets (the reasons with their counts when several folded together),
/// the thread-name pattern and the process when known, then one
/// frame per line (leaf first by default, like the original script; root first on request).
///
///     # swift-pmp profile: 300 samples, 100 captures over 1.002 s at 99.8 Hz (100 Hz asked)
///     # stacks leaf first
///
///         200  [condition wait]  thread "worker-#"
///             __futex_abstimed_wait_common64  at ./nptl/futex-internal.c:57
///             pthread_cond_wait@@GLIBC_2.3.2
///             Demo.conditionWorker()  at Sources/pmp-demo/Workers.swift:40
///
/// A frame that folded stacks passed at several lines shows them all (`at main.go:18, 22`).
public enum ProfileTextRenderer {
    public static func render(_ profile: Profile, options: RenderOptions = RenderOptions()) -> String {
        var out = "# swift-pmp profile: \(profile.sampleCount) samples"
        if profile.captures > 0 { out += ", \(profile.captures) \(profile.requestedRate == nil ? "dumps" : "captures")" }
        if profile.duration > 0 { out += " over \(formatFixed(profile.duration, digits: 3)) s" }
        if let achieved = profile.achievedRate { out += " at \(formatFixed(achieved, digits: 1)) Hz" }
        if let requested = profile.requestedRate { out += " (\(formatFixed(requested, digits: 0)) Hz asked)" }
        out += "\n"
        if profile.droppedSamples > 0 || profile.unansweredSamples > 0 {
            out += "# \(profile.droppedSamples) samples dropped (distinct-stack limit), \(profile.unansweredSamples) unanswered\n"
        }
        if let source = profile.source { out += "# source: \(oneLine(source))\n" }
        out += options.rootFirst ? "# stacks root first\n" : "# stacks leaf first\n"
        let width = max(7, String(profile.stacks.first?.count ?? 0).count)
        for stack in profile.stacks {
            out += "\n"
            let count = String(stack.count)
            out += String(repeating: " ", count: width - count.count) + count
            if let reason = stack.waitReason {
                out += "  [\(oneLine(reason.rawValue))]"
            } else if let reasons = stack.waitReasonCounts, !reasons.isEmpty {
                // Most samples first: "[chan receive 100, select 50]".
                let ordered = reasons.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                out += "  [" + ordered.map { "\(oneLine($0.key.isEmpty ? "?" : $0.key)) \($0.value)" }.joined(separator: ", ") + "]"
            }
            if let thread = stack.threadName { out += "  thread \(QuotedString.quote(thread))" }
            if let process = stack.process { out += "  process \(QuotedString.quote(process))" }
            out += "\n"
            let frames = options.rootFirst ? Array(stack.frames.reversed()) : stack.frames
            for frame in frames {
                out += String(repeating: " ", count: width + 4) + oneLine(frame.function)
                if let file = frame.file {
                    out += "  at \(oneLine(file))"
                    if let line = frame.line {
                        out += ":\(line)"
                    } else if let lines = frame.lines, !lines.isEmpty {
                        out += ":" + lines.map(String.init).joined(separator: ", ")
                    }
                }
                out += "\n"
            }
        }
        return out
    }

    static func oneLine(_ text: String) -> String {
        text.contains(where: \.isNewline) ? String(text.map { $0.isNewline ? " " : $0 }) : text
    }
}

func formatFixed(_ value: Double, digits: Int) -> String {
    guard value.isFinite else { return String(value) }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    let whole = Int(scaled / scale)
    var text = (value < 0 && scaled > 0 ? "-" : "") + String(whole)
    if digits > 0 {
        let fraction = String(Int(scaled - Double(whole) * scale))
        text += "." + String(repeating: "0", count: max(0, digits - fraction.count)) + fraction
    }
    return text
}
