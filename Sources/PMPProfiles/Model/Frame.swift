/// One frame of a thread's stack, symbolized.
public struct Frame: Sendable, Hashable, Codable {
    /// The instruction address: the interrupted pc for the leaf, a return address for callers.
    public var address: UInt64
    /// The name shown: demangled as Swift's crash backtracer prints it (`closure #1 in static
    /// Workers.startThread(name:_:)`), or "?" when no symbol covers the address.
    public var function: String
    /// The complete demangled name, with module, parameter and return types; `function` when there is no other.
    /// Tells apart functions whose short names agree (overloads by type), so it is what stacks fold by.
    public var fullFunction: String
    /// Source file and line, when DWARF line info is present.
    public var file: String?
    public var line: Int?
    /// When folded stacks passed this frame at several lines of `file`: those lines, ascending (`line` is nil).
    public var lines: [Int]?
    /// The image (executable or shared library) file name, or "?".
    public var image: String
    /// True for a function inlined into the physical frame that follows it (same address).
    public var inlined: Bool

    public init(address: UInt64, function: String, fullFunction: String? = nil, file: String? = nil, line: Int? = nil,
                image: String, inlined: Bool = false) {
        self.address = address
        self.function = function
        self.fullFunction = fullFunction ?? function
        self.file = file
        self.line = line
        self.image = image
        self.inlined = inlined
    }

    /// The frame showing its full name.
    public var showingFullName: Frame {
        var frame = self
        frame.function = fullFunction
        return frame
    }

    // The full name is compared but not hashed: frames that differ in it alone are rare (they differ in
    // address too), and hashing long stacks of long names over and over is what folding costs.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(address)
        hasher.combine(function)
        hasher.combine(file)
        hasher.combine(line)
        hasher.combine(image)
        hasher.combine(inlined)
    }

    private enum CodingKeys: String, CodingKey {
        case address, function, fullFunction, file, line, image, inlined
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        address = try container.decode(UInt64.self, forKey: .address)
        function = try container.decode(String.self, forKey: .function)
        fullFunction = try container.decodeIfPresent(String.self, forKey: .fullFunction) ?? function
        file = try container.decodeIfPresent(String.self, forKey: .file)
        line = try container.decodeIfPresent(Int.self, forKey: .line)
        image = try container.decode(String.self, forKey: .image)
        inlined = try container.decode(Bool.self, forKey: .inlined)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(address, forKey: .address)
        try container.encode(function, forKey: .function)
        try container.encode(fullFunction, forKey: .fullFunction)
        try container.encodeIfPresent(file, forKey: .file)
        try container.encodeIfPresent(line, forKey: .line)
        try container.encode(image, forKey: .image)
        try container.encode(inlined, forKey: .inlined)
    }
}
