/// What one span may put into the process table. Spans come from libraries the service does not control (an HTTP
/// client's URLs, a database driver's statements), so every part of an entry is bounded.
public struct ProcessTableTracerLimits: Sendable, Hashable {
    /// Span attributes kept per entry (besides `operation`); further names are counted in `dropped-attributes`.
    public var maxAttributes: Int
    /// UTF-8 bytes of a string value, the operation name, a status from an event or an error; longer ones are cut
    /// at a character boundary and end in "…".
    public var maxStringBytes: Int
    /// UTF-8 bytes of an attribute name; longer names are cut the same way.
    public var maxNameBytes: Int
    /// Elements kept of an array attribute.
    public var maxArrayElements: Int
    /// Spans in flight with an entry of their own, for all spans of this tracer together. Beyond it spans are still
    /// forwarded (and end as usual there) but get no entry; their children name the nearest ancestor that has one.
    /// With the defaults an entry holds at most ~70 KB of attributes (32 × 8 elements × 256 bytes, the worst
    /// case; a few hundred bytes is usual), so the table's spans stay within ~140 MB even then.
    public var maxInFlightSpans: Int

    public init(maxAttributes: Int = 32, maxStringBytes: Int = 256, maxNameBytes: Int = 64, maxArrayElements: Int = 8,
                maxInFlightSpans: Int = 2_000) {
        self.maxAttributes = max(0, maxAttributes)
        // Room for at least one character and the ellipsis.
        self.maxStringBytes = max(8, maxStringBytes)
        self.maxNameBytes = max(8, maxNameBytes)
        self.maxArrayElements = max(0, maxArrayElements)
        self.maxInFlightSpans = max(0, maxInFlightSpans)
    }
}
