/// Field numbers of perftools.profiles (pprof's profile.proto) that the renderer writes and the parser reads.
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
        static let num = 3
    }

    enum Mapping {
        static let id = 1
        static let memoryStart = 2
        static let memoryLimit = 3
        static let fileOffset = 4
        static let filename = 5
        static let buildID = 6
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
        static let startLine = 5
    }

    /// Sample value types and label keys of swift-pmp's profiles.
    static let samplesType = "samples"
    static let countUnit = "count"
    static let wallType = "wall"
    static let nanosecondsUnit = "nanoseconds"
    static let threadLabel = "thread"
    static let stateLabel = "state"
    static let processLabel = "process"
}
