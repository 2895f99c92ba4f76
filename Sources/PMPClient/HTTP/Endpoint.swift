import PMPSupport

/// Where a profiler endpoint answers, as the commands take it: `host:port`, `http://host:port[/prefix]`, or a
/// unix socket path (anything with a `/`, or `unix:PATH`, as pmp-demo prints it).
public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    public enum Address: Sendable, Hashable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    public var address: Address
    /// Prepended to every request path: "" or "/prefix" (no trailing slash), for endpoints mounted behind a proxy.
    public var pathPrefix: String

    public init(address: Address, pathPrefix: String = "") {
        self.address = address
        self.pathPrefix = pathPrefix
    }

    /// Parses an ENDPOINT argument; the error says what forms are understood.
    public static func parse(_ text: String) throws(EndpointError) -> Endpoint {
        let text = text.trimmingBlanks()
        guard !text.isEmpty else { throw EndpointError(text: text, reason: "it is empty") }
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty else { throw EndpointError(text: text, reason: "the socket path is missing") }
            return Endpoint(address: .unix(path: path))
        }
        let lower = text.lowercased()
        if lower.hasPrefix("https://") {
            throw EndpointError(text: text, reason: "https is not spoken here; reach the endpoint over plain http (an SSH tunnel, or the unix socket)")
        }
        if lower.hasPrefix("http://") {
            let rest = text.dropFirst(7)
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            let authority = rest[..<slash]
            var prefix = String(rest[slash...])
            if let query = prefix.firstIndex(where: { $0 == "?" || $0 == "#" }) { prefix = String(prefix[..<query]) }
            while prefix.hasSuffix("/") { prefix.removeLast() }
            guard !authority.isEmpty, let address = hostAndPort(authority, defaultPort: 80) else {
                throw EndpointError(text: text, reason: "expected http://HOST:PORT[/PREFIX]")
            }
            return Endpoint(address: address, pathPrefix: prefix)
        }
        if text.contains("/") { return Endpoint(address: .unix(path: text)) }
        guard let address = hostAndPort(Substring(text), defaultPort: nil) else {
            throw EndpointError(text: text, reason: "expected HOST:PORT, http://HOST:PORT[/PREFIX] or a unix socket path")
        }
        return Endpoint(address: address)
    }

    /// `host:port`, `[v6]:port`, `:port` (this machine); the port may be left out only when there is a default.
    private static func hostAndPort(_ text: Substring, defaultPort: Int?) -> Address? {
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.first == ":" else { return nil }
                portText = rest.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") { return nil }  // an IPv6 address needs its brackets
        } else {
            host = text
        }
        let port: Int
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let number = Int(portText), number > 0, number <= 65535 else { return nil }
            port = number
        } else {
            guard let defaultPort else { return nil }
            port = defaultPort
        }
        if host.isEmpty { host = "127.0.0.1" }
        guard host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-_:%".contains($0)) }) else { return nil }
        return .tcp(host: String(host), port: port)
    }

    /// How the endpoint is named in messages and in `pmp top`'s Host column: `h1:9084`, `[::1]:9084`,
    /// `h1:80/pmp` with a prefix, or the socket path.
    public var description: String {
        switch address {
        case .tcp: return hostPort + pathPrefix
        case .unix(let path): return path
        }
    }

    /// `host:port` (brackets around IPv6 hosts); the socket path for a unix socket.
    public var hostPort: String {
        switch address {
        case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): return path
        }
    }

    /// The `Host` header: the authority for TCP; `localhost` for a unix socket (any name will do there).
    package var hostHeader: String {
        switch address {
        case .tcp: return hostPort
        case .unix: return "localhost"
        }
    }

    /// The base URL a browser would use, nil for a unix socket.
    public var webURL: String? {
        switch address {
        case .tcp: return "http://" + hostPort + pathPrefix
        case .unix: return nil
        }
    }

    /// Endpoints from `--endpoints` values: each value may hold several, separated by commas.
    package static func parseList(_ values: [String]) throws(EndpointError) -> [Endpoint] {
        var endpoints: [Endpoint] = []
        for value in values {
            for part in value.split(separator: ",") where !part.allSatisfy({ $0 == " " }) {
                endpoints.append(try parse(String(part)))
            }
        }
        return endpoints
    }
}

/// An ENDPOINT the commands cannot understand.
public struct EndpointError: Error, Sendable, CustomStringConvertible {
    public var text: String
    public var reason: String
    public var description: String { "not an endpoint: \"\(text)\": \(reason)" }
}
