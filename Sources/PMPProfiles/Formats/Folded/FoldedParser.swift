import PMPSupport

/// Reads folded stacks (`root;…;leaf COUNT`) back into a profile. A first part in brackets is taken as the wait
/// reason, one in braces as the thread-name pattern and one in angle brackets as the process, as
/// `FoldedRenderer` writes them.
public enum FoldedParser {
    public enum ParseError: Error, CustomStringConvertible, Sendable {
        case badLine(Int, String)
        public var description: String {
            switch self {
            case .badLine(let number, let line): return "line \(number): expected 'frame;frame;… COUNT', got '\(line.prefix(80))'"
            }
        }
    }

    public static func parse(_ text: String) throws -> Profile {
        var builder = ProfileBuilder(maxStacks: Int.max, keepThreadNames: true)
        for (number, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = rawLine.trimmingCharacters(in: " \t")
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let space = line.lastIndex(of: " "), let count = Int(line[line.index(after: space)...]), count >= 0
            else { throw ParseError.badLine(number + 1, String(line)) }
            var parts = line[..<space].split(separator: ";", omittingEmptySubsequences: false)[...]
            var threadName: String?
            var reason: WaitReason?
            var process: String?
            if let first = parts.first, first.hasPrefix("<"), first.hasSuffix(">"), first.count >= 2 {
                process = String(first.dropFirst().dropLast())
                parts = parts.dropFirst()
            }
            if let first = parts.first, let pattern = StackLabels.threadPattern(in: String(first)) {
                threadName = pattern
                parts = parts.dropFirst()
            }
            if let first = parts.first, let label = StackLabels.waitReason(in: String(first)) {
                reason = label
                parts = parts.dropFirst()
            }
            let frames = parts.reversed().map { Frame(address: 0, function: String($0), image: "?") }
            builder.add(frames: frames, count: count, waitReason: reason, threadName: threadName, process: process)
        }
        return builder.build(duration: 0)
    }
}
