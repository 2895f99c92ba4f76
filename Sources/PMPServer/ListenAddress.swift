import PMPSupport

/// Where the server listens.
public enum ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// A TCP address; loopback by default.
    case tcp(host: String, port: Int)
    /// A unix-domain socket path.
    case unix(path: String)

    /// Parses `PMP_LISTEN`-style text: "127.0.0.1:9084", ":9084" or "9084" (loopback), "[::1]:9084",
    /// "localhost:9084", or a unix socket path (anything with a "/", or "unix:PATH"). Nil for anything else.
    public static func parse(_ text: String) -> ListenAddress? {
        let text = text.trimmingBlanks()
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            return path.isEmpty ? nil : .unix(path: path)
        }
        if text.contains("/") { return .unix(path: text) }
        if let port = port(Substring(text)) { return .tcp(host: "127.0.0.1", port: port) }

        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.first == ":" else { return nil }
            portText = rest.dropFirst()
            guard host.contains(":") else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") { return nil }  // an IPv6 address needs its brackets
        }
        guard let port = port(portText) else { return nil }
        if host.isEmpty { return .tcp(host: "127.0.0.1", port: port) }
        guard host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":" || $0 == "%" || $0 == "_" })
        else { return nil }
        return .tcp(host: String(host), port: port)
    }

    private static func port(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 5, text.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = Int(text), port <= 65535 else { return nil }
        return port
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): return path
        }
    }

    /// Only this machine can connect: a loopback address (127.0.0.0/8, ::1, localhost) or a unix socket.
    /// Any other host, the wildcard addresses and names other than "localhost" included, counts as reachable
    /// from outside.
    public var isLoopback: Bool {
        switch self {
        case .unix: return true
        case .tcp(let host, _): return Self.isLoopbackHost(host)
        }
    }

    static func isLoopbackHost(_ host: String) -> Bool {
        let host = host.lowercased()
        if host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" { return true }
        let v4 = host.hasPrefix("::ffff:") ? String(host.dropFirst(7)) : host
        let parts = v4.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) else { return false }
        return parts[0] == "127"
    }
}
