/// Folded stacks, one line per stack: `root;…;leaf COUNT` (flamegraph.pl, speedscope, Pyroscope's folded
/// ingest). With `byState` the wait reason comes first as `[reason]`, with `byThread` the thread-name pattern
/// as `{pattern}`, and a profile kept per process starts each line with `<process>`; stacks that render the
/// same line are summed. Semicolons and line breaks inside names become
/// commas and spaces (the format has no escapes).
public enum FoldedRenderer {
    public static func render(_ profile: Profile, options: RenderOptions = RenderOptions()) -> String {
        var order: [String] = []
        var counts: [String: Int] = [:]
        for stack in profile.stacks {
            var parts: [String] = []
            parts.reserveCapacity(stack.frames.count + 3)
            if let process = stack.process { parts.append("<" + clean(process) + ">") }
            parts += StackLabels.names(for: stack, options: options).map(clean)
            for frame in stack.frames.reversed() { parts.append(clean(frame.function)) }
            if parts.isEmpty { parts.append("[no frames]") }
            let line = parts.joined(separator: ";")
            if counts[line] == nil { order.append(line) }
            counts[line, default: 0] += stack.count
        }
        let lines = order.map { ($0, counts[$0]!) }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
        var out = ""
        for (line, count) in lines { out += line + " " + String(count) + "\n" }
        return out
    }

    static func clean(_ name: String) -> String {
        guard name.contains(where: { $0 == ";" || $0.isNewline }) else { return name }
        return String(name.map { $0 == ";" ? "," : ($0.isNewline ? " " : $0) })
    }
}
