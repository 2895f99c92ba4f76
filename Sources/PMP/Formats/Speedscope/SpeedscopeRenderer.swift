/// speedscope's file format.
public enum SpeedscopeRenderer {
    public static func render(_ profile: Profile, options: RenderOptions = RenderOptions()) -> String { "" }
}
