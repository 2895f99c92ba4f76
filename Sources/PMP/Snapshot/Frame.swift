/// One frame of a thread's stack, symbolized.
public struct Frame: Sendable, Hashable, Codable {
    /// The instruction address: the interrupted pc for the leaf, a return address for callers.
    public var address: UInt64
    /// The readable function name (demangled), or "?" when no symbol covers the address.
    public var function: String
    /// Source file and line, when DWARF line info is present.
    public var file: String?
    public var line: Int?
    /// When folded stacks passed this frame at several lines of `file`: those lines, ascending (`line` is nil).
    public var lines: [Int]?
    /// The image (executable or shared library) file name, or "?".
    public var image: String
    /// True for a function inlined into the physical frame that follows it (same address).
    public var inlined: Bool

    public init(address: UInt64, function: String, file: String? = nil, line: Int? = nil, image: String, inlined: Bool = false) {
        self.address = address
        self.function = function
        self.file = file
        self.line = line
        self.image = image
        self.inlined = inlined
    }
}
