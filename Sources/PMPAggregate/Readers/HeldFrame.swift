/// A frame read from one line and held back until the next line: some formats print a frame's source location
/// on the line after it (eu-stack `-s`, Go tracebacks), and whether it was inlined shows only in the frame after
/// it (eu-stack `-i`). The line's bytes are valid only during `feed`, so the frame's are copied into buffers
/// that are reused from frame to frame: holding a frame allocates only when a name is longer than any before.
struct HeldFrame {
    private(set) var isHeld = false
    private(set) var address: UInt64?
    private var function: [UInt8] = []
    private var image: [UInt8] = []
    private var hasImage = false
    private var file: [UInt8] = []
    private var hasFile = false
    private var line: Int?
    var inlined = false

    init() {
        function.reserveCapacity(256)
        file.reserveCapacity(256)
        image.reserveCapacity(128)
    }

    /// Holds a new frame (the one held before must have been released).
    mutating func hold(function: LineBytes, address: UInt64?, image: LineBytes?, inlined: Bool) {
        isHeld = true
        self.address = address
        self.function.removeAll(keepingCapacity: true)
        self.function.append(contentsOf: function)
        self.image.removeAll(keepingCapacity: true)
        if let image { self.image.append(contentsOf: image) }
        hasImage = image != nil
        hasFile = false
        line = nil
        self.inlined = inlined
    }

    /// The held frame's source location, read from the line after it.
    mutating func locate(file: LineBytes, line: Int?) {
        self.file.removeAll(keepingCapacity: true)
        self.file.append(contentsOf: file)
        hasFile = true
        self.line = line
    }

    /// True when the held frame's function is `name`, byte for byte.
    func hasFunction(_ name: LineBytes) -> Bool {
        function.withUnsafeBufferPointer { $0.elementsEqual(name) }
    }

    /// Hands the held frame to the sink (if there is one) and forgets it.
    mutating func release(into sink: inout some StackSink) {
        guard isHeld else { return }
        isHeld = false
        let hasImage = hasImage, hasFile = hasFile, address = address, line = line, inlined = inlined
        function.withUnsafeBufferPointer { function in
            image.withUnsafeBufferPointer { image in
                file.withUnsafeBufferPointer { file in
                    sink.frame(function: function, address: address, file: hasFile ? file : nil, line: line,
                               image: hasImage ? image : nil, inlined: inlined)
                }
            }
        }
    }

    /// Forgets the held frame without handing it on.
    mutating func drop() {
        isHeld = false
    }
}
