/// Which `Host` a request to a loopback address without a token may name. A web page can make a browser send
/// requests to 127.0.0.1 under a name of its own that it re-points there (DNS rebinding), and read the answers
/// as same-origin; such a request names that domain in `Host`. Loopback names, IP literals (which cannot be
/// re-pointed) and the listen address are accepted; a request without `Host` (HTTP/1.0, not a browser) too.
struct HostCheck: Sendable {
    let listenHost: String

    func accepts(_ hostHeader: String?) -> Bool {
        guard let hostHeader else { return true }
        let host = Self.hostPart(of: hostHeader.lowercased())
        if host.isEmpty { return false }
        if host == listenHost.lowercased() { return true }
        if host == "localhost" || host.hasSuffix(".localhost") { return true }
        return Self.isIPLiteral(host)
    }

    /// The host without the port: "[::1]:9084" → "::1", "localhost:9084" → "localhost".
    static func hostPart(of authority: String) -> String {
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return "" }
            return String(authority[authority.index(after: authority.startIndex)..<close])
        }
        if let colon = authority.lastIndex(of: ":") { return String(authority[..<colon]) }
        return authority
    }

    static func isIPLiteral(_ host: String) -> Bool {
        if host.contains(":") { return host.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." } }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { !$0.isEmpty && $0.count <= 3 && UInt8($0) != nil }
    }
}
