import PMP
import PMPProcessTable

/// The endpoints that do work: each request runs as an entry of the process table, with attributes a person
/// can tell requests apart by, and reports its steps as statuses.
enum DemoEndpoints {
    static let processTable = ProcessTable.shared

    static func respond(to route: DemoRoute, for request: DemoRequest) async -> DemoResponse {
        let attributes: [String: AttributeValue] = [
            "method": AttributeValue(request.method.rawValue),
            "uri": AttributeValue(request.uri),
            "remote": AttributeValue(request.remoteAddress),
            "request-id": AttributeValue(request.requestID),
        ]
        do {
            return try await processTable.run(attributes: attributes) { process in
                do {
                    switch route {
                    case .work(let milliseconds): return try await work(milliseconds: milliseconds, process: process)
                    case .hello: return try hello(process: process)
                    case .answer(let response): return response
                    }
                } catch is CancellationError {
                    // Only the work knows whether the table asked it to stop, and with what message.
                    throw WorkCancelled(message: process.cancelMessage)
                }
            }
        } catch let cancelled as WorkCancelled {
            return cancelled.message.map(DemoResponse.cancelled(message:)) ?? .clientGone
        } catch {
            return DemoResponse(.internalServerError, "failed: \(error)")
        }
    }

    /// The steps of a request that reads its input, queries a store and renders an answer; most of the time goes
    /// to the query. Sleeping in a task (not blocking a thread) lets a cancel land in the middle of a step.
    static func work(milliseconds: Int, process: ProcessHandle) async throws -> DemoResponse {
        let steps: [(status: String, share: Int)] = [("reading", 1), ("querying", 2), ("rendering", 1)]
        let shares = steps.reduce(0) { $0 + $1.share }
        var spent = 0
        for (index, step) in steps.enumerated() {
            try process.setStatus(step.status)
            let cumulative = steps[...index].reduce(0) { $0 + $1.share }
            let until = milliseconds * cumulative / shares
            try await Task.sleep(for: .milliseconds(until - spent))
            spent = until
        }
        return DemoResponse(.ok, "worked \(milliseconds) ms as \(process.id)")
    }

    static func hello(process: ProcessHandle) throws -> DemoResponse {
        try process.setStatus("greeting")
        return DemoResponse(.ok, "hello")
    }
}

/// Work stopped by cancellation: `message` is the process table's cancel message (possibly empty), nil when the
/// cancel came another way (the client closed its connection).
struct WorkCancelled: Error {
    let message: String?
}
