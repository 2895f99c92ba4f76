/// The pseudo-frames put above a stack's root to split a graph by thread and by state, written the way
/// `FoldedRenderer` writes them: `{worker-#}` for the thread-name pattern (`byThread`), `[condition wait]` for
/// the wait reason (`byState`), thread outermost. Used by the folded, flame graph and speedscope renderers; the
/// folded and speedscope parsers read them back.
enum StackLabels {
    static func thread(_ pattern: String) -> String { "{" + pattern + "}" }
    static func state(_ reason: WaitReason) -> String { "[" + reason.rawValue + "]" }

    /// The labels of `stack` that `options` ask for, root-most first.
    static func names(for stack: Profile.Stack, options: RenderOptions) -> [String] {
        var names: [String] = []
        if options.byThread, let pattern = stack.threadName { names.append(thread(pattern)) }
        if options.byState, let reason = stack.waitReason { names.append(state(reason)) }
        return names
    }

    /// The thread-name pattern in a label written by `thread(_:)`.
    static func threadPattern(in name: String) -> String? {
        guard name.count >= 2, name.hasPrefix("{"), name.hasSuffix("}") else { return nil }
        return String(name.dropFirst().dropLast())
    }

    /// The wait reason in a label written by `state(_:)`.
    static func waitReason(in name: String) -> WaitReason? {
        guard name.count >= 2, name.hasPrefix("["), name.hasSuffix("]") else { return nil }
        return WaitReason(String(name.dropFirst().dropLast()))
    }
}
