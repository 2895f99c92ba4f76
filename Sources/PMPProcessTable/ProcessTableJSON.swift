import PMPSupport

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
///
/// An entry registered with a parent (a span's entry, `ProcessTable.register(parentID:)`) also has
/// `"parent": "<id of the parent entry>"`, after `status`; left out otherwise. pm has no such key: Go's
/// `encoding/json`, like pm's own client, ignores keys its struct does not name, so pm readers still read the list.
public enum ProcessTableJSON {
    public static func processList(_ records: [ProcessRecord], serverTime: WallTime = .now()) -> [UInt8] {
        processList(records, serverTime: serverTime, extraFields: nil)
    }

    /// As `processList(_:serverTime:)`, with `extraFields` writing keys of its own into each entry, last.
    package static func processList(_ records: [ProcessRecord], serverTime: WallTime = .now(),
                                    extraFields: ((ProcessRecord, inout JSONWriter) -> Void)?) -> [UInt8] {
        var json = JSONWriter(reservingCapacity: 64 + records.count * 192)
        json.beginObject()
        json.key("procs")
        json.beginArray()
        for record in records {
            json.beginObject()
            json.key("id")
            json.string(record.id)
            if !record.attributes.isEmpty {
                json.key("attrs")
                json.beginArray()
                for name in record.attributes.keys.sorted() {
                    json.beginObject()
                    json.key("name")
                    json.string(name)
                    json.key("value")
                    json.value(record.attributes[name]!)
                    json.endObject()
                }
                json.endArray()
            }
            json.key("procTime")
            json.time(record.startTime)
            json.key("statusTime")
            json.time(record.statusTime)
            json.key("status")
            json.string(record.status)
            if let parentID = record.parentID {
                json.key("parent")
                json.string(parentID)
            }
            if record.isCancelling {
                json.key("cancelling")
                json.bool(true)
            }
            extraFields?(record, &json)
            json.endObject()
        }
        json.endArray()
        json.key("serverTime")
        json.time(serverTime)
        json.endObject()
        json.newline()
        return json.bytes
    }

    public static func history(_ history: StatusHistory, serverTime: WallTime = .now()) -> [UInt8] {
        self.history(history, serverTime: serverTime, extraFields: nil)
    }

    /// As `history(_:serverTime:)`, with `extraFields` writing keys of its own after `history`.
    package static func history(_ history: StatusHistory, serverTime: WallTime = .now(),
                                extraFields: ((inout JSONWriter) -> Void)?) -> [UInt8] {
        var lines = history.changes
        if history.droppedCount > 0, let droppedTime = history.lastDroppedTime, !lines.isEmpty {
            lines.insert(StatusChange(time: droppedTime, status: "[\(history.droppedCount) statuses dropped]"), at: 1)
        }
        var json = JSONWriter(reservingCapacity: 64 + lines.count * 64)
        json.beginObject()
        json.key("history")
        json.beginArray()
        for change in lines {
            json.beginObject()
            json.key("ts")
            json.time(change.time)
            json.key("status")
            json.string(change.status)
            json.endObject()
        }
        json.endArray()
        extraFields?(&json)
        json.key("serverTime")
        json.time(serverTime)
        json.endObject()
        json.newline()
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
