/// Folded stacks.
public enum FoldedRenderer {
    public static func render(_ profile: Profile, options: RenderOptions = RenderOptions()) -> String { "" }
}
