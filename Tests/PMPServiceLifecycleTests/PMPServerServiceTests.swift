import Foundation
import InMemoryLogging
import Logging
@testable import PMPProcessTable
import PMPServer
import PMPServiceLifecycle
import ServiceLifecycle
import PMPTestSupport
import Testing

/// `PMPServerService` in a real `ServiceGroup`, in this process: started by the group, stopped by its graceful
/// shutdown, logging through the logger it was given.
@Suite("PMPServerService") struct PMPServerServiceTests {
    @Test("the group starts the server and stops it gracefully: a request in flight gets its answer, the connection then closes, nothing more is accepted")
    func gracefulStop() async throws {
        let log = InMemoryLogHandler()
        let logger = Logger(label: "group") { _ in log }
        let started = AsyncStream<PMPServer>.makeStream()
        let table = ProcessTable()
        let configuration = PMPServerConfiguration(listen: .tcp(host: "127.0.0.1", port: 0), processTable: table)
        let service = PMPServerService(configuration: configuration, gracePeriod: .seconds(60), logger: logger) { server in
            started.continuation.yield(server)
        }
        let group = ServiceGroup(services: [service], gracefulShutdownSignals: [], logger: logger)
        let running = Task { try await group.run() }
        var servers = started.stream.makeAsyncIterator()
        let server = try #require(await servers.next())
        guard case .tcp(_, let port) = server.localAddress else { throw TestFailure("no port") }

        // A profile in flight when shutdown begins: it is answered in full, with Connection: close.
        let connection = try RawConnection(port: port)
        try connection.send("GET /profile?seconds=2&hz=20 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        try await waitUntil(seconds: 30) { server.runningProfileCount == 1 }
        let idle = try RawConnection(port: port)
        try idle.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(try idle.readResponse().status == 200)
        await group.triggerGracefulShutdown()
        // The group ends once the server stopped: the profile was answered by then, and the sockets hold what the
        // server sent (read only now, so that no thread of the pool the group runs on waits on a socket).
        try await running.value

        #expect(idle.readUntilClosed(timeout: 30).closed, "the idle connection was closed")
        let answer = try connection.readResponse(timeout: 60)
        #expect(answer.status == 200)
        #expect(answer.headers["connection"] == "close")
        #expect(!answer.body.isEmpty)
        #expect(connection.readUntilClosed(timeout: 30).closed)
        #expect(throws: (any Error).self, "nothing listens any more") { try RawConnection(port: port) }

        let messages = log.entries.map { "\($0.message)" }
        #expect(messages.contains("pmp server listening"))
        #expect(messages.contains("pmp server stopping gracefully"))
        let stopped = try #require(log.entries.first { "\($0.message)" == "pmp server stopped" })
        #expect(stopped.metadata["connections-cut"] == "0")
    }

    @Test("past the grace period what is still in flight is cut, and the number cut is logged")
    func gracePeriodBounds() async throws {
        let log = InMemoryLogHandler()
        let logger = Logger(label: "group") { _ in log }
        let started = AsyncStream<PMPServer>.makeStream()
        let configuration = PMPServerConfiguration(listen: .tcp(host: "127.0.0.1", port: 0), processTable: ProcessTable())
        let service = PMPServerService(configuration: configuration, gracePeriod: .milliseconds(200), logger: logger) { server in
            started.continuation.yield(server)
        }
        let group = ServiceGroup(services: [service], gracefulShutdownSignals: [], logger: logger)
        let running = Task { try await group.run() }
        var servers = started.stream.makeAsyncIterator()
        let server = try #require(await servers.next())
        guard case .tcp(_, let port) = server.localAddress else { throw TestFailure("no port") }

        let connection = try RawConnection(port: port)
        try connection.send("GET /profile?seconds=60&hz=20 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        try await waitUntil(seconds: 30) { server.runningProfileCount == 1 }
        await group.triggerGracefulShutdown()
        try await running.value
        let (bytes, closed) = connection.readUntilClosed(timeout: 30)
        #expect(closed)
        #expect(bytes.isEmpty, "the profile's request was dropped, not answered")
        let stopped = try #require(log.entries.first { "\($0.message)" == "pmp server stopped" })
        #expect(stopped.metadata["connections-cut"] == "1")
    }
}
