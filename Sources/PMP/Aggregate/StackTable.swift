/// The folded stacks of one aggregation: frames interned by `FoldKey` straight from the readers' bytes, stacks
/// counted by their frame-id arrays, the first full frame seen per id kept for output. Bounded: past
/// `maxStacks` distinct stacks, samples of new ones are counted as dropped (and their new names not stored).
final class StackTable {
    let options: AggregateOptions
    // The table is fed on one thread, by one aggregation at a time: the per-access exclusivity checks of a
    // class's stored properties (a good share of the time on large inputs) are turned off.

    /// What a frame id stands for: the first frame seen with its key.
    private struct FrameRecord {
        var function: Int32
        var file: Int32
        var image: Int32
        var line: Int
        var address: UInt64
        var hasAddress: Bool
        var inlined: Bool
    }

    @exclusivity(unchecked) private var frameKeys = ByteInterner(capacity: 4096)
    @exclusivity(unchecked) private var frameRecords: [FrameRecord] = []
    /// Functions, files and images of the kept frames.
    @exclusivity(unchecked) private var strings = ByteInterner(capacity: 4096)
    @exclusivity(unchecked) private var stackKeys = ByteInterner(capacity: 4096)
    @exclusivity(unchecked) private var stackCounts: [Int] = []
    @exclusivity(unchecked) private var states = ByteInterner(capacity: 64)
    @exclusivity(unchecked) private var processes = ByteInterner(capacity: 64)
    @exclusivity(unchecked) private var scratch: [UInt8] = []

    @exclusivity(unchecked) private(set) var dumps = [Int](repeating: 0, count: DumpFormat.allCases.count)
    @exclusivity(unchecked) private(set) var stacksRead = 0
    @exclusivity(unchecked) private(set) var samples = 0
    @exclusivity(unchecked) private(set) var droppedSamples = 0
    @exclusivity(unchecked) private(set) var emptyStacks = 0
    @exclusivity(unchecked) private(set) var emptySamples = 0

    init(options: AggregateOptions) {
        self.options = options
        scratch.reserveCapacity(1024)
    }

    var distinctStacks: Int { stackCounts.count }

    private var isFull: Bool { stackCounts.count >= options.maxStacks }

    func countDump(_ format: DumpFormat) {
        dumps[Self.formatIndex(format)] += 1
    }

    func dumpCounts() -> [DumpFormat: Int] {
        var counts: [DumpFormat: Int] = [:]
        for (index, format) in DumpFormat.allCases.enumerated() where dumps[index] > 0 { counts[format] = dumps[index] }
        return counts
    }

    private static func formatIndex(_ format: DumpFormat) -> Int {
        DumpFormat.allCases.firstIndex(of: format)!
    }

    func internState(_ state: LineBytes?) -> Int32 {
        guard let state, state.count > 0 else { return -1 }
        return states.intern(state, insert: states.count < 4096)?.id ?? -1
    }

    func internProcess(_ process: LineBytes?) -> Int32 {
        guard let process, process.count > 0 else { return -1 }
        return processes.intern(process, insert: processes.count < 65536)?.id ?? -1
    }

    /// The id of the frame's fold key; -1 when the frame is new and the table is full.
    @inline(__always)
    func internFrame(function: LineBytes, address: UInt64?, file: LineBytes?, line: Int?, image: LineBytes?,
                     inlined: Bool) -> Int32 {
        let found: (id: Int32, inserted: Bool)?
        switch options.foldBy {
        case .function:
            found = frameKeys.intern(function, insert: !isFull)
        case .functionAndLine:
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: function)
            scratch.append(0)
            if let file { scratch.append(contentsOf: file) }
            scratch.append(0)
            if let line { withUnsafeBytes(of: line) { scratch.append(contentsOf: $0) } }
            found = scratch.withUnsafeBytes { frameKeys.intern($0, insert: !isFull) }
        case .address:
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: function)
            scratch.append(0)
            if let address { withUnsafeBytes(of: address) { scratch.append(contentsOf: $0) } }
            found = scratch.withUnsafeBytes { frameKeys.intern($0, insert: !isFull) }
        }
        guard let found else { return -1 }
        if found.inserted {
            frameRecords.append(FrameRecord(
                function: strings.intern(function)!.id,
                file: file.map { strings.intern($0)!.id } ?? -1,
                image: image.map { strings.intern($0)!.id } ?? -1,
                line: line ?? -1, address: address ?? 0, hasAddress: address != nil, inlined: inlined))
        }
        return found.id
    }

    /// Counts a finished stack. `key` holds Int32s: state id, process id, then `frames` frame ids.
    func addStack(key: UnsafeRawBufferPointer, frames: Int, count: Int, incomplete: Bool) {
        stacksRead += 1
        samples += count
        if frames == 0 {
            emptyStacks += 1
            emptySamples += count
            return
        }
        guard !incomplete, let found = stackKeys.intern(key, insert: !isFull) else {
            droppedSamples += count
            return
        }
        if found.inserted {
            stackCounts.append(count)
        } else {
            stackCounts[Int(found.id)] += count
        }
    }

    /// The folded stacks, most frequent first (first seen first among equals).
    func profile(source: String?) -> Profile {
        var frameCache = [Frame?](repeating: nil, count: frameRecords.count)
        var stateNames: [WaitReason] = (0..<states.count).map { WaitReason(states.string(Int32($0))) }
        var processNames: [String] = (0..<processes.count).map { processes.string(Int32($0)) }
        var stacks: [Profile.Stack] = []
        stacks.reserveCapacity(stackCounts.count)
        for (id, count) in stackCounts.enumerated() {
            // Keys sit at any offset of the arena: read them unaligned.
            let values: [Int32] = stackKeys.withKey(Int32(id)) { raw in
                (0..<raw.count / 4).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self) }
            }
            let state = values[0], process = values[1], ids = values[2...]
            var frames: [Frame] = []
            frames.reserveCapacity(ids.count)
            for frameID in ids {
                if let frame = frameCache[Int(frameID)] {
                    frames.append(frame)
                } else {
                    let frame = makeFrame(frameRecords[Int(frameID)])
                    frameCache[Int(frameID)] = frame
                    frames.append(frame)
                }
            }
            stacks.append(Profile.Stack(frames: frames, count: count,
                                        waitReason: state >= 0 ? stateNames[Int(state)] : nil,
                                        process: process >= 0 ? processNames[Int(process)] : nil))
        }
        stateNames.removeAll()
        processNames.removeAll()
        // A stable sort keeps first-seen order among equal counts.
        let order = stacks.indices.sorted { stacks[$0].count != stacks[$1].count ? stacks[$0].count > stacks[$1].count : $0 < $1 }
        return Profile(stacks: order.map { stacks[$0] }, captures: dumps.reduce(0, +),
                       droppedSamples: droppedSamples, unansweredSamples: emptySamples, source: source)
    }

    private func makeFrame(_ record: FrameRecord) -> Frame {
        let symbol = strings.string(record.function)
        var function = (short: symbol, full: symbol)
        if options.demangle, let first = symbol.utf8.first, first == UInt8(ascii: "$") || first == UInt8(ascii: "_") {
            function = Demangler.names(symbol)
        }
        return Frame(address: record.address, function: function.short, fullFunction: function.full,
                     file: record.file >= 0 ? strings.string(record.file) : nil,
                     line: record.line >= 0 ? record.line : nil,
                     image: record.image >= 0 ? strings.string(record.image) : "?",
                     inlined: record.inlined)
    }
}
