/// The profile facts pprof has no field for, kept as its free-form comments (`go tool pprof -comments`) in a
/// `key: value` form that the parser reads back.
enum PprofComments {
    private static let source = "source: "
    private static let captures = "captures: "
    private static let dropped = "dropped samples: "
    private static let unanswered = "unanswered samples: "
    private static let requestedRate = "requested rate: "
    private static let achievedRate = "achieved rate: "

    static func lines(for profile: Profile) -> [String] {
        var lines: [String] = []
        if let value = profile.source { lines.append(source + value) }
        if profile.captures > 0 { lines.append(captures + String(profile.captures)) }
        if let rate = profile.requestedRate { lines.append(requestedRate + String(rate) + " Hz") }
        if let rate = profile.achievedRate { lines.append(achievedRate + String(rate) + " Hz") }
        if profile.droppedSamples > 0 { lines.append(dropped + String(profile.droppedSamples)) }
        if profile.unansweredSamples > 0 { lines.append(unanswered + String(profile.unansweredSamples)) }
        return lines
    }

    /// Takes what a comment written by `lines(for:)` says; other comments are left alone.
    static func read(_ comment: String, into profile: inout Profile) {
        if comment.hasPrefix(source) {
            profile.source = String(comment.dropFirst(source.count))
        } else if comment.hasPrefix(captures), let value = Int(comment.dropFirst(captures.count)) {
            profile.captures = value
        } else if comment.hasPrefix(requestedRate), comment.hasSuffix(" Hz"),
                  let value = Double(comment.dropFirst(requestedRate.count).dropLast(3)) {
            profile.requestedRate = value
        } else if comment.hasPrefix(achievedRate), comment.hasSuffix(" Hz"),
                  let value = Double(comment.dropFirst(achievedRate.count).dropLast(3)) {
            profile.achievedRate = value
        } else if comment.hasPrefix(dropped), let value = Int(comment.dropFirst(dropped.count)) {
            profile.droppedSamples = value
        } else if comment.hasPrefix(unanswered), let value = Int(comment.dropFirst(unanswered.count)) {
            profile.unansweredSamples = value
        }
    }
}
