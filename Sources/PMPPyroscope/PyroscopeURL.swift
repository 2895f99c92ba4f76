import PMPSupport
/// Where profiles go: `http://host:port/prefix` or `https://…`, optionally with `user:password@` for basic auth.
public struct PyroscopeURL: Sendable, Hashable, CustomStringConvertible {
    public var isTLS: Bool
    public var host: String
    public var port: Int
    /// Path prepended to the API paths ("" or "/pyroscope"), without a trailing slash.
    public var pathPrefix: String
    /// User and password written in the URL, taken as basic auth.
    public var user: String?
    public var password: String?

    /// Parses `text`; throws `PyroscopeError.badURL` saying what is wrong.
    public init(_ text: String) throws(PyroscopeError) {
        func bad(_ reason: String) -> PyroscopeError { .badURL(text, reason: reason) }
        guard text.utf8.count <= 2048 else { throw bad("longer than 2048 bytes") }
        guard !text.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7f } ?? false }) else {
            throw bad("it contains spaces or control characters")
        }
        let rest: Substring
        if text.lowercased().hasPrefix("https://") {
            isTLS = true
            rest = text.dropFirst(8)
        } else if text.lowercased().hasPrefix("http://") {
            isTLS = false
            rest = text.dropFirst(7)
        } else {
            throw bad("the scheme must be http:// or https://")
        }
        guard !rest.contains("?"), !rest.contains("#") else { throw bad("a query or fragment is not allowed") }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        while path.hasSuffix("/") { path.removeLast() }
        pathPrefix = path
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            authority = authority[authority.index(after: at)...]
            let parts = userInfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            user = PercentEncoding.decode(parts[0])
            password = parts.count > 1 ? PercentEncoding.decode(parts[1]) : ""
        }
        var hostPart = authority
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw bad("an IPv6 address lacks its closing ]") }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty { throw bad("junk after the IPv6 address") }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        }
        guard !hostPart.isEmpty else { throw bad("the host is missing") }
        guard hostPart.allSatisfy({ $0.isLetter || $0.isNumber || "-._:".contains($0) }) else {
            throw bad("the host \"\(hostPart)\" has characters a host name cannot have")
        }
        host = String(hostPart)
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw bad("the port \"\(portText)\" is not a number from 1 to 65535")
            }
            port = value
        } else {
            port = isTLS ? 443 : 80
        }
    }

    public var description: String {
        let authority = host.contains(":") ? "[\(host)]" : host
        return (isTLS ? "https://" : "http://") + authority + ":\(port)" + pathPrefix
    }

    /// The Host header's value.
    var hostHeader: String {
        let authority = host.contains(":") ? "[\(host)]" : host
        return (port == (isTLS ? 443 : 80)) ? authority : "\(authority):\(port)"
    }

}
