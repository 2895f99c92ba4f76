import ArgumentParser
import FoundationEssentials
import PMPClient
import PMPSupport

/// `pmp cancel ENDPOINT ID`: cancels an in-flight entry of the process table (`DELETE /procs/ID`).
struct CancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a request or job that is in flight in a running process.",
        discussion: """
            Sends DELETE /procs/ID with the message. The entry is marked as cancelling and its Swift task is \
            cancelled: the next status update it makes throws CancellationError, and the message is kept in its \
            history. Find ids with pmp top or GET /procs.

            Exit status: 0 cancelled; 3 no entry with that id is in flight (it finished, or never was); 4 the \
            entry may not be cancelled, or the endpoint refuses cancels from another machine without a token; \
            5 a token is needed or was refused; 1 the endpoint could not be reached or answered something else.

            Examples:
              pmp cancel 127.0.0.1:9084 kqz-17 --message "runaway export, see INC-1234"
              PMP_TOKEN=s3cret pmp cancel h1:9084 kqz-17
              pmp cancel /run/myapp/pmp.sock kqz-17 || echo "not cancelled: $?"
            """)

    @Argument(help: ArgumentHelp("Where the process's endpoints answer.", valueName: "endpoint"))
    var endpoint: String

    @Argument(help: ArgumentHelp("The entry's id, as GET /procs and pmp top show it.", valueName: "id"))
    var id: String

    @Option(name: [.short, .long], help: ArgumentHelp("Why: kept in the entry's history.", valueName: "message"))
    var message: String?

    @OptionGroup var connection: ConnectionOptions

    /// The exit status.
    enum Status: Int32 {
        case cancelled = 0
        case failed = 1
        case notFound = 3
        case forbidden = 4
        case unauthorized = 5
    }

    func validate() throws {
        _ = try EndpointArgument.parse(endpoint)
        guard !id.isEmpty else { throw ValidationError("the id is empty") }
    }

    func run() throws {
        let endpoint = try EndpointArgument.parse(endpoint)
        let client = connection.client(maxBodyBytes: HTTPClient.shortAnswerLimit)
        let response = try EndpointArgument.perform { () throws(HTTPClientError) in
            try Self.cancel(id: id, message: message, on: endpoint, client: client)
        }
        let outcome = Self.outcome(response, id: id, endpoint: endpoint, hasToken: client.token != nil)
        guard outcome.status == .cancelled else {
            StandardError.write("pmp cancel: \(TerminalText.escaped(outcome.message))\n")
            throw ExitCode(outcome.status.rawValue)
        }
        print(TerminalText.escaped(outcome.message))
    }

    /// `DELETE /procs/ID` with `{"message": …}`.
    static func cancel(id: String, message: String?, on endpoint: Endpoint,
                       client: HTTPClient) throws(HTTPClientError) -> HTTPResponse {
        let body = message.map { (try? JSONEncoder().encode(["message": $0])).map { Array($0) } ?? [] }
        return try client.send("DELETE", "/procs/" + PercentEncoding.encode(id), to: endpoint, body: body,
                               contentType: body == nil ? nil : "application/json")
    }

    /// What an answer means, in words, and the exit status it gives.
    static func outcome(_ response: HTTPResponse, id: String, endpoint: Endpoint,
                        hasToken: Bool) -> (message: String, status: Status) {
        switch response.status {
        case 200:
            return ("cancelled \(id) on \(endpoint)", .cancelled)
        case 404:
            return ("no entry \(id) is in flight on \(endpoint): it finished, or never was", .notFound)
        case 403:
            return ("\(endpoint) refused to cancel \(id): \(response.errorMessage)", .forbidden)
        case 401:
            return (EndpointAnswer.failure(response, from: endpoint, hasToken: hasToken), .unauthorized)
        default:
            return (EndpointAnswer.failure(response, from: endpoint, hasToken: hasToken), .failed)
        }
    }
}
