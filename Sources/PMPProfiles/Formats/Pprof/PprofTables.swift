/// The tables of a pprof message being written: strings, functions, locations and mappings, each entry made once
/// and referred to by index or id.
struct PprofTables {
    /// Functions are told apart by their full names: short ones can agree for different functions.
    private struct FunctionKey: Hashable {
        var fullName: String
        var file: String?
    }

    private struct FunctionEntry {
        var name: Int64
        /// 0 when the full name is the name.
        var systemName: Int64
        var file: Int64
    }

    private struct LocationEntry {
        var mappingID: UInt64
        var address: UInt64
        /// (function id, line), innermost first.
        var lines: [(UInt64, Int64)]
    }

    private struct MappingEntry {
        var filename: Int64
        var lowestAddress = UInt64.max
        var highestAddress: UInt64 = 0
        var hasFilenames = false
        var hasLineNumbers = false
        var hasInlineFrames = false
    }

    /// The string table; index 0 is "" as the format requires.
    private(set) var strings: [String] = [""]
    private var stringIndex: [String: Int64] = ["": 0]
    private var functionIDs: [FunctionKey: UInt64] = [:]
    private var functions: [FunctionEntry] = []
    /// A location is a physical frame with the frames inlined into it, keyed by all of them; most have no
    /// inlined frames and are kept apart, keyed by the frame alone (cheaper to hash and compare).
    private var singleFrameLocationIDs: [Frame: UInt64] = [:]
    private var inlinedLocationIDs: [[Frame]: UInt64] = [:]
    private var locations: [LocationEntry] = []
    private var mappingIDs: [String: UInt64] = [:]
    private var mappings: [MappingEntry] = []

    mutating func string(_ value: String) -> Int64 {
        if let index = stringIndex[value] { return index }
        let index = Int64(strings.count)
        strings.append(value)
        stringIndex[value] = index
        return index
    }

    /// The location ids of a stack, leaf first. Inlined frames join the physical frame that follows them.
    mutating func locationIDs(leafFirst frames: [Frame]) -> [UInt64] {
        var ids: [UInt64] = []
        ids.reserveCapacity(frames.count)
        var groupStart = frames.startIndex
        for index in frames.indices where !frames[index].inlined || index == frames.index(before: frames.endIndex) {
            ids.append(locationID(frames[groupStart...index]))
            groupStart = index + 1
        }
        return ids
    }

    private mutating func locationID(_ group: ArraySlice<Frame>) -> UInt64 {
        if group.count == 1 {
            let frame = group[group.startIndex]
            if let id = singleFrameLocationIDs[frame] { return id }
            let id = newLocation(group)
            singleFrameLocationIDs[frame] = id
            return id
        }
        let frames = Array(group)
        if let id = inlinedLocationIDs[frames] { return id }
        let id = newLocation(group)
        inlinedLocationIDs[frames] = id
        return id
    }

    private mutating func newLocation(_ group: ArraySlice<Frame>) -> UInt64 {
        let physical = group[group.index(before: group.endIndex)]
        let mappingID = mapping(for: group)
        let symbolized = group.contains { $0.function != "?" }
        let lines: [(UInt64, Int64)] = symbolized ? group.map { (function(for: $0), Int64($0.line ?? 0)) } : []
        locations.append(LocationEntry(mappingID: mappingID, address: physical.address, lines: lines))
        return UInt64(locations.count)
    }

    private mutating func function(for frame: Frame) -> UInt64 {
        let key = FunctionKey(fullName: frame.fullFunction, file: frame.file)
        if let id = functionIDs[key] { return id }
        functions.append(FunctionEntry(name: string(frame.function),
                                       systemName: frame.fullFunction == frame.function ? 0 : string(frame.fullFunction),
                                       file: frame.file.map { string($0) } ?? 0))
        let id = UInt64(functions.count)
        functionIDs[key] = id
        return id
    }

    /// The mapping of the group's image (0, none, for an unknown image), widened to cover its address.
    private mutating func mapping(for group: ArraySlice<Frame>) -> UInt64 {
        let physical = group[group.index(before: group.endIndex)]
        guard physical.image != "?" else { return 0 }
        let id: UInt64
        if let known = mappingIDs[physical.image] {
            id = known
        } else {
            mappings.append(MappingEntry(filename: string(physical.image)))
            id = UInt64(mappings.count)
            mappingIDs[physical.image] = id
        }
        let index = Int(id) - 1
        mappings[index].lowestAddress = min(mappings[index].lowestAddress, physical.address)
        mappings[index].highestAddress = max(mappings[index].highestAddress, physical.address)
        for frame in group {
            if frame.file != nil { mappings[index].hasFilenames = true }
            if frame.line != nil { mappings[index].hasLineNumbers = true }
            if frame.inlined { mappings[index].hasInlineFrames = true }
        }
        return id
    }

    /// Mappings in the order pprof reads them: the first is taken as the main binary (its "File:" line), so an
    /// executable (the first image that is not a shared library) goes first.
    func writeMappings(into message: inout ProtobufWriter) {
        var order = Array(mappings.indices)
        if let executable = mappings.firstIndex(where: { !strings[Int($0.filename)].contains(".so") }) {
            order.remove(at: executable)
            order.insert(executable, at: 0)
        }
        for offset in order {
            let mapping = mappings[offset]
            message.writeMessage(PprofSchema.Profile.mapping) { entry in
                entry.writeVarint(PprofSchema.Mapping.id, UInt64(offset + 1))
                entry.writeVarint(PprofSchema.Mapping.memoryStart, mapping.lowestAddress)
                // The limit is exclusive.
                entry.writeVarint(PprofSchema.Mapping.memoryLimit, mapping.highestAddress &+ 1)
                entry.writeInt64(PprofSchema.Mapping.filename, mapping.filename)
                // Always: symbols are resolved already, and our address ranges are only the addresses seen, so
                // pprof must not look for the file to symbolize it again (it would find wrong names, or warn).
                entry.writeBool(PprofSchema.Mapping.hasFunctions, true)
                entry.writeBool(PprofSchema.Mapping.hasFilenames, mapping.hasFilenames)
                entry.writeBool(PprofSchema.Mapping.hasLineNumbers, mapping.hasLineNumbers)
                entry.writeBool(PprofSchema.Mapping.hasInlineFrames, mapping.hasInlineFrames)
            }
        }
    }

    func writeLocations(into message: inout ProtobufWriter) {
        for (offset, location) in locations.enumerated() {
            message.writeMessage(PprofSchema.Profile.location) { entry in
                entry.writeVarint(PprofSchema.Location.id, UInt64(offset + 1))
                if location.mappingID != 0 { entry.writeVarint(PprofSchema.Location.mappingID, location.mappingID) }
                if location.address != 0 { entry.writeVarint(PprofSchema.Location.address, location.address) }
                for (functionID, line) in location.lines {
                    entry.writeMessage(PprofSchema.Location.line) { lineEntry in
                        lineEntry.writeVarint(PprofSchema.Line.functionID, functionID)
                        if line != 0 { lineEntry.writeInt64(PprofSchema.Line.line, line) }
                    }
                }
            }
        }
    }

    func writeFunctions(into message: inout ProtobufWriter) {
        for (offset, function) in functions.enumerated() {
            message.writeMessage(PprofSchema.Profile.function) { entry in
                entry.writeVarint(PprofSchema.Function.id, UInt64(offset + 1))
                entry.writeInt64(PprofSchema.Function.name, function.name)
                // system_name only when it differs (the full name): one equal to the name makes pprof take it
                // for raw C++ and strip every "(…)" and "<…>" from what it shows.
                if function.systemName != 0 { entry.writeInt64(PprofSchema.Function.systemName, function.systemName) }
                if function.file != 0 { entry.writeInt64(PprofSchema.Function.filename, function.file) }
            }
        }
    }
}
