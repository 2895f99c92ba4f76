/// A self-contained SVG flame graph.
public enum FlameGraphRenderer {
    public static func render(_ profile: Profile, options: RenderOptions = RenderOptions()) -> String { "" }
}
