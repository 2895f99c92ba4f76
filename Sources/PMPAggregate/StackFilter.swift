import PMPProfiles

/// Keeps or drops a profile's stacks by their function names: `--match` / `--hide` of `pmp-aggregate`.
public struct StackFilter {
    /// Keep only stacks with a function this matches.
    public var match: Regex<AnyRegexOutput>?
    /// Drop stacks with a function this matches.
    public var hide: Regex<AnyRegexOutput>?

    public init(match: Regex<AnyRegexOutput>? = nil, hide: Regex<AnyRegexOutput>? = nil) {
        self.match = match
        self.hide = hide
    }

    /// The profile with only the stacks that pass; counts and order unchanged.
    public func apply(to profile: Profile) -> Profile {
        guard match != nil || hide != nil else { return profile }
        // Stacks share most of their functions: each name is tested once per regex.
        var matchCache: [String: Bool] = [:]
        var hideCache: [String: Bool] = [:]
        func any(_ stack: Profile.Stack, _ regex: Regex<AnyRegexOutput>, _ cache: inout [String: Bool]) -> Bool {
            stack.frames.contains { frame in
                if let known = cache[frame.function] { return known }
                let found = frame.function.contains(regex)
                cache[frame.function] = found
                return found
            }
        }
        var filtered = profile
        filtered.stacks = profile.stacks.filter { stack in
            if let match, !any(stack, match, &matchCache) { return false }
            if let hide, any(stack, hide, &hideCache) { return false }
            return true
        }
        return filtered
    }
}
