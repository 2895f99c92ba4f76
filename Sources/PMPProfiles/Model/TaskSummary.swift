/// How the tasks of a capture were found: the line a dump prints before them.
public struct TaskSummary: Sendable, Hashable, Codable {
    /// `scan` (resident memory searched for the task isa) or `none` (no Swift concurrency runtime).
    public var method: String
    /// The runtime's layout, verified at install (`Swift 6.3 x86_64`), or nil when unverified.
    public var layout: String?
    /// Set when tasks are listed with less than every field, or not at all: why.
    public var note: String?
    /// Resident bytes searched, and how long finding and decoding took, in seconds.
    public var scannedBytes: UInt64
    public var seconds: Double
    /// Tasks not listed: the scan ran out of time or room (`note` says which).
    public var incomplete: Bool

    public init(method: String, layout: String? = nil, note: String? = nil, scannedBytes: UInt64 = 0,
                seconds: Double = 0, incomplete: Bool = false) {
        self.method = method
        self.layout = layout
        self.note = note
        self.scannedBytes = scannedBytes
        self.seconds = seconds
        self.incomplete = incomplete
    }
}
