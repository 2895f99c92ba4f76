import PMPServer

extension ListenAddress {
    /// How the demo prints where it listens: `http://127.0.0.1:9084`, `http://[::1]:9084`, `unix:/run/x.sock`.
    var url: String {
        switch self {
        case .tcp: "http://\(self)"
        case .unix(let path): "unix:\(path)"
        }
    }
}
