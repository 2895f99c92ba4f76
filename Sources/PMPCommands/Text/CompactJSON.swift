import PMPProcessTable
import PMPSupport

/// An attribute value in one short line for a table cell: strings bare, integers without a fraction,
/// arrays and objects as compact JSON (object keys sorted), control characters escaped so that a cell never
/// breaks a line.
enum CompactJSON {
    static func render(_ value: AttributeValue) -> String {
        switch value {
        case .string(let text): return escapedControls(text)
        default: return json(value)
        }
    }

    static func json(_ value: AttributeValue) -> String {
        switch value {
        case .string(let text): return quoted(text)
        case .number(let number): return self.number(number)
        case .bool(let flag): return flag ? "true" : "false"
        case .null: return "null"
        case .array(let items): return "[" + items.map(json).joined(separator: ",") + "]"
        case .object(let members):
            return "{" + members.keys.sorted().map { quoted($0) + ":" + json(members[$0]!) }.joined(separator: ",") + "}"
        }
    }

    static func number(_ value: Double) -> String { JSONNumber.text(value) }

    private static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            default: result += escapedControls(String(scalar))
            }
        }
        return result + "\""
    }

    /// Control characters as escapes, so that a cell never breaks a line or reaches the terminal as a command.
    private static func escapedControls(_ text: String) -> String { TerminalText.escaped(text) }
}
