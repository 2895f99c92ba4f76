import NIOCore
import Synchronization

/// The connections that are open, so that a new one can take the place of the one idle longest when the server
/// is full. A connection with a request being answered is never evicted; one with no request in progress goes
/// before one that is still sending the head of one (a slow client), and within each, the one quiet longest.
/// Loop-only: every call is made on the server's event loop, but for `openCount`.
final class ConnectionRegistry {
    private var connections: [ObjectIdentifier: ConnectionGuard] = [:]
    private let published = Atomic<Int>(0)
    /// Refused or evicted connections still open while their last answer drains (see `ConnectionGuard.linger`).
    var lingering = 0

    var count: Int { connections.count }

    /// The number of connections, readable from any thread (a graceful stop waits for it to reach 0 without
    /// asking a loop that may be shut down meanwhile).
    var openCount: Int { published.load(ordering: .relaxed) }

    func add(_ connection: ConnectionGuard) {
        connections[ObjectIdentifier(connection)] = connection
        published.store(connections.count, ordering: .relaxed)
    }

    func remove(_ connection: ConnectionGuard) {
        connections.removeValue(forKey: ObjectIdentifier(connection))
        published.store(connections.count, ordering: .relaxed)
    }

    /// Closes the idle connections and lets the others close after their answers (a graceful stop).
    func drainAll() {
        for connection in Array(connections.values) { connection.drain() }
    }

    /// Evicts one connection to make room; false when every connection is busy.
    func evictOne() -> Bool {
        var best: ConnectionGuard?
        for candidate in connections.values {
            guard let rank = candidate.evictionRank else { continue }
            if let current = best, let currentRank = current.evictionRank,
               (currentRank, current.lastActivity) <= (rank, candidate.lastActivity) { continue }
            best = candidate
        }
        guard let victim = best else { return false }
        remove(victim)
        victim.evict()
        return true
    }
}
