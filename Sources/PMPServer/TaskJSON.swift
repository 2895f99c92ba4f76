import PMPSupport
import PMP

/// The tasks of `GET /stacks`, after the threads. Every key is always present (null when unknown):
///
///     "taskSummary":{"method":"scan", "layout":"Swift 6.3 x86_64 (size 208, layout 1)", "note":null,
///                    "scannedBytes":8388608, "seconds":0.0024, "incomplete":false},
///     "tasks":[{"id":12, "name":"conn-0", "state":"suspended on continuation", "stateKind":"continuation",
///               "thread":null, "awaiting":null, "executor":null, "priority":21, "basePriority":21,
///               "parent":null, "children":[], "awaitedBy":[], "cancelled":false, "kind":null,
///               "suspendedFor":2.074, "truncated":false, "frames":[…]}, …]
///
/// `stateKind` is one of running, enqueued, continuation, task, group, sleeping, not started, suspended;
/// `thread` is the thread running it, `awaiting` the id of the task it waits for, `executor` the actor it is
/// queued on. `taskSummary` and `tasks` are null and [] when the capture did not look for tasks. With
/// `?group=1`, tasks with the same frames and state kind fold into `"taskGroups":[{"count", "stateKind",
/// "truncated", "tasks":[{"id", "name", "state", "suspendedFor"}], "frames"}]`, largest first.
enum TaskJSON {
    static func render(_ snapshot: Snapshot, grouped: Bool, into json: inout JSONWriter) {
        json.key("taskSummary")
        if let summary = snapshot.taskSummary {
            json.beginObject()
            json.key("method")
            json.string(summary.method)
            json.key("layout")
            json.string(summary.layout)
            json.key("note")
            json.string(summary.note)
            json.key("scannedBytes")
            json.integer(summary.scannedBytes)
            json.key("seconds")
            json.number(summary.seconds)
            json.key("incomplete")
            json.bool(summary.incomplete)
            json.endObject()
        } else {
            json.null()
        }
        if grouped {
            renderGroups(snapshot.tasks, into: &json)
            return
        }
        json.key("tasks")
        json.beginArray()
        for task in snapshot.tasks {
            json.beginObject()
            fields(task, into: &json)
            json.key("truncated")
            json.bool(task.truncated)
            json.key("frames")
            SnapshotJSON.frames(task.frames, into: &json)
            json.endObject()
        }
        json.endArray()
    }

    private static func renderGroups(_ tasks: [TaskSnapshot], into json: inout JSONWriter) {
        struct Key: Hashable {
            var frames: [Frame]
            var kind: String
            var truncated: Bool
        }
        var order: [Key] = []
        var members: [Key: [TaskSnapshot]] = [:]
        for task in tasks {
            let key = Key(frames: task.frames, kind: task.state.kind, truncated: task.truncated)
            if members[key] == nil { order.append(key) }
            members[key, default: []].append(task)
        }
        let groups = order.enumerated().sorted { a, b in
            let (countA, countB) = (members[a.element]!.count, members[b.element]!.count)
            return countA != countB ? countA > countB : a.offset < b.offset
        }.map(\.element)
        json.key("taskGroups")
        json.beginArray()
        for key in groups {
            let group = members[key]!
            json.beginObject()
            json.key("count")
            json.integer(group.count)
            json.key("stateKind")
            json.string(key.kind)
            json.key("truncated")
            json.bool(key.truncated)
            json.key("tasks")
            json.beginArray()
            for task in group {
                json.beginObject()
                json.key("id")
                json.integer(task.id)
                json.key("name")
                json.string(task.name)
                json.key("state")
                json.string(task.state.text)
                json.key("suspendedFor")
                json.number(task.suspendedFor)
                json.endObject()
            }
            json.endArray()
            json.key("frames")
            SnapshotJSON.frames(key.frames, into: &json)
            json.endObject()
        }
        json.endArray()
    }

    /// One task as `tasks` lists it, its frames cut to the `frameLimit` innermost (`truncated` then true);
    /// null for none.
    static func task(_ task: TaskSnapshot?, frameLimit: Int? = nil, into json: inout JSONWriter) {
        guard let task else {
            json.null()
            return
        }
        let frames = frameLimit.map { Array(task.frames.prefix($0)) } ?? task.frames
        json.beginObject()
        fields(task, into: &json)
        json.key("truncated")
        json.bool(task.truncated || frames.count < task.frames.count)
        json.key("frames")
        SnapshotJSON.frames(frames, into: &json)
        json.endObject()
    }

    private static func fields(_ task: TaskSnapshot, into json: inout JSONWriter) {
        json.key("id")
        json.integer(task.id)
        json.key("name")
        json.string(task.name)
        json.key("state")
        json.string(task.state.text)
        json.key("stateKind")
        json.string(task.state.kind)
        var thread: Int32?
        var awaiting: UInt64?
        var executor: String?
        switch task.state {
        case .running(let tid): thread = tid
        case .awaitingTask(let id): awaiting = id
        case .enqueued(let name): executor = name
        default: break
        }
        json.key("thread")
        if let thread { json.integer(thread) } else { json.null() }
        json.key("awaiting")
        if let awaiting { json.integer(awaiting) } else { json.null() }
        json.key("executor")
        json.string(executor)
        json.key("priority")
        json.integer(task.priority)
        json.key("basePriority")
        if let base = task.basePriority { json.integer(base) } else { json.null() }
        json.key("parent")
        if let parent = task.parent { json.integer(parent) } else { json.null() }
        json.key("children")
        ids(task.children, into: &json)
        json.key("awaitedBy")
        ids(task.awaitedBy, into: &json)
        json.key("cancelled")
        json.bool(task.cancelled)
        json.key("kind")
        json.string(task.kind)
        json.key("suspendedFor")
        json.number(task.suspendedFor)
    }

    private static func ids(_ ids: [UInt64], into json: inout JSONWriter) {
        json.beginArray()
        for id in ids { json.integer(id) }
        json.endArray()
    }
}
