import PMP
import PMPProcessTable
import PMPSupport

/// The process table in VividCortex pm's REST shapes (see `ProcessTableJSON`):
///
/// - `GET /procs` (or `/procs/`): the entries in flight, oldest first; `?all=1` adds the recently finished ones;
/// - `GET /procs/{id}/history`: one entry's timestamped statuses; 404 when the id is unknown;
/// - `DELETE /procs/{id}` with an optional body `{"message": "why"}`: cancels the entry's task. 200
///   `{"id": ID, "cancelled": true}`; 404 when no entry with that id is in flight; 403 when it (or the table)
///   forbids cancel; 400 when the body is not such an object. With a token configured the request needs it; without
///   one only local clients (loopback, unix socket) may cancel, and no web page of another origin.
///
/// With `?tasks=1` both also say where each entry's work is right now: the Swift tasks are captured (a capture,
/// which waits its turn with the others) and every entry gets `"task"`, the task running its work as `/stacks`
/// lists tasks (every key present), or null when it is not known or not found (finished, not started, or an
/// entry whose work never ran in a task of its own). `/procs` gives its 3 innermost frames, the history the
/// whole async backtrace.
enum ProcessTableEndpoints {
    /// Frames of each entry's task in `/procs?tasks=1`: where it is suspended, not how it got there.
    static let listedTaskFrames = 3

    static func list(_ table: ProcessTable) -> Endpoint {
        return { request, reply throws(BadRequest) in
            let all = try request.query.flag("all")
            guard try request.query.flag("tasks") else {
                reply(.json(table.processListJSON(includingFinished: all)))
                return
            }
            withTasks(reply) { tasks in
                ProcessTableJSON.processList(table.processes(includingFinished: all)) { record, json in
                    json.key("task")
                    TaskJSON.task(record.taskAddress.flatMap { tasks[$0] }, frameLimit: listedTaskFrames, into: &json)
                }
            }
        }
    }

    static func history(_ table: ProcessTable) -> Endpoint {
        return { request, reply throws(BadRequest) in
            let id = request.pathParameters[0]
            guard try request.query.flag("tasks") else {
                if let body = table.historyJSON(id: id) {
                    reply(.json(body))
                } else {
                    reply(.error(.notFound, "no process with id \(id)"))
                }
                return
            }
            withTasks(reply, notFound: { reply(.error(.notFound, "no process with id \(id)")) }) { tasks in
                guard let history = table.history(id: id) else { return nil }
                let address = table.process(id: id)?.taskAddress
                return ProcessTableJSON.history(history) { json in
                    json.key("task")
                    TaskJSON.task(address.flatMap { tasks[$0] }, into: &json)
                }
            }
        }
    }

    /// Captures the tasks (no thread), then answers with what `body` makes of them
    /// by address; `notFound` runs when `body` gives nil.
    private static func withTasks(_ reply: Reply, notFound: (@Sendable () -> Void)? = nil,
                                  _ body: @escaping @Sendable ([UInt64: TaskSnapshot]) -> [UInt8]?) {
        PMP.snapshot(.tasksOnly()) { result in
            switch result {
            case .failure(let error):
                reply(Endpoints.failure("the task capture failed", error))
            case .success(let snapshot):
                var tasks: [UInt64: TaskSnapshot] = [:]
                for task in snapshot.tasks { if let address = task.address { tasks[address] = task } }
                if let bytes = body(tasks) { reply(.json(bytes)) } else { notFound?() }
            }
        }
    }

    static func cancel(_ table: ProcessTable) -> Endpoint {
        return { request, reply throws(BadRequest) in
            let id = request.pathParameters[0]
            let cancel: CancelRequest
            do throws(CancelRequestError) {
                cancel = try CancelRequest(body: request.body)
            } catch {
                throw BadRequest(error.description)
            }
            let outcome = table.cancel(id: id, message: cancel.message)
            switch outcome {
            case .cancelled:
                var json = JSONWriter()
                json.beginObject()
                json.key("id")
                json.string(id)
                json.key("cancelled")
                json.bool(true)
                json.endObject()
                json.newline()
                reply(.json(json.bytes))
            case .notFound:
                reply(.error(.init(statusCode: outcome.httpStatusCode), "no process with id \(id) is in flight"))
            case .forbidden:
                reply(.error(.init(statusCode: outcome.httpStatusCode), "process \(id) may not be cancelled"))
            }
        }
    }
}
