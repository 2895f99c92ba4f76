import PMPProfiles

/// What every parsed profile goes through: each renderer, in both orders, and the pprof round trip, which must
/// read back what was written.
public enum ProfileHarness {
    public static func render(_ profile: Profile) {
        let options = RenderOptions(rootFirst: profile.stacks.count % 2 == 0, byState: true, byThread: true)
        for format in ProfileFormat.allCases {
            _ = profile.rendered(as: format, options: options)
        }
        let pprof = profile.rendered(as: .pprof)
        do {
            _ = try PprofParser.parse(pprof)
        } catch {
            fatalError("a profile written as pprof does not read back: \(error)")
        }
    }
}
