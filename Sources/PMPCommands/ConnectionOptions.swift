import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import PMPClient

/// How the commands reach endpoints: the token and the timeouts.
struct ConnectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Token for endpoints started with PMP_TOKEN, sent as Authorization: Bearer (default: $PMP_TOKEN).",
                               valueName: "token"))
    var token: String?

    @Option(help: ArgumentHelp("Seconds to wait for a connection.", valueName: "seconds"))
    var connectTimeout: Double = 3

    @Option(help: ArgumentHelp("Seconds for the whole exchange, connecting included, however fast the answer trickles in (pmp record adds the recording time).",
                               valueName: "seconds"))
    var timeout: Double = 10

    func validate() throws {
        if let token = resolvedToken, token.contains(where: { $0.isNewline || $0 == "\0" }) {
            throw ValidationError("the token may not contain line breaks")
        }
        guard connectTimeout > 0, connectTimeout.isFinite else { throw ValidationError("--connect-timeout must be positive") }
        guard timeout > 0, timeout.isFinite else { throw ValidationError("--timeout must be positive") }
    }

    /// `--token`, else `PMP_TOKEN`; nil when neither is set (or empty).
    var resolvedToken: String? { Self.token(option: token) }

    static func token(option: String?) -> String? {
        if let option, !option.isEmpty { return option }
        guard let value = getenv("PMP_TOKEN") else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    /// A client with these options, reading answers of at most `maxBodyBytes`.
    func client(maxBodyBytes: Int = HTTPClient.fileAnswerLimit) -> HTTPClient {
        HTTPClient(token: resolvedToken, connectTimeout: .milliseconds(Int64(connectTimeout * 1000)),
                   timeout: .milliseconds(Int64(timeout * 1000)), maxBodyBytes: maxBodyBytes)
    }
}
