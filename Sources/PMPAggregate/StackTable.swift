import PMPProfiles

/// The folded stacks of one aggregation: frames interned by `FoldKey` straight from the readers' bytes, stacks
/// counted by their frame-id arrays, the first full frame seen per id kept for output. Bounded: past
/// `maxStacks` distinct stacks, samples of new ones are counted as dropped (and their new names not stored).
///
/// When frames fold by function (or by address), the frames of one distinct stack may come from different
/// lines: each distinct stack keeps, per frame, the source locations its own samples had, so that a frame shows
/// its own line, or the lines it covers, never one another stack had. Likewise each distinct stack keeps the
/// wait reasons of its samples (with their counts) when they are not part of the key.
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
    /// Files and lines of frames (`keepsLocations`): FILE, NUL, the line's 8 bytes.
    @exclusivity(unchecked) private var locationKeys = ByteInterner(capacity: 1024)
    /// Per distinct stack, per frame: its location id, -1 for none, -(2 + n) for `multipleLocations[n]`.
    @exclusivity(unchecked) private var stackLocations: [[Int32]] = []
    /// Locations of frames that had more than one (at most `locationsPerFrame`; `tooManyLocations` after).
    @exclusivity(unchecked) private var multipleLocations: [[Int32]] = []
    /// Per distinct stack: its samples' state id, -1 for none, -2 when they differ (see `mixedStates`).
    @exclusivity(unchecked) private var stackStates: [Int32] = []
    /// The states, with their samples, of the distinct stacks whose samples had different ones.
    @exclusivity(unchecked) private var mixedStates: [Int: [Int32: Int]] = [:]

    /// Distinct lines kept per frame; past it the frame shows its file without a line.
    static let locationsPerFrame = 8
    private static let tooManyLocations = Int32.min

    @exclusivity(unchecked) private(set) var dumps = [Int](repeating: 0, count: DumpFormat.allCases.count)
    @exclusivity(unchecked) private(set) var stacksRead = 0
    @exclusivity(unchecked) private(set) var samples = 0
    @exclusivity(unchecked) private(set) var droppedSamples = 0
    @exclusivity(unchecked) private(set) var droppedStacks = 0
    @exclusivity(unchecked) private(set) var emptyStacks = 0
    @exclusivity(unchecked) private(set) var emptySamples = 0
    /// Stacks cut to the frame limit, and the frames cut off them.
    @exclusivity(unchecked) private(set) var stacksCut = 0
    @exclusivity(unchecked) private(set) var framesDropped = 0
    /// Stacks kept in the profile that are tasks' async backtraces.
    @exclusivity(unchecked) private(set) var taskStacksKept = 0
    /// Stacks of the kind `AggregateOptions.kinds` leaves out (not in `stacksRead`), threads and tasks.
    @exclusivity(unchecked) private(set) var threadStacksLeftOut = 0
    @exclusivity(unchecked) private(set) var taskStacksLeftOut = 0
    /// Names cut to `AggregateOptions.nameLimit` bytes.
    @exclusivity(unchecked) private(set) var namesTruncated = 0

    init(options: AggregateOptions) {
        self.options = options
        scratch.reserveCapacity(1024)
    }

    var distinctStacks: Int { stackCounts.count }

    /// Frames of one distinct stack may differ in their lines: true unless lines are part of the fold key.
    var keepsLocations: Bool { options.foldBy != .functionAndLine }

    func countCut(droppedFrames: Int) {
        stacksCut += 1
        framesDropped += droppedFrames
    }

    func countLeftOut(task: Bool, count: Int) {
        if task { taskStacksLeftOut += count } else { threadStacksLeftOut += count }
    }

    func countTruncatedName() {
        namesTruncated += 1
    }

    /// The id of a frame's file and line; -1 without a file or when too many distinct ones were seen.
    func internLocation(file: LineBytes?, line: Int?) -> Int32 {
        guard let file else { return -1 }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: file)
        scratch.append(0)
        withUnsafeBytes(of: line ?? -1) { scratch.append(contentsOf: $0) }
        return scratch.withUnsafeBytes { locationKeys.intern($0, insert: locationKeys.count < 1 << 20) }?.id ?? -1
    }

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
                // Folded by function, the key is the name: not stored twice (-1).
                function: options.foldBy == .function ? -1 : strings.intern(function)!.id,
                file: file.map { strings.intern($0)!.id } ?? -1,
                image: image.map { strings.intern($0)!.id } ?? -1,
                line: line ?? -1, address: address ?? 0, hasAddress: address != nil, inlined: inlined))
        }
        return found.id
    }

    /// Counts a finished stack. `key` holds Int32s: state id, process id, then `frames` frame ids.
    func addStack(key: UnsafeRawBufferPointer, frames: Int, count: Int, incomplete: Bool, state: Int32 = -1,
                  locations: UnsafeBufferPointer<Int32> = UnsafeBufferPointer(start: nil, count: 0), task: Bool = false) {
        stacksRead += 1
        samples += count
        if frames == 0 {
            emptyStacks += 1
            emptySamples += count
            return
        }
        guard !incomplete, let found = stackKeys.intern(key, insert: !isFull) else {
            droppedStacks += 1
            droppedSamples += count
            return
        }
        if task { taskStacksKept += 1 }
        let id = Int(found.id)
        if found.inserted {
            stackCounts.append(count)
            stackStates.append(state)
            if keepsLocations { stackLocations.append(Array(locations)) }
            return
        }
        addState(state, count: count, to: id)
        stackCounts[id] += count
        if keepsLocations, locations.count == stackLocations[id].count {
            for (index, location) in locations.enumerated() where location >= 0 {
                addLocation(location, frame: index, of: id)
            }
        }
    }

    private func addState(_ state: Int32, count: Int, to id: Int) {
        let known = stackStates[id]
        if known == state { return }
        if known != -2 {
            stackStates[id] = -2
            mixedStates[id] = [known: stackCounts[id]]
        }
        mixedStates[id]![state, default: 0] += count
    }

    private func addLocation(_ location: Int32, frame index: Int, of id: Int) {
        let known = stackLocations[id][index]
        if known == location { return }
        if known == -1 {
            stackLocations[id][index] = location
        } else if known >= 0 {
            stackLocations[id][index] = -2 - Int32(multipleLocations.count)
            multipleLocations.append([known, location])
        } else {
            let set = Int(-2 - known)
            guard !multipleLocations[set].contains(location) else { return }
            if multipleLocations[set].count < Self.locationsPerFrame {
                multipleLocations[set].append(location)
            } else if multipleLocations[set].last != Self.tooManyLocations {
                multipleLocations[set].append(Self.tooManyLocations)
            }
        }
    }

    /// The file and line (or lines) of a frame of a distinct stack, from the locations its samples had.
    private func location(_ value: Int32) -> (file: String?, line: Int?, lines: [Int]?) {
        if value == -1 { return (nil, nil, nil) }
        let ids = value >= 0 ? [value] : multipleLocations[Int(-2 - value)]
        guard !ids.contains(Self.tooManyLocations) else {
            let files = Set(ids.filter { $0 != Self.tooManyLocations }.map { locationFile($0) })
            return (files.count == 1 ? files.first : nil, nil, nil)
        }
        let decoded = ids.map { (file: locationFile($0), line: locationLine($0)) }
        let files = Set(decoded.map(\.file))
        guard files.count == 1 else { return (nil, nil, nil) }
        let lines = Set(decoded.compactMap(\.line)).sorted()
        if decoded.count == 1 { return (decoded[0].file, decoded[0].line, nil) }
        return (decoded[0].file, nil, lines.isEmpty ? nil : lines)
    }

    private func locationFile(_ id: Int32) -> String {
        locationKeys.withKey(id) { raw in
            String(decoding: raw.prefix(raw.count - 9), as: UTF8.self)
        }
    }

    private func locationLine(_ id: Int32) -> Int? {
        let line = locationKeys.withKey(id) { raw in raw.loadUnaligned(fromByteOffset: raw.count - 8, as: Int.self) }
        return line >= 0 ? line : nil
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
            for (index, frameID) in ids.enumerated() {
                var frame: Frame
                if let cached = frameCache[Int(frameID)] {
                    frame = cached
                } else {
                    frame = makeFrame(frameRecords[Int(frameID)], id: frameID)
                    frameCache[Int(frameID)] = frame
                }
                if keepsLocations {
                    // The first frame seen with this key may have been at another line: this stack's own.
                    let own = location(stackLocations[id][index])
                    frame.file = own.file
                    frame.line = own.line
                    frame.lines = own.lines
                }
                frames.append(frame)
            }
            // The samples' own wait reason, when they share one; their reasons and counts when they do not.
            let sampleState = stackStates[id]
            let shownState = state >= 0 ? state : sampleState
            var reasonCounts: [String: Int]?
            if state < 0, sampleState == -2, let mixed = mixedStates[id] {
                reasonCounts = Dictionary(uniqueKeysWithValues: mixed.map { entry in
                    (entry.key >= 0 ? stateNames[Int(entry.key)].rawValue : "", entry.value)
                })
            }
            stacks.append(Profile.Stack(frames: frames, count: count,
                                        waitReason: shownState >= 0 ? stateNames[Int(shownState)] : nil,
                                        process: process >= 0 ? processNames[Int(process)] : nil,
                                        waitReasonCounts: reasonCounts))
        }
        stateNames.removeAll()
        processNames.removeAll()
        // A stable sort keeps first-seen order among equal counts.
        let order = stacks.indices.sorted { stacks[$0].count != stacks[$1].count ? stacks[$0].count > stacks[$1].count : $0 < $1 }
        return Profile(stacks: order.map { stacks[$0] }, captures: dumps.reduce(0, +),
                       droppedSamples: droppedSamples, unansweredSamples: emptySamples, source: source)
    }

    private func makeFrame(_ record: FrameRecord, id: Int32) -> Frame {
        let symbol = record.function >= 0 ? strings.string(record.function) : frameKeys.string(id)
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
