/// The JSON of pm's REST interface, key for key as VividCortex pm's Go types write it:
///
/// `GET /procs` →
///
///     {"procs":[{"id":"kqz-1","attrs":[{"name":"method","value":"GET"},{"name":"uri","value":"/work"}],
///                "procTime":"2025-03-04T05:06:07.123456789Z","statusTime":"2025-03-04T05:06:07.2Z",
///                "status":"reading","cancelling":true}],
///      "serverTime":"2025-03-04T05:06:08.5Z"}
///
/// `GET /procs/{id}/history` →
///
///     {"history":[{"ts":"2025-03-04T05:06:07.123456789Z","status":"init"},
///                 {"ts":"2025-03-04T05:06:07.2Z","status":"reading"}],
///      "serverTime":"2025-03-04T05:06:08.5Z"}
///
/// As in pm, `attrs` is left out when there are none and `cancelling` when false (Go's `omitempty`): readers
/// take a missing `attrs` as `[]` and a missing `cancelling` as false. Attributes come sorted by name (pm's order
/// is random). Times are RFC 3339 in UTC with up to nine fraction digits, as Go writes a `time.Time`;
/// `serverTime` lets a client measure durations without trusting its own clock.
///
/// When an entry's history outgrew the table's limit, the history shows where changes were dropped with one
/// line of its own after the first: `{"ts": <the latest dropped change>, "status": "[N statuses dropped]"}`.
/// Finished entries (listed only when asked) carry their final status and `cancelling` false.
public enum ProcessTableJSON {
    public static func processList(_ records: [ProcessRecord], serverTime: WallTime = .now()) -> [UInt8] {
        var json = JSONBytes(reservingCapacity: 64 + records.count * 192)
        json.raw("{")
        json.key("procs")
        json.raw("[")
        for (index, record) in records.enumerated() {
            if index > 0 { json.raw(",") }
            json.raw("{")
            json.key("id")
            json.string(record.id)
            if !record.attributes.isEmpty {
                json.raw(",")
                json.key("attrs")
                json.raw("[")
                for (attributeIndex, name) in record.attributes.keys.sorted().enumerated() {
                    if attributeIndex > 0 { json.raw(",") }
                    json.raw("{")
                    json.key("name")
                    json.string(name)
                    json.raw(",")
                    json.key("value")
                    json.value(record.attributes[name]!)
                    json.raw("}")
                }
                json.raw("]")
            }
            json.raw(",")
            json.key("procTime")
            json.time(record.startTime)
            json.raw(",")
            json.key("statusTime")
            json.time(record.statusTime)
            json.raw(",")
            json.key("status")
            json.string(record.status)
            if record.isCancelling {
                json.raw(",")
                json.key("cancelling")
                json.bool(true)
            }
            json.raw("}")
        }
        json.raw("],")
        json.key("serverTime")
        json.time(serverTime)
        json.raw("}\n")
        return json.bytes
    }

    public static func history(_ history: StatusHistory, serverTime: WallTime = .now()) -> [UInt8] {
        var lines = history.changes
        if history.droppedCount > 0, let droppedTime = history.lastDroppedTime, !lines.isEmpty {
            lines.insert(StatusChange(time: droppedTime, status: "[\(history.droppedCount) statuses dropped]"), at: 1)
        }
        var json = JSONBytes(reservingCapacity: 64 + lines.count * 64)
        json.raw("{")
        json.key("history")
        json.raw("[")
        for (index, change) in lines.enumerated() {
            if index > 0 { json.raw(",") }
            json.raw("{")
            json.key("ts")
            json.time(change.time)
            json.raw(",")
            json.key("status")
            json.string(change.status)
            json.raw("}")
        }
        json.raw("],")
        json.key("serverTime")
        json.time(serverTime)
        json.raw("}\n")
        return json.bytes
    }
}

extension ProcessTable {
    /// The body of `GET /procs`: entries in flight, oldest first; with `includingFinished`, the recently
    /// finished ones too, with their final status.
    public func processListJSON(includingFinished: Bool = false) -> [UInt8] {
        ProcessTableJSON.processList(processes(includingFinished: includingFinished))
    }

    /// The body of `GET /procs/{id}/history`, for an entry in flight or recently finished; nil (404) when unknown.
    public func historyJSON(id: String) -> [UInt8]? {
        history(id: id).map { ProcessTableJSON.history($0) }
    }
}
