import FoundationEssentials
import PMPSupport
import PMPProcessTable

/// One endpoint's `GET /procs`, read: pm's shapes (see `ProcessTableJSON`), tolerant of what Go's pm writes
/// too (numeric ids, time offsets, a missing `attrs` or `cancelling`).
package struct ProcessListing: Sendable {
    package var processes: [ListedProcess]
    /// The server's clock when it answered, ns since 1970; ages are measured against it, not our clock.
    package var serverTime: Int64?

    package static func decode(_ bytes: [UInt8]) throws -> ProcessListing {
        let body = try JSONDecoder().decode(Body.self, from: Data(bytes))
        return ProcessListing(processes: body.procs.map(\.listed),
                              serverTime: body.serverTime.flatMap(RFC3339.nanosecondsSinceEpoch))
    }

    private struct Body: Decodable {
        var procs: [Entry]
        var serverTime: String?
    }

    private struct Entry: Decodable {
        var id: FlexibleID
        var attrs: [Attribute]?
        var procTime: String?
        var statusTime: String?
        var status: String?
        var cancelling: Bool?
        var parent: FlexibleID?
        /// swift-pmp's `?tasks=1`: the entry's Swift task (null when not found).
        var task: ListedTask?

        var listed: ListedProcess {
            ListedProcess(id: id.text, attributes: (attrs ?? []).map { ($0.name, $0.value) },
                          startTime: procTime.flatMap(RFC3339.nanosecondsSinceEpoch),
                          statusTime: statusTime.flatMap(RFC3339.nanosecondsSinceEpoch),
                          status: status ?? "", cancelling: cancelling ?? false, parentID: parent?.text,
                          waitingIn: task?.summary)
        }
    }

    /// What `pmp top` shows of an entry's task: its state and innermost functions. Any key may be missing.
    private struct ListedTask: Decodable {
        var state: String?
        var frames: [ListedFrame]?

        struct ListedFrame: Decodable {
            var function: String?
        }

        /// `sleeping: Task.sleep(for:) < Server.handle(_:)`: the state, then up to three frames, innermost first.
        var summary: String {
            let functions = (frames ?? []).prefix(3).compactMap(\.function)
            let state = state ?? "?"
            return functions.isEmpty ? state : state + ": " + functions.joined(separator: " < ")
        }
    }

    private struct Attribute: Decodable {
        var name: String
        var value: AttributeValue

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            name = try container.decode(String.self, forKey: .name)
            value = try container.decodeIfPresent(AttributeValue.self, forKey: .value) ?? .null
        }

        enum Keys: String, CodingKey { case name, value }
    }

    /// An id as a string, whether the server wrote it as a string or a number.
    private struct FlexibleID: Decodable {
        var text: String

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let string = try? container.decode(String.self) {
                text = string
            } else {
                text = JSONNumber.text(try container.decode(Double.self))
            }
        }
    }
}

/// One in-flight entry of an endpoint's process table.
package struct ListedProcess: Sendable {
    package var id: String
    /// In the server's order (sorted by name for swift-pmp).
    package var attributes: [(name: String, value: AttributeValue)]
    package var startTime: Int64?
    package var statusTime: Int64?
    package var status: String
    package var cancelling: Bool
    /// The entry this one is part of (swift-pmp's `parent`, a span's parent span); nil for pm's entries.
    package var parentID: String? = nil
    /// Where its Swift task is (state and innermost functions), when the listing was asked with `?tasks=1`.
    package var waitingIn: String? = nil
}
