import PMPClient

/// Turning answers other than 200 into messages that say what to do.
enum EndpointAnswer {
    /// The body of a 200 answer; a `CommandFailure` naming the endpoint and the server's reason otherwise.
    static func body(_ response: HTTPResponse, from endpoint: Endpoint, hasToken: Bool) throws -> [UInt8] {
        guard response.status == 200 else { throw CommandFailure(failure(response, from: endpoint, hasToken: hasToken)) }
        return response.body
    }

    static func failure(_ response: HTTPResponse, from endpoint: Endpoint, hasToken: Bool) -> String {
        switch response.status {
        case 401 where !hasToken:
            return "\(endpoint) needs a token: set PMP_TOKEN or pass --token"
        case 401:
            return "\(endpoint) refused the token (\(response.errorMessage)): check PMP_TOKEN or --token"
        default:
            return "\(endpoint) answered \(response.status): \(response.errorMessage)"
        }
    }
}
