import FoundationEssentials
import PMPSupport

/// A complete HTTP answer.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var reason: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    /// The first value of a header, by case-insensitive name.
    public func header(_ name: String) -> String? {
        let name = name.lowercased()
        return headers.first { $0.name.lowercased() == name }?.value
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// What the server said went wrong: the `error` of a `{"error": …}` body (the shape PMPServer answers
    /// errors with), else the body's text, else the reason phrase.
    public var errorMessage: String {
        if let decoded = try? JSONDecoder().decode(ErrorBody.self, from: Data(body)) { return decoded.error }
        let text = bodyText.trimmingBlanks()
        if !text.isEmpty, text.count <= 500 { return text }
        return "\(status) \(reason)"
    }

    private struct ErrorBody: Decodable {
        var error: String
    }
}
