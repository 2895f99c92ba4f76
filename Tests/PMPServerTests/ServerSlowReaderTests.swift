import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPServer
import PMPTestSupport
import Testing

/// Clients that ask for a large answer and never read it: the write timeout ends them, and everyone else is
/// answered meanwhile.
/// Serialized: these tests wait on sockets synchronously, and the cooperative pool may be two threads wide.
@Suite("PMPServer with clients that never read", .serialized) struct ServerSlowReaderTests {
    /// Entries whose attributes make `GET /procs` an answer of about 8 MB: far more than the kernel's send and
    /// receive buffers of a loopback connection hold, so most of it waits in the server.
    static func largeTable() -> (ProcessTable, [ProcessHandle]) {
        let table = ProcessTable()
        let payload = AttributeValue.string(String(repeating: "x", count: 8192))
        let handles = (0..<1000).map { index in table.register(attributes: ["index": .number(Double(index)), "payload": payload]) }
        return (table, handles)
    }

    @Test("a client with a tiny receive buffer that never reads its large answer is dropped after the write timeout; others are answered meanwhile")
    func writeTimeoutDropsNonReader() throws {
        try Self.dropsNonReaders(limits: PMPServerLimits(writeTimeout: .seconds(2)))
    }

    /// Three clients ask for `GET /procs` and never read; the test serves others until the server has closed
    /// its end of each, and measures its own resident memory meanwhile.
    static func dropsNonReaders(limits: PMPServerLimits) throws {
        let (table, handles) = largeTable()
        defer { handles.forEach { $0.finish() } }
        let server = try TestServer(limits: limits, table: table)
        // The size of the answer, read by a client that reads.
        let reader = try RawConnection(port: server.port)
        try reader.send("GET /procs HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let full = try reader.readResponse(timeout: 60)
        #expect(full.status == 200)
        #expect(full.body.count > 8_000_000, "\(full.body.count) bytes")
        let baseline = try #require(residentKiB())

        let hogs = try (0..<3).map { _ in try RawConnection(port: server.port, receiveBuffer: 1024) }
        for hog in hogs { try hog.send("GET /procs HTTP/1.1\r\nHost: localhost\r\n\r\n") }
        let ports = hogs.map(localPort)
        // Each answer started (peeked at, not read): a connection still in the listen backlog has no socket in
        // the process either.
        try pollUntil(seconds: 60) {
            hogs.allSatisfy { hog in
                var byte: UInt8 = 0
                return recv(hog.fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) == 1
            }
        }

        // Until the server has let go of every hog: others are answered all along.
        var answered = 0
        var failed: [String] = []
        var peak = baseline
        let deadline = Date().addingTimeInterval(60)
        while ports.contains(where: { serverEndIsOpen(serverPort: server.port, clientPort: $0) }) {
            guard Date() < deadline else { break }
            let other = try RawConnection(port: server.port)
            try other.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            if let response = try? other.readResponse(timeout: 10), response.status == 200 {
                answered += 1
            } else {
                failed.append("/health")
            }
            peak = max(peak, residentKiB() ?? 0)
            usleep(100_000)
        }
        let open = ports.filter { serverEndIsOpen(serverPort: server.port, clientPort: $0) }
        #expect(open.isEmpty, "the server still holds \(open.count) of \(ports.count) connections that never read")
        #expect(answered >= 1 && failed.isEmpty, "\(answered) answered meanwhile, failed: \(failed)")
        // Three unsent answers of 8 MB each at most, and their encoding.
        #expect(!Sanitizer.boundsMemory("the server's resident memory") || peak - baseline < 256 * 1024,
                "resident memory grew by \((peak - baseline) / 1024) MiB")

        // What a hog gets when it reads at last: the start of its answer, then the end of the connection.
        for hog in hogs {
            let (bytes, closed) = hog.readUntilClosed(timeout: 30)
            #expect(closed, "closed by the server")
            #expect(bytes.count < full.body.count, "cut short: \(bytes.count) of \(full.body.count) bytes")
        }
        let after = try RawConnection(port: server.port)
        try after.send("GET /procs HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try after.readResponse(timeout: 60).status == 200)
    }

    /// The local port of a connected socket.
    static func localPort(_ connection: RawConnection) -> Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(connection.fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether this process has a socket open for the server's end of the loopback connection from `clientPort`:
    /// in /proc/net/tcp, a socket closed by its process keeps its line while the kernel sends what is left, with
    /// inode 0 (as does one not accepted yet).
    static func serverEndIsOpen(serverPort: Int, clientPort: Int) -> Bool {
        // Read to the end: String(contentsOfFile:) gets only the first chunk of a /proc file, and a suite's
        // closed sockets (TIME_WAIT) fill that chunk long before the hogs' lines.
        let fd = open("/proc/net/tcp", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[0..<count]
        }
        let table = String(decoding: bytes, as: UTF8.self)
        func hex(_ port: Int) -> String {
            let digits = String(port, radix: 16, uppercase: true)
            return ":" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
        }
        let local = hex(serverPort)
        let remote = hex(clientPort)
        return table.split(separator: "\n").dropFirst().contains { line in
            let fields = line.split(separator: " ")
            guard fields.count > 9 else { return false }
            return fields[1].hasSuffix(local) && fields[2].hasSuffix(remote) && fields[9] != "0"
        }
    }

    /// VmRSS of this process, in KiB.
    static func residentKiB() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
        return Int(line.split(separator: " ").dropFirst().first ?? "")
    }
}
