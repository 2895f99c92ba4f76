import PMPSupport
/// The frames of a flame graph and where they go: stacks merged from the root by name (with the label
/// pseudo-frames above the roots), siblings in name order, each frame as wide as its samples.
///
/// Frames are taken widest first, until they get narrower than `minimumSamples` or `maxFrames` are taken; a frame
/// is never narrower than the one below it, so what is left out is always the top of a tower, never a gap. The
/// work and the output stay bounded by what can be seen, however many distinct stacks the profile has.
struct FlameGraphLayout {
    struct Node {
        var name: String
        var kind: FlameColor.Kind
        /// 0 for the root ("all"), 1 for the root-most frames of the stacks, ….
        var depth: Int
        /// Samples left of this frame, and samples in it.
        var start: Int
        var count: Int
    }

    private struct Key: Hashable {
        var name: String
        var kind: FlameColor.Kind
    }

    /// A frame that may be drawn, with the stacks that pass through it.
    private struct Candidate {
        var node: Node
        var members: [Int]
    }

    private(set) var nodes: [Node] = []
    let totalSamples: Int
    private(set) var maxDepth = 0
    /// When `maxFrames` cut the graph short: the samples of the widest frame left out.
    private(set) var cutAtSamples: Int?

    init(_ profile: Profile, options: RenderOptions, minimumSamples: Double, maxFrames: Int) {
        let stacks = profile.stacks
        let labels: [[Key]] = stacks.map { stack in
            var labels: [Key] = []
            if let process = stack.process { labels.append(Key(name: "process " + process, kind: .process)) }
            if options.byThread, let pattern = stack.threadName {
                labels.append(Key(name: StackLabels.thread(pattern), kind: .thread))
            }
            if options.byState, let reason = stack.waitReason {
                labels.append(Key(name: StackLabels.state(reason), kind: .state))
            }
            return labels
        }
        func length(_ member: Int) -> Int { labels[member].count + stacks[member].frames.count }
        /// The name at `level` of a stack's path (0: its root-most label or frame).
        func element(_ member: Int, at level: Int) -> Key {
            let labelCount = labels[member].count
            if level < labelCount { return labels[member][level] }
            let frames = stacks[member].frames
            return Key(name: frames[frames.count - 1 - (level - labelCount)].function, kind: .function)
        }

        let members = stacks.indices.filter { stacks[$0].count > 0 }
        totalSamples = members.reduce(0) { $0.addingSaturated(stacks[$1].count) }
        guard totalSamples > 0 else { return }

        // Widest first; at equal width the lower frame first, so that a frame always comes before those above it.
        var queue = WidestFirstQueue<Candidate> { a, b in
            a.node.count != b.node.count ? a.node.count > b.node.count
                : a.node.depth != b.node.depth ? a.node.depth < b.node.depth : a.node.start < b.node.start
        }
        queue.insert(Candidate(node: Node(name: "all", kind: .root, depth: 0, start: 0, count: totalSamples), members: members))
        while let candidate = queue.popFirst() {
            if Double(candidate.node.count) < minimumSamples { break }
            if nodes.count >= maxFrames {
                cutAtSamples = candidate.node.count
                break
            }
            nodes.append(candidate.node)
            maxDepth = max(maxDepth, candidate.node.depth)

            // The children: the next name of each stack through this frame, grouped, in name order.
            let level = candidate.node.depth
            var groups: [Key: (members: [Int], count: Int)] = [:]
            for member in candidate.members where length(member) > level {
                let key = element(member, at: level)
                groups[key, default: ([], 0)].members.append(member)
                groups[key, default: ([], 0)].count = groups[key, default: ([], 0)].count.addingSaturated(stacks[member].count)
            }
            var start = candidate.node.start
            let ordered = groups.sorted { a, b in
                a.key.name != b.key.name ? a.key.name < b.key.name : "\(a.key.kind)" < "\(b.key.kind)"
            }
            for (key, group) in ordered {
                if Double(group.count) >= minimumSamples {
                    queue.insert(Candidate(node: Node(name: key.name, kind: key.kind, depth: level + 1, start: start,
                                                      count: group.count), members: group.members))
                }
                start = start.addingSaturated(group.count)
            }
        }
    }
}
