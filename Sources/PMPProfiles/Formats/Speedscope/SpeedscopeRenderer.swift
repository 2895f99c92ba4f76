import FoundationEssentials

/// speedscope's file format (open the file at https://www.speedscope.app or with the `speedscope` command).
///
/// One "sampled" profile per process (named `process PID`) when the stacks carry processes, otherwise a single
/// profile named after the title. Each distinct stack is one sample, root first, weighted by its count: the unit is
/// "none", so speedscope shows sample counts. A frame is a distinct (function, file, line); images and the
/// inlined mark have no place in the format and are left out.
///
/// `byThread` and `byState` add root frames, `{worker-#}` then `[condition wait]`, as the folded format does, so
/// that the flame chart splits by thread and state while the left-heavy and sandwich views still show every
/// stack of the process together.
public enum SpeedscopeRenderer {
    public static func render(_ profile: Profile, options: RenderOptions = RenderOptions()) -> String {
        var frames: [SpeedscopeFile.Frame] = []
        var frameIndex: [SpeedscopeFile.Frame: Int] = [:]
        func index(of frame: SpeedscopeFile.Frame) -> Int {
            if let known = frameIndex[frame] { return known }
            frameIndex[frame] = frames.count
            frames.append(frame)
            return frames.count - 1
        }

        var processOrder: [String?] = []
        var profiles: [String?: SpeedscopeFile.Profile] = [:]
        let perProcess = profile.stacks.contains { $0.process != nil }
        for stack in profile.stacks {
            var sample: [Int] = []
            sample.reserveCapacity(stack.frames.count + 2)
            for label in StackLabels.names(for: stack, options: options) {
                sample.append(index(of: SpeedscopeFile.Frame(name: label)))
            }
            for frame in stack.frames.reversed() {
                sample.append(index(of: SpeedscopeFile.Frame(name: frame.function, file: frame.file, line: frame.line)))
            }
            let key = perProcess ? stack.process : nil
            if profiles[key] == nil {
                processOrder.append(key)
                profiles[key] = SpeedscopeFile.Profile(
                    type: "sampled", name: key.map(processName) ?? options.title, unit: "none", startValue: 0,
                    endValue: 0, samples: [], weights: [])
            }
            profiles[key]!.samples!.append(sample)
            profiles[key]!.weights!.append(Double(stack.count))
            profiles[key]!.endValue += Double(stack.count)
        }
        if profiles.isEmpty {
            processOrder.append(nil)
            profiles[nil] = SpeedscopeFile.Profile(type: "sampled", name: options.title, unit: "none", startValue: 0,
                                                   endValue: 0, samples: [], weights: [])
        }

        let file = SpeedscopeFile(schema: SpeedscopeFile.schemaURL, shared: .init(frames: frames),
                                  profiles: processOrder.map { profiles[$0]! }, name: options.title,
                                  activeProfileIndex: 0, exporter: "swift-pmp")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(file) else { return "" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    static let processPrefix = "process "

    static func processName(_ process: String) -> String { processPrefix + process }
}
