/// The formats a profile can be written in.
public enum ProfileFormat: String, Sendable, Hashable, CaseIterable, Codable {
    /// PMP text: count, then the stack, most frequent first.
    case text
    /// `root;…;leaf COUNT` lines (flamegraph.pl, speedscope, Pyroscope).
    case folded
    /// The profile as JSON (shape in the README).
    case json
    /// gzipped pprof protobuf (`go tool pprof`).
    case pprof
    /// speedscope's file format.
    case speedscope
    /// A self-contained SVG flame graph.
    case svg

    /// The format a file name asks for, from its extension: .txt, .folded, .json, .pb.gz/.pprof, .speedscope.json, .svg.
    public static func forFileName(_ name: String) -> ProfileFormat? {
        let lower = name.lowercased()
        if lower.hasSuffix(".speedscope.json") { return .speedscope }
        if lower.hasSuffix(".pb.gz") || lower.hasSuffix(".pprof") || lower.hasSuffix(".pb") { return .pprof }
        if lower.hasSuffix(".folded") || lower.hasSuffix(".collapsed") { return .folded }
        if lower.hasSuffix(".svg") { return .svg }
        if lower.hasSuffix(".json") { return .json }
        if lower.hasSuffix(".txt") || lower.hasSuffix(".text") { return .text }
        return nil
    }

    /// The HTTP content type of the rendered bytes.
    public var contentType: String {
        switch self {
        case .text, .folded: return "text/plain; charset=utf-8"
        case .json, .speedscope: return "application/json"
        case .pprof: return "application/octet-stream"
        case .svg: return "image/svg+xml"
        }
    }
}

/// Choices every renderer understands (each ignores what does not apply to it).
public struct RenderOptions: Sendable, Hashable {
    /// Stacks printed from the root down (text); leaf-first is the classic poor man's profiler order.
    public var rootFirst: Bool
    /// Put the wait reason in the stack as its root-most frame (folded, flame graphs, speedscope, pprof label).
    public var byState: Bool
    /// Put the thread-name pattern in the stack as a root frame, when the profile kept it.
    public var byThread: Bool
    /// A title for formats that show one (SVG, speedscope).
    public var title: String
    /// Frames show their complete demangled names rather than the short ones (`Frame.fullFunction`).
    public var fullNames: Bool

    public init(rootFirst: Bool = false, byState: Bool = false, byThread: Bool = false, title: String = "swift-pmp profile",
                fullNames: Bool = false) {
        self.rootFirst = rootFirst
        self.byState = byState
        self.byThread = byThread
        self.title = title
        self.fullNames = fullNames
    }
}

extension Profile {
    /// The profile written in `format`.
    public func rendered(as format: ProfileFormat, options: RenderOptions = RenderOptions()) -> [UInt8] {
        if options.fullNames {
            var options = options
            options.fullNames = false
            return showingFullNames.rendered(as: format, options: options)
        }
        switch format {
        case .text: return Array(ProfileTextRenderer.render(self, options: options).utf8)
        case .folded: return Array(FoldedRenderer.render(self, options: options).utf8)
        case .json: return Array(ProfileJSON.render(self).utf8)
        case .pprof: return PprofRenderer.render(self, options: options)
        case .speedscope: return Array(SpeedscopeRenderer.render(self, options: options).utf8)
        case .svg: return Array(FlameGraphRenderer.render(self, options: options).utf8)
        }
    }
}
