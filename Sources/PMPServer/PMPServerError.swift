/// Why the server did not start.
public enum PMPServerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `PMP_LISTEN` (or another address text) is not an address.
    case invalidListenAddress(String)
    /// A non-loopback TCP address without a token, not explicitly allowed.
    case insecureAddress(ListenAddress)
    /// A token that is the empty string would let anyone in.
    case emptyToken
    /// The address could not be bound.
    case bindFailed(ListenAddress, reason: String)

    public var description: String {
        switch self {
        case .invalidListenAddress(let text):
            return "PMP_LISTEN=\(text) is not an address: use HOST:PORT (127.0.0.1:9084), :PORT (loopback), "
                + "[IPv6]:PORT, or a unix socket path"
        case .insecureAddress(let address):
            return "refusing to serve stacks and the process table on \(address), which other machines can reach, "
                + "without a token: set PMP_TOKEN (or the configuration's token), listen on a loopback address or "
                + "a unix socket, or allow it explicitly with PMP_ALLOW_INSECURE=1"
        case .emptyToken:
            return "the token is empty: set a non-empty token or none"
        case .bindFailed(let address, let reason):
            return "cannot listen on \(address): \(reason)"
        }
    }
}
