/// The profile as JSON.
public enum ProfileJSON {
    public static func render(_ profile: Profile) -> String { "" }
}
