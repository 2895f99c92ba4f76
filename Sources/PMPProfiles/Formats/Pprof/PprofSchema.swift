/// Field numbers of perftools.profiles (pprof's profile.proto) that the renderer writes and the parser reads,
/// and, in `fields`, how each travels, so that a test can hold them against the upstream profile.proto.
enum PprofSchema {
    enum Profile {
        static let sampleType = 1
        static let sample = 2
        static let mapping = 3
        static let location = 4
        static let function = 5
        static let stringTable = 6
        static let timeNanos = 9
        static let durationNanos = 10
        static let periodType = 11
        static let period = 12
        static let comment = 13
        static let defaultSampleType = 14
    }

    enum ValueType {
        static let type = 1
        static let unit = 2
    }

    enum Sample {
        static let locationID = 1
        static let value = 2
        static let label = 3
    }

    enum Label {
        static let key = 1
        static let str = 2
    }

    enum Mapping {
        static let id = 1
        static let memoryStart = 2
        static let memoryLimit = 3
        static let filename = 5
        static let hasFunctions = 7
        static let hasFilenames = 8
        static let hasLineNumbers = 9
        static let hasInlineFrames = 10
    }

    enum Location {
        static let id = 1
        static let mappingID = 2
        static let address = 3
        static let line = 4
    }

    enum Line {
        static let functionID = 1
        static let line = 2
    }

    enum Function {
        static let id = 1
        static let name = 2
        static let systemName = 3
        static let filename = 4
    }

    /// Sample value types and label keys of swift-pmp's profiles.
    static let samplesType = "samples"
    static let countUnit = "count"
    static let wallType = "wall"
    static let nanosecondsUnit = "nanoseconds"
    static let threadLabel = "thread"
    static let stateLabel = "state"
    static let processLabel = "process"

    /// How a field is encoded here; the upstream type it must have follows from it.
    enum Encoding: Sendable, Equatable {
        /// A nested message of the named type (length-delimited).
        case message(String)
        /// A string (length-delimited).
        case string
        /// Varints (wire type 0); `repeated` ones are written one field per value.
        case uint64, int64, bool
        /// A packed run of varints (length-delimited) of a repeated uint64 or int64.
        case packedUInt64, packedInt64

        /// The protobuf wire type: 0 varint, 2 length-delimited.
        var wireType: Int {
            switch self {
            case .uint64, .int64, .bool: return 0
            case .message, .string, .packedUInt64, .packedInt64: return 2
            }
        }
    }

    /// One field the renderer writes or the parser reads: its message and name in profile.proto.
    struct Field: Sendable, Equatable {
        var message: String
        var name: String
        var number: Int
        var encoding: Encoding
        var repeated: Bool

        init(_ message: String, _ name: String, _ number: Int, _ encoding: Encoding, repeated: Bool = false) {
            self.message = message
            self.name = name
            self.number = number
            self.encoding = encoding
            self.repeated = repeated || encoding == .packedUInt64 || encoding == .packedInt64
        }
    }

    /// Every field in use, by the names profile.proto gives them.
    static let fields: [Field] = [
        Field("Profile", "sample_type", Profile.sampleType, .message("ValueType"), repeated: true),
        Field("Profile", "sample", Profile.sample, .message("Sample"), repeated: true),
        Field("Profile", "mapping", Profile.mapping, .message("Mapping"), repeated: true),
        Field("Profile", "location", Profile.location, .message("Location"), repeated: true),
        Field("Profile", "function", Profile.function, .message("Function"), repeated: true),
        Field("Profile", "string_table", Profile.stringTable, .string, repeated: true),
        Field("Profile", "time_nanos", Profile.timeNanos, .int64),
        Field("Profile", "duration_nanos", Profile.durationNanos, .int64),
        Field("Profile", "period_type", Profile.periodType, .message("ValueType")),
        Field("Profile", "period", Profile.period, .int64),
        Field("Profile", "comment", Profile.comment, .int64, repeated: true),
        Field("Profile", "default_sample_type", Profile.defaultSampleType, .int64),
        Field("ValueType", "type", ValueType.type, .int64),
        Field("ValueType", "unit", ValueType.unit, .int64),
        Field("Sample", "location_id", Sample.locationID, .packedUInt64),
        Field("Sample", "value", Sample.value, .packedInt64),
        Field("Sample", "label", Sample.label, .message("Label"), repeated: true),
        Field("Label", "key", Label.key, .int64),
        Field("Label", "str", Label.str, .int64),
        Field("Mapping", "id", Mapping.id, .uint64),
        Field("Mapping", "memory_start", Mapping.memoryStart, .uint64),
        Field("Mapping", "memory_limit", Mapping.memoryLimit, .uint64),
        Field("Mapping", "filename", Mapping.filename, .int64),
        Field("Mapping", "has_functions", Mapping.hasFunctions, .bool),
        Field("Mapping", "has_filenames", Mapping.hasFilenames, .bool),
        Field("Mapping", "has_line_numbers", Mapping.hasLineNumbers, .bool),
        Field("Mapping", "has_inline_frames", Mapping.hasInlineFrames, .bool),
        Field("Location", "id", Location.id, .uint64),
        Field("Location", "mapping_id", Location.mappingID, .uint64),
        Field("Location", "address", Location.address, .uint64),
        Field("Location", "line", Location.line, .message("Line"), repeated: true),
        Field("Line", "function_id", Line.functionID, .uint64),
        Field("Line", "line", Line.line, .int64),
        Field("Function", "id", Function.id, .uint64),
        Field("Function", "name", Function.name, .int64),
        Field("Function", "system_name", Function.systemName, .int64),
        Field("Function", "filename", Function.filename, .int64),
    ]
}
