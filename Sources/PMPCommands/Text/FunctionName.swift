import PMPSupport

/// Function names short enough for one line of `pmp top`'s panel. Demangled Swift names carry their module,
/// generic clauses, parameter types and return type; C names may carry a symbol version:
///
///     static pmp_demo.Workers.blockedInConditionWait() -> ()     →  Workers.blockedInConditionWait()
///     closure #1 () -> Swift.Int32 in static NIOPosix.Epoll.epoll_wait(epfd: Swift.Int32, events: …) throws -> Swift.Int32
///                                                                 →  closure in Epoll.epoll_wait(epfd:events:)
///     pthread_cond_wait@@GLIBC_2.3.2                              →  pthread_cond_wait
///
/// Only for showing: stacks are told apart by their full names.
enum FunctionName {
    static func short(_ name: String) -> String {
        var text = Substring(name)
        // A C symbol's version: "name@@GLIBC_2.3.2".
        if let at = text.firstIndex(of: "@"), at != text.startIndex, !text[..<at].contains(where: { $0 == " " || $0 == "(" }) {
            return String(text[..<at])
        }
        var inClosure = false
        while true {
            let before = text
            if text.hasPrefix("reabstraction thunk") || text.hasPrefix("thunk for ") { return "thunk" }
            for word in ["@objc ", "partial apply forwarder for ", "partial apply for ", "merged ", "static "]
                where text.hasPrefix(word) {
                text = text.dropFirst(word.count)
            }
            if text.hasPrefix("(extension in "), let close = text.firstIndex(of: ")") {
                text = text[text.index(after: close)...].drop { $0 == ":" }
            }
            if text.hasPrefix("protocol witness for ") {
                text = text.dropFirst("protocol witness for ".count)
                if let range = topLevelRange(of: " in conformance ", in: text) { text = text[..<range.lowerBound] }
            }
            // "closure #1 (…) -> … in OUTER": named after the function it is in.
            if text.hasPrefix("closure #") || text.hasPrefix("implicit closure #"),
               let range = topLevelRange(of: " in ", in: text) {
                inClosure = true
                text = text[range.upperBound...]
            }
            if text == before { break }
        }
        return (inClosure ? "closure in " : "") + shortened(withoutDiscriminators(text))
    }

    /// `Type.(name in _C2B1528F…)(…)`, how a private function is named, → `Type.name(…)`.
    private static func withoutDiscriminators(_ text: Substring) -> Substring {
        guard let open = text.firstRange(of: ".("), let inWord = text[open.upperBound...].firstRange(of: " in _"),
              let close = text[inWord.upperBound...].firstIndex(of: ")") else { return text }
        return Substring(text[..<open.lowerBound] + "." + text[open.upperBound..<inWord.lowerBound]
                         + text[text.index(after: close)...])
    }

    /// `Module.Type.method<T>(a: A, _: B) throws -> R` → `Type.method(a:_:)`; names without a parameter list
    /// (C functions) lose nothing but a leading module.
    private static func shortened(_ text: Substring) -> String {
        var name = ""
        var parameters: String?
        var depth = 0
        var index = text.startIndex
        var parameterStart: String.Index?
        while index < text.endIndex {
            let character = text[index]
            switch character {
            case "<" where parameterStart == nil:
                depth += 1
            case ">" where parameterStart == nil && depth > 0 && text[text.index(before: index)] != "-":
                depth -= 1
            case "(" where depth == 0 && parameterStart == nil:
                parameterStart = text.index(after: index)
                depth = 1
            case "(" where parameterStart != nil, "[" where parameterStart != nil, "<" where parameterStart != nil:
                depth += 1
            case ")" where parameterStart != nil, "]" where parameterStart != nil, ">" where parameterStart != nil && text[text.index(before: index)] != "-":
                depth -= 1
                if depth == 0, character == ")", let start = parameterStart {
                    parameters = labels(text[start..<index])
                    index = text.endIndex
                    continue
                }
            default:
                if depth == 0, parameterStart == nil { name.append(character) }
            }
            index = text.index(after: index)
        }
        // Drop the module: the first of several dotted components.
        let components = name.split(separator: ".", omittingEmptySubsequences: false)
        if components.count > 1 { name = components.dropFirst().joined(separator: ".") }
        return name + (parameters.map { "(\($0))" } ?? "")
    }

    /// `a: A, _: B, C` → `a:_:_:`.
    private static func labels(_ list: Substring) -> String {
        guard !list.allSatisfy({ $0 == " " }) else { return "" }
        var result = ""
        var depth = 0
        var current = ""
        func finish() {
            let trimmed = current.trimmingBlanks()
            if let colon = trimmed.firstIndex(of: ":"), !trimmed[..<colon].contains(where: { " <([".contains($0) }) {
                result += String(trimmed[..<colon]) + ":"
            } else {
                result += "_:"
            }
            current = ""
        }
        for character in list {
            switch character {
            case "(", "[", "<": depth += 1
            case ")", "]", ">": depth -= 1
            case "," where depth == 0:
                finish()
                continue
            default: break
            }
            current.append(character)
        }
        finish()
        return result
    }

    /// Where `needle` first occurs outside any brackets.
    private static func topLevelRange(of needle: String, in text: Substring) -> Range<Substring.Index>? {
        var depth = 0
        var index = text.startIndex
        while index < text.endIndex {
            switch text[index] {
            case "(", "[", "<": depth += 1
            case ")", "]": depth -= 1
            case ">" where index > text.startIndex && text[text.index(before: index)] != "-": depth -= 1
            default:
                if depth == 0, text[index...].hasPrefix(needle) {
                    return index..<text.index(index, offsetBy: needle.count)
                }
            }
            index = text.index(after: index)
        }
        return nil
    }
}
