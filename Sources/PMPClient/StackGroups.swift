import FoundationEssentials
import PMPProfiles

/// One endpoint's `GET /stacks?format=json&group=1`, read: its threads grouped by identical stack and wait
/// reason (shape in PMPServer's `SnapshotJSON`).
package struct StackGroups: Sendable {
    package var groups: [StackGroup]

    package static func decode(_ bytes: [UInt8]) throws -> StackGroups {
        let body = try JSONDecoder().decode(Body.self, from: Data(bytes))
        return StackGroups(groups: body.groups.map { group in
            StackGroup(count: group.count, waitReason: group.waitReason,
                       frames: group.frames.map {
                           StackFrame(function: $0.fullFunction ?? $0.function ?? $0.address ?? "?", image: $0.image)
                       },
                       longestBlocked: group.threads?.compactMap(\.blockedFor).max(),
                       holders: Array(Set(group.threads?.compactMap(\.heldBy) ?? [])).sorted { $0.tid < $1.tid })
        })
    }

    private struct Body: Decodable {
        var groups: [Group]
    }

    private struct Group: Decodable {
        var count: Int
        var waitReason: String
        var threads: [Thread]?
        var frames: [Frame]
    }

    private struct Thread: Decodable {
        var blockedFor: Double?
        var heldBy: LockHolder?
    }

    private struct Frame: Decodable {
        var address: String?
        var function: String?
        var fullFunction: String?
        var image: String?
    }
}

/// Threads of one process that share a stack and a wait reason.
package struct StackGroup: Sendable {
    package var count: Int
    package var waitReason: String
    /// Leaf first.
    package var frames: [StackFrame]
    /// The longest time one of its threads has gone without CPU progress, seconds.
    package var longestBlocked: Double?
    /// The threads holding the locks its threads wait for, when known; by tid.
    package var holders: [LockHolder] = []
}

package struct StackFrame: Sendable, Hashable {
    /// The function's full demangled name (what stacks merge by), or the address when it has none.
    package var function: String
    /// The image's file name (libc.so.6, the executable).
    package var image: String?
}
