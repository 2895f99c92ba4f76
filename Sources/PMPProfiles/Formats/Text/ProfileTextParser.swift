import PMPSupport

/// Reads PMP text (as `ProfileTextRenderer` writes it) back into a profile. Frames keep their function, file
/// and line; addresses and images are not in the text.
public enum ProfileTextParser {
    public enum ParseError: Error, CustomStringConvertible, Sendable {
        case notAProfile
        case badLine(Int, String)

        public var description: String {
            switch self {
            case .notAProfile: return "not a swift-pmp text profile (no '# swift-pmp profile:' line)"
            case .badLine(let number, let line): return "line \(number): cannot read '\(line.prefix(80))'"
            }
        }
    }

    public static func parse(_ text: String) throws -> Profile {
        var profile = Profile(stacks: [])
        var rootFirst = false
        var sawHeader = false
        var current: Profile.Stack?
        func close() {
            guard var stack = current else { return }
            if rootFirst { stack.frames.reverse() }
            profile.stacks.append(stack)
            current = nil
        }
        for (number, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = Substring(rawLine)
            if line.hasPrefix("#") {
                if line.hasPrefix("# swift-pmp profile:") {
                    sawHeader = true
                    readSummary(line.dropFirst("# swift-pmp profile:".count), into: &profile)
                } else if line.hasPrefix("# source: ") {
                    profile.source = String(line.dropFirst("# source: ".count))
                } else if line == "# stacks root first" {
                    rootFirst = true
                } else if line.hasPrefix("# "), line.contains("samples dropped") {
                    let numbers = integers(in: line)
                    if numbers.count >= 2 {
                        profile.droppedSamples = numbers[0]
                        profile.unansweredSamples = numbers[1]
                    }
                }
                continue
            }
            if line.allSatisfy(\.isWhitespace) {
                close()
                continue
            }
            let trimmed = line.drop(while: { $0 == " " })
            guard sawHeader else { throw ParseError.notAProfile }
            if current == nil {
                guard let stack = readStackHeader(trimmed) else { throw ParseError.badLine(number + 1, String(line)) }
                current = stack
            } else {
                current!.frames.append(readFrame(trimmed))
            }
        }
        close()
        guard sawHeader else { throw ParseError.notAProfile }
        return profile
    }

    private static func readSummary(_ text: Substring, into profile: inout Profile) {
        // " 300 samples, 100 captures over 1.002 s at 99.8 Hz (100 Hz asked)"
        let words = text.split(separator: " ").map { $0.trimmingCharacters(in: ",()") }
        for (index, word) in words.enumerated() where index > 0 {
            let value = words[index - 1]
            switch word {
            case "captures", "dumps": profile.captures = Int(value) ?? 0
            case "s" where index >= 2 && words[index - 2] == "over": profile.duration = Double(value) ?? 0
            case "Hz":
                if index + 1 < words.count, words[index + 1] == "asked" {
                    profile.requestedRate = Double(value)
                } else {
                    profile.achievedRate = Double(value)
                }
            default: break
            }
        }
    }

    private static func integers(in text: Substring) -> [Int] {
        text.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
    }

    private static func readStackHeader(_ text: Substring) -> Profile.Stack? {
        guard let end = text.firstIndex(where: { !$0.isNumber }) ?? Optional(text.endIndex),
              let count = Int(text[..<end]) else { return nil }
        var stack = Profile.Stack(frames: [], count: count)
        var rest = text[end...].drop(while: { $0 == " " })
        while !rest.isEmpty {
            if rest.first == "[" {
                guard let close = rest.firstIndex(of: "]") else { return nil }
                stack.waitReason = WaitReason(String(rest[rest.index(after: rest.startIndex)..<close]))
                rest = rest[rest.index(after: close)...]
            } else if rest.hasPrefix("thread ") {
                guard let (name, after) = QuotedString.unquote(rest.dropFirst(7)) else { return nil }
                stack.threadName = name
                rest = after
            } else if rest.hasPrefix("process ") {
                guard let (name, after) = QuotedString.unquote(rest.dropFirst(8)) else { return nil }
                stack.process = name
                rest = after
            } else {
                return nil
            }
            rest = rest.drop(while: { $0 == " " })
        }
        return stack
    }

    private static func readFrame(_ text: Substring) -> Frame {
        guard let at = text.ranges(of: "  at ").last else {
            return Frame(address: 0, function: String(text), image: "?")
        }
        let location = text[at.upperBound...]
        var file = String(location)
        var line: Int?
        if let colon = location.lastIndex(of: ":"), let number = Int(location[location.index(after: colon)...]) {
            file = String(location[..<colon])
            line = number
        }
        return Frame(address: 0, function: String(text[..<at.lowerBound]), file: file, line: line, image: "?")
    }
}
