/// PMP text.
public enum ProfileTextRenderer {
    public static func render(_ profile: Profile, options: RenderOptions = RenderOptions()) -> String { "" }
}
