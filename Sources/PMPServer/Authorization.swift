import NIOHTTP1
import PMPSupport

/// Who may do what. With a token configured, every request but a CORS preflight needs it, as
/// `Authorization: Bearer TOKEN` or `?token=TOKEN`. Without one, reading is open to whoever can connect (a
/// loopback address or the unix socket unless explicitly allowed otherwise), and cancel is refused to
/// clients that are not on this machine, to other users of the unix socket, and to web pages of other origins.
/// Without a token on a loopback address, a request must name a loopback host (see `HostCheck`). Wrong tokens
/// are counted: `limiter` bounds how fast they may be tried.
enum Authorization {
    struct Refusal {
        var response: ServerResponse
        /// A token was offered and it was wrong.
        var wrongToken = false
    }

    /// Nil when the request may go on; otherwise the refusal to send.
    static func refusal(for request: ServerRequest, token: String?, hostCheck: HostCheck? = nil,
                        limiter: TokenFailureLimiter? = nil) -> Refusal? {
        if let hostCheck, !hostCheck.accepts(request.headers.first(name: "host")) {
            let host = String((request.headers.first(name: "host") ?? "").unicodeScalars.prefix(100)
                .map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : "?" })
            return Refusal(response: .error(.forbidden, "the Host header names \"\(host)\", not this machine: without a token, "
                                            + "requests must be addressed to localhost or an IP address (a web page could have "
                                            + "re-pointed its own name here); start the server with PMP_TOKEN set to allow other names"))
        }
        // The web UI's page is static and carries no data: it loads without the token and asks for it.
        if request.path == "/", request.method == .GET || request.method == .HEAD { return nil }
        guard let token else {
            guard request.method == .DELETE else { return nil }
            if !request.peerIsLocal {
                return Refusal(response: .error(.forbidden, "cancel from another machine needs a token: start the server with PMP_TOKEN set"))
            }
            if request.peerIsUnixSocket {
                guard let uid = request.peerUID, PeerCredentials.mayActForOwner(uid) else {
                    let who = request.peerUID.map { "user \($0)" } ?? "an unknown user"
                    return Refusal(response: .error(.forbidden, "cancel from \(who), not the owner of this process, needs a token: "
                                                    + "start the server with PMP_TOKEN set"))
                }
            }
            if !isSameLocalOrigin(request) {
                return Refusal(response: .error(.forbidden, "cancel from a web page of another origin needs a token: start the server with PMP_TOKEN set"))
            }
            return nil
        }
        let expected = Array(token.utf8)
        var offered: [[UInt8]] = []
        for value in request.headers[canonicalForm: "authorization"] {
            let words = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            if words.count == 2, words[0].lowercased() == "bearer" {
                offered.append(Array(words[1].trimmingCharacters(in: " \t").utf8))
            }
        }
        if let queryToken = request.query["token"] { offered.append(Array(queryToken.utf8)) }
        if !offered.isEmpty, let limiter, !limiter.mayTry() {
            return Refusal(response: ServerResponse.error(.tooManyRequests, "too many wrong tokens were sent; try again in a few seconds")
                .adding(header: "Retry-After", "2"))
        }
        // Every offered token is compared, so timing says nothing about which one was close.
        var accepted = false
        for candidate in offered where constantTimeEquals(candidate, expected) { accepted = true }
        if accepted { return nil }
        if !offered.isEmpty { limiter?.recordFailure() }
        let message = offered.isEmpty
            ? "this server needs a token: send Authorization: Bearer TOKEN (or ?token=TOKEN)"
            : "the token is not valid"
        return Refusal(response: ServerResponse.error(.unauthorized, message)
            .adding(header: "WWW-Authenticate", "Bearer realm=\"swift-pmp\""), wrongToken: !offered.isEmpty)
    }

    /// A browser names the page that sends a DELETE in `Origin`; with no token, only a page served by this
    /// server under a loopback name may cancel, so that a web site open in a browser on this machine (DNS
    /// rebinding included) cannot. Clients that are not browsers send no `Origin`.
    static func isSameLocalOrigin(_ request: ServerRequest) -> Bool {
        guard let origin = request.headers.first(name: "origin") else { return true }
        guard let host = request.headers.first(name: "host"), let schemeEnd = origin.firstRange(of: "://") else { return false }
        let authority = origin[schemeEnd.upperBound...]
        guard authority.lowercased() == host.lowercased() else { return false }
        var name = Substring(host)
        if name.hasPrefix("[") {
            name = name.dropFirst().prefix { $0 != "]" }
        } else if let colon = name.lastIndex(of: ":") {
            name = name[..<colon]
        }
        return ListenAddress.isLoopbackHost(String(name))
    }

    /// Compares in time that depends on the lengths only, never on where the bytes first differ.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        let length = max(a.count, b.count)
        for index in 0..<length {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= x ^ y
        }
        return difference == 0
    }
}
