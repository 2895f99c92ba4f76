/// Which stacks a fold counts: the threads' (with the goroutines of Go dumps), the Swift tasks' async
/// backtraces, or both.
public enum StackKinds: String, Sendable, Hashable, CaseIterable, Codable {
    case all
    case threads
    case tasks

    public var includesThreads: Bool { self != .tasks }
    public var includesTasks: Bool { self != .threads }
}
