import Foundation
import PMPServer
import PMPTestSupport
import Testing

/// `PMPServer.stop(gracePeriod:)` against the other ways a server stops, at the same time.
@Suite("PMPServer graceful stop", .timeLimit(.minutes(2))) struct ServerGracefulStopTests {
    @Test("two graceful stops at once and a stop() during one: every call returns, the profile in flight is cut")
    func concurrentStops() async throws {
        let server = try TestServer()
        let connection = try RawConnection(port: server.port)
        try connection.send("GET /profile?seconds=60&hz=20 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        try await waitUntil(seconds: 30) { server.server.runningProfileCount == 1 }
        // A grace period past the suite's time limit: only stop() can end this wait in time.
        let first = Task { await server.server.stop(gracePeriod: .seconds(600)) }
        // Once the first has closed the listening socket, it is waiting for the profile.
        try await waitUntil(seconds: 30) { (try? RawConnection(port: server.port)) == nil }
        // A second graceful stop meanwhile returns at once: one at a time.
        let second = await server.server.stop(gracePeriod: .seconds(30))
        #expect(second == 0)
        // A plain stop while the first waits: it returns, and so does the wait.
        let stopper = Thread { server.server.stop() }
        stopper.start()
        // What it returns is what it cut: nothing, or the profile's connection if it got there before stop().
        #expect(await first.value <= 1)
        let (_, closed) = connection.readUntilClosed(timeout: 30)
        #expect(closed)
        #expect(throws: (any Error).self, "nothing listens any more") { try RawConnection(port: server.port) }
    }
}
