import FoundationEssentials

/// Reads a speedscope file back into a `Profile`: what `SpeedscopeRenderer` writes, and other tools' files.
///
/// Sampled profiles give one stack per sample, weights rounded to counts; evented profiles give, per stack, the
/// time it was open (in the profile's unit) as its count. Root frames `{…}` and `[…]` without a file are read
/// back as the thread-name pattern and the wait reason; a profile named `process X` (in a file of processes)
/// gives the stacks' process. Frames have no address or image ("?"). Identical stacks are summed, most frequent
/// first.
public enum SpeedscopeParser {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case notSpeedscope(String)
        case invalid(String)

        public var description: String {
            switch self {
            case .notSpeedscope(let why): return "not a speedscope file: \(why)"
            case .invalid(let why): return "invalid speedscope file: \(why)"
            }
        }
    }

    private struct StackKey: Hashable {
        var frames: [Int]
        var process: String?
    }

    public static func parse(_ text: String) throws(Failure) -> Profile {
        let file: SpeedscopeFile
        do {
            file = try JSONDecoder().decode(SpeedscopeFile.self, from: Data(text.utf8))
        } catch {
            throw .notSpeedscope("\(error)")
        }
        guard file.schema == SpeedscopeFile.schemaURL else { throw .notSpeedscope("$schema is \(file.schema)") }
        let frames = file.shared.frames
        let processNames = file.profiles.count > 1 || file.profiles.contains { $0.name != file.name }

        var order: [StackKey] = []
        var counts: [StackKey: Double] = [:]
        func add(_ rootFirst: [Int], _ weight: Double, process: String?) throws(Failure) {
            for index in rootFirst where !frames.indices.contains(index) {
                throw .invalid("frame index \(index) out of \(frames.count) frames")
            }
            let key = StackKey(frames: rootFirst, process: process)
            if counts[key] == nil { order.append(key) }
            counts[key, default: 0] += weight
        }

        for profile in file.profiles {
            var process: String?
            if processNames, profile.name.hasPrefix(SpeedscopeRenderer.processPrefix) {
                process = String(profile.name.dropFirst(SpeedscopeRenderer.processPrefix.count))
            }
            switch profile.type {
            case "sampled":
                let samples = profile.samples ?? []
                let weights = profile.weights ?? []
                guard samples.count == weights.count else {
                    throw .invalid("profile \"\(profile.name)\" has \(samples.count) samples but \(weights.count) weights")
                }
                for (sample, weight) in zip(samples, weights) { try add(sample, weight, process: process) }
            case "evented":
                var open: [Int] = []
                var last = profile.startValue
                for event in profile.events ?? [] {
                    if !open.isEmpty, event.at > last { try add(open, event.at - last, process: process) }
                    last = max(last, event.at)
                    if event.type == "O" {
                        open.append(event.frame)
                    } else if let position = open.lastIndex(of: event.frame) {
                        open.removeSubrange(position...)
                    }
                }
            default:
                throw .invalid("profile type \"\(profile.type)\"")
            }
        }

        var stacks: [Profile.Stack] = []
        stacks.reserveCapacity(order.count)
        for key in order {
            var rootFirst = key.frames[...]
            var threadName: String?
            var waitReason: WaitReason?
            if let first = rootFirst.first, frames[first].file == nil,
               let pattern = StackLabels.threadPattern(in: frames[first].name) {
                threadName = pattern
                rootFirst = rootFirst.dropFirst()
            }
            if let first = rootFirst.first, frames[first].file == nil,
               let reason = StackLabels.waitReason(in: frames[first].name) {
                waitReason = reason
                rootFirst = rootFirst.dropFirst()
            }
            let leafFirst = rootFirst.reversed().map {
                Frame(address: 0, function: frames[$0].name, file: frames[$0].file, line: frames[$0].line, image: "?")
            }
            let count = Self.count(counts[key] ?? 0)
            stacks.append(Profile.Stack(frames: leafFirst, count: count, waitReason: waitReason,
                                        threadName: threadName, process: key.process))
        }
        // Stacks that differ only in a label frame stay apart; most frequent first, ties in the file's order.
        let ordered = stacks.enumerated().sorted { ($0.element.count, $1.offset) > ($1.element.count, $0.offset) }
        return Profile(stacks: ordered.map(\.element))
    }

    /// A weight as a whole count: rounded, and held within 0…Int.max whatever the file says.
    private static func count(_ weight: Double) -> Int {
        guard weight.isFinite, weight > 0 else { return 0 }
        return weight >= Double(Int.max) ? Int.max : Int(weight.rounded())
    }
}
