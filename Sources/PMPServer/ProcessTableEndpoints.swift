import PMP
import PMPProcessTable

/// The process table in VividCortex pm's REST shapes (see `ProcessTableJSON`):
///
/// - `GET /procs` (or `/procs/`): the entries in flight, oldest first; `?all=1` adds the recently finished ones;
/// - `GET /procs/{id}/history`: one entry's timestamped statuses; 404 when the id is unknown;
/// - `DELETE /procs/{id}` with an optional body `{"message": "why"}`: cancels the entry's task. 200
///   `{"id": ID, "cancelled": true}`; 404 when no entry with that id is in flight; 403 when it (or the table)
///   forbids cancel; 400 when the body is not such an object. With a token configured the request needs it; without
///   one only local clients (loopback, unix socket) may cancel, and no web page of another origin.
enum ProcessTableEndpoints {
    static func list(_ table: ProcessTable) -> Endpoint {
        return { request, reply throws(BadRequest) in
            let all = try request.query.flag("all")
            reply(.json(table.processListJSON(includingFinished: all)))
        }
    }

    static func history(_ table: ProcessTable) -> Endpoint {
        return { request, reply in
            let id = request.pathParameters[0]
            if let body = table.historyJSON(id: id) {
                reply(.json(body))
            } else {
                reply(.error(.notFound, "no process with id \(id)"))
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
