/// speedscope's file format (https://www.speedscope.app/file-format-schema.json), the part swift-pmp writes and
/// reads: shared frames, then sampled profiles (stacks of frame indices, root first, with weights) or evented
/// ones (open/close events, read only).
struct SpeedscopeFile: Codable {
    static let schemaURL = "https://www.speedscope.app/file-format-schema.json"

    struct Frame: Codable, Hashable {
        var name: String
        var file: String?
        var line: Int?
        var col: Int?
    }

    struct Shared: Codable {
        var frames: [Frame]
    }

    struct Event: Codable {
        /// "O" (open) or "C" (close).
        var type: String
        var at: Double
        var frame: Int
    }

    struct Profile: Codable {
        /// "sampled" or "evented".
        var type: String
        var name: String
        /// "none" (plain sample counts, as swift-pmp writes them), "nanoseconds", …, "bytes".
        var unit: String
        var startValue: Double
        var endValue: Double
        var samples: [[Int]]?
        var weights: [Double]?
        var events: [Event]?
    }

    enum CodingKeys: String, CodingKey {
        case schema = "$schema"
        case shared, profiles, name, activeProfileIndex, exporter
    }

    var schema: String
    var shared: Shared
    var profiles: [Profile]
    var name: String?
    var activeProfileIndex: Int?
    var exporter: String?
}
