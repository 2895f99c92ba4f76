import PMPSupport
/// Reads a pprof profile (gzipped or not) back into a `Profile`: what `PprofRenderer` writes, and other
/// programs' profiles as far as they fit (the `samples`/count value, or the first, is taken as the count).
///
/// Each sample becomes a stack, leaf first; a location's lines become frames, the ones inlined into the last
/// marked `inlined`. Labels `thread`, `state` and `process` become the stack's thread name, wait reason and
/// process. Samples with the same locations and labels are summed; stacks come most frequent first.
public enum PprofParser {
    /// Why bytes could not be read as a pprof profile.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case decompression(String)
        case protobuf(ProtobufError)
        case invalid(String)

        public var description: String {
            switch self {
            case .decompression(let why): return "not a readable gzip file: \(why)"
            case .protobuf(let error): return "not a pprof profile: \(error)"
            case .invalid(let why): return "invalid pprof profile: \(why)"
            }
        }
    }

    private struct RawSample {
        var locationIDs: [UInt64] = []
        var values: [Int64] = []
        var labels: [(key: Int64, value: Int64)] = []
    }

    private struct RawLocation {
        var mappingID: UInt64 = 0
        var address: UInt64 = 0
        var lines: [(functionID: UInt64, line: Int64)] = []
    }

    private struct RawFunction {
        var name: Int64 = 0
        var systemName: Int64 = 0
        var filename: Int64 = 0
    }

    /// Samples are summed by their location ids and labels (cheap to hash), not by their frames.
    private struct StackKey: Hashable {
        var locationIDs: [UInt64]
        var waitReason: WaitReason?
        var threadName: String?
        var process: String?
    }

    /// How large a gzipped profile may inflate to, by default: far above real profiles, and a bound on what a
    /// gzip bomb (a kilobyte can inflate to a megabyte) costs.
    public static let defaultMaxInflatedBytes = 256 << 20

    /// `maxInflatedBytes` bounds the profile once inflated; beyond it the file is refused (`decompression`).
    public static func parse(_ bytes: [UInt8], maxInflatedBytes: Int = defaultMaxInflatedBytes) throws(Failure) -> Profile {
        var message = bytes
        if Gzip.isCompressed(bytes) {
            do {
                message = try Gzip.decompress(bytes, maxOutputBytes: maxInflatedBytes)
            } catch {
                throw .decompression(error.description)
            }
        }
        do {
            return try decode(message)
        } catch let error as ProtobufError {
            throw .protobuf(error)
        } catch let error as Failure {
            throw error
        } catch {
            throw .invalid("\(error)")
        }
    }

    /// The message's fields as read, before any index is resolved.
    private struct RawProfile {
        var strings: [String] = []
        var sampleTypes: [(type: Int64, unit: Int64)] = []
        var samples: [RawSample] = []
        var mappings: [UInt64: Int64] = [:]
        var locations: [UInt64: RawLocation] = [:]
        var functions: [UInt64: RawFunction] = [:]
        var comments: [Int64] = []
        var timeNanos: Int64 = 0
        var durationNanos: Int64 = 0
        var period: Int64 = 0

        func string(_ index: Int64) throws(Failure) -> String {
            guard index >= 0, index < strings.count else { throw .invalid("string index \(index) out of the table") }
            return strings[Int(index)]
        }
    }

    private static func decode(_ message: [UInt8]) throws -> Profile {
        let raw = try readFields(of: message)
        guard raw.strings.first == "" else { throw Failure.invalid("the string table does not start with \"\"") }
        let stacks = try foldSamples(of: raw, countIndex: try countValueIndex(of: raw))
        return try assemble(stacks, metadataOf: raw)
    }

    // MARK: - Reading the fields

    private static func readFields(of message: [UInt8]) throws -> RawProfile {
        var raw = RawProfile()
        var reader = ProtobufReader(message[...])
        while let field = try reader.next() {
            switch field.number {
            case PprofSchema.Profile.stringTable: raw.strings.append(try text(field))
            case PprofSchema.Profile.sampleType: raw.sampleTypes.append(try readValueType(field))
            case PprofSchema.Profile.sample: raw.samples.append(try readSample(field))
            case PprofSchema.Profile.mapping:
                let (id, filename) = try readMapping(field)
                raw.mappings[id] = filename
            case PprofSchema.Profile.location:
                let (id, location) = try readLocation(field)
                raw.locations[id] = location
            case PprofSchema.Profile.function:
                let (id, function) = try readFunction(field)
                raw.functions[id] = function
            case PprofSchema.Profile.timeNanos: raw.timeNanos = try integer(field)
            case PprofSchema.Profile.durationNanos: raw.durationNanos = try integer(field)
            case PprofSchema.Profile.period: raw.period = try integer(field)
            case PprofSchema.Profile.comment: raw.comments += try field.integers().map { Int64(bitPattern: $0) }
            default: break
            }
        }
        return raw
    }

    private static func readValueType(_ field: ProtobufReader.Field) throws -> (type: Int64, unit: Int64) {
        var valueType = (type: Int64(0), unit: Int64(0))
        try forEachField(of: field) { inner in
            if inner.number == PprofSchema.ValueType.type { valueType.type = try integer(inner) }
            if inner.number == PprofSchema.ValueType.unit { valueType.unit = try integer(inner) }
        }
        return valueType
    }

    private static func readSample(_ field: ProtobufReader.Field) throws -> RawSample {
        var sample = RawSample()
        try forEachField(of: field) { inner in
            switch inner.number {
            case PprofSchema.Sample.locationID: sample.locationIDs += try inner.integers()
            case PprofSchema.Sample.value: sample.values += try inner.integers().map { Int64(bitPattern: $0) }
            case PprofSchema.Sample.label:
                var label = (key: Int64(0), value: Int64(0))
                try forEachField(of: inner) { labelField in
                    if labelField.number == PprofSchema.Label.key { label.key = try integer(labelField) }
                    if labelField.number == PprofSchema.Label.str { label.value = try integer(labelField) }
                }
                // Numeric labels (num) have no string: skipped.
                if label.value != 0 { sample.labels.append(label) }
            default: break
            }
        }
        return sample
    }

    /// A mapping's id and file name: all of it a stack needs.
    private static func readMapping(_ field: ProtobufReader.Field) throws -> (id: UInt64, filename: Int64) {
        var id: UInt64 = 0
        var filename: Int64 = 0
        try forEachField(of: field) { inner in
            if inner.number == PprofSchema.Mapping.id { id = try unsigned(inner) }
            if inner.number == PprofSchema.Mapping.filename { filename = try integer(inner) }
        }
        return (id, filename)
    }

    private static func readLocation(_ field: ProtobufReader.Field) throws -> (id: UInt64, location: RawLocation) {
        var id: UInt64 = 0
        var location = RawLocation()
        try forEachField(of: field) { inner in
            switch inner.number {
            case PprofSchema.Location.id: id = try unsigned(inner)
            case PprofSchema.Location.mappingID: location.mappingID = try unsigned(inner)
            case PprofSchema.Location.address: location.address = try unsigned(inner)
            case PprofSchema.Location.line:
                var line = (functionID: UInt64(0), line: Int64(0))
                try forEachField(of: inner) { lineField in
                    if lineField.number == PprofSchema.Line.functionID { line.functionID = try unsigned(lineField) }
                    if lineField.number == PprofSchema.Line.line { line.line = try integer(lineField) }
                }
                location.lines.append(line)
            default: break
            }
        }
        return (id, location)
    }

    private static func readFunction(_ field: ProtobufReader.Field) throws -> (id: UInt64, function: RawFunction) {
        var id: UInt64 = 0
        var function = RawFunction()
        try forEachField(of: field) { inner in
            if inner.number == PprofSchema.Function.id { id = try unsigned(inner) }
            if inner.number == PprofSchema.Function.name { function.name = try integer(inner) }
            if inner.number == PprofSchema.Function.systemName { function.systemName = try integer(inner) }
            if inner.number == PprofSchema.Function.filename { function.filename = try integer(inner) }
        }
        return (id, function)
    }

    // MARK: - Resolving and folding

    /// Which of a sample's values is its count: the `samples` type or a `count` unit, else the first.
    private static func countValueIndex(of raw: RawProfile) throws(Failure) -> Int {
        for (offset, sampleType) in raw.sampleTypes.enumerated() {
            let type = try raw.string(sampleType.type)
            let unit = try raw.string(sampleType.unit)
            if type == PprofSchema.samplesType || unit == PprofSchema.countUnit { return offset }
        }
        return 0
    }

    /// A location's frames (its lines, the inlined ones first), each resolved once.
    private struct LocationFrames {
        let raw: RawProfile
        private var cache: [UInt64: [Frame]] = [:]

        init(_ raw: RawProfile) { self.raw = raw }

        mutating func frames(ofLocation id: UInt64) throws(Failure) -> [Frame] {
            if let known = cache[id] { return known }
            guard let location = raw.locations[id] else { throw .invalid("sample refers to missing location \(id)") }
            var image = "?"
            if location.mappingID != 0 {
                guard let filename = raw.mappings[location.mappingID] else {
                    throw .invalid("location \(id) refers to missing mapping \(location.mappingID)")
                }
                image = try raw.string(filename)
                if image.isEmpty { image = "?" }
            }
            var result: [Frame] = []
            if location.lines.isEmpty {
                result = [Frame(address: location.address, function: "?", image: image)]
            }
            for (position, line) in location.lines.enumerated() {
                guard let function = raw.functions[line.functionID] else {
                    throw .invalid("location \(id) refers to missing function \(line.functionID)")
                }
                let file = try raw.string(function.filename)
                let name = try raw.string(function.name)
                // Other writers put the mangled symbol there.
                let systemName = Demangler.demangle(try raw.string(function.systemName))
                result.append(Frame(address: location.address, function: name,
                                    fullFunction: systemName.isEmpty || systemName == name ? nil : systemName,
                                    file: file.isEmpty ? nil : file, line: line.line > 0 ? Int(line.line) : nil,
                                    image: image, inlined: position < location.lines.count - 1))
            }
            cache[id] = result
            return result
        }
    }

    /// Sums samples with the same locations and labels into stacks, in the file's order.
    private static func foldSamples(of raw: RawProfile, countIndex: Int) throws(Failure) -> [Profile.Stack] {
        var locationFrames = LocationFrames(raw)
        var stackIndex: [StackKey: Int] = [:]
        var stacks: [Profile.Stack] = []
        for sample in raw.samples {
            let key = try stackKey(of: sample, in: raw)
            let count = countIndex < sample.values.count ? Int(clamping: sample.values[countIndex]) : 0
            if let index = stackIndex[key] {
                // Counts from a file can be anything: summing saturates rather than overflow.
                stacks[index].count = stacks[index].count.addingSaturated(count)
            } else {
                var stackFrames: [Frame] = []
                stackFrames.reserveCapacity(key.locationIDs.count)
                for id in key.locationIDs { stackFrames += try locationFrames.frames(ofLocation: id) }
                stackIndex[key] = stacks.count
                stacks.append(Profile.Stack(frames: stackFrames, count: count, waitReason: key.waitReason,
                                            threadName: key.threadName, process: key.process))
            }
        }
        return stacks
    }

    /// The sample's locations and the labels swift-pmp reads (thread, state, process).
    private static func stackKey(of sample: RawSample, in raw: RawProfile) throws(Failure) -> StackKey {
        var key = StackKey(locationIDs: sample.locationIDs)
        for label in sample.labels {
            let value = try raw.string(label.value)
            switch try raw.string(label.key) {
            case PprofSchema.threadLabel: key.threadName = value
            case PprofSchema.stateLabel: key.waitReason = WaitReason(value)
            case PprofSchema.processLabel: key.process = value
            default: break
            }
        }
        return key
    }

    /// The profile: stacks most frequent first (equal counts keep the file's order), times, and what the
    /// comments and the period say of the rates.
    private static func assemble(_ stacks: [Profile.Stack], metadataOf raw: RawProfile) throws(Failure) -> Profile {
        let ordered = stacks.enumerated().sorted { ($0.element.count, $1.offset) > ($1.element.count, $0.offset) }
        var profile = Profile(stacks: ordered.map(\.element))
        if raw.timeNanos != 0 { profile.startTime = seconds(raw.timeNanos) }
        profile.duration = seconds(raw.durationNanos)
        for index in raw.comments { PprofComments.read(try raw.string(index), into: &profile) }
        if profile.achievedRate == nil, profile.requestedRate == nil, raw.period > 0 {
            profile.achievedRate = 1e9 / Double(raw.period)
        }
        return profile
    }

    /// Nanoseconds as seconds, whole seconds apart from the fraction (see `PprofRenderer.nanoseconds`).
    private static func seconds(_ nanoseconds: Int64) -> Double {
        Double(nanoseconds / 1_000_000_000) + Double(nanoseconds % 1_000_000_000) / 1e9
    }

    private static func forEachField(of field: ProtobufReader.Field,
                                     _ body: (ProtobufReader.Field) throws -> Void) throws {
        guard let bytes = field.bytes else { throw Failure.invalid("field \(field.number) is not a message") }
        var reader = ProtobufReader(bytes)
        while let inner = try reader.next() { try body(inner) }
    }

    private static func unsigned(_ field: ProtobufReader.Field) throws(Failure) -> UInt64 {
        guard let value = field.uint64 else { throw .invalid("field \(field.number) is not a number") }
        return value
    }

    private static func integer(_ field: ProtobufReader.Field) throws(Failure) -> Int64 {
        Int64(bitPattern: try unsigned(field))
    }

    private static func text(_ field: ProtobufReader.Field) throws(Failure) -> String {
        guard let value = field.string else { throw .invalid("field \(field.number) is not a string") }
        return value
    }
}
