import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PMP
import PMPTestSupport
import Testing

/// pmp-demo as a service: its own API on SwiftNIO, every request an entry of the process table, and the
/// profiler's endpoints beside it — driven over real sockets.
@Suite("pmp-demo as a service", .timeLimit(.minutes(2))) struct DemoServiceTests {
    private static let serviceArguments = ["--threads", "2", "--busy", "0", "--tasks", "0",
                                           "--serve", "127.0.0.1:0", "--pmp", "127.0.0.1:0"]

    @Test("/procs?tasks=1 says where each request's task is suspended; its history the whole async backtrace")
    func requestsShowTheirTasks() async throws {
        let demo = try DemoProcess(Self.serviceArguments)
        defer { demo.stop() }
        let api = try #require(demo.servingURL)
        let pmp = try #require(demo.pmpURL)
        let client = Task { try await HTTP.send("GET", "\(api)/work?ms=4000", headers: ["X-Request-ID": "tasked"], timeout: 30) }
        defer { client.cancel() }
        var entry: [String: Any]?
        let deadline = Date().addingTimeInterval(10)
        while entry == nil, Date() < deadline {
            let answer = try await HTTPClient.get(pmp + "/procs?tasks=1")
            #expect(answer.status == 200)
            let object = try JSONSerialization.jsonObject(with: answer.body) as? [String: Any]
            let procs = object?["procs"] as? [[String: Any]] ?? []
            entry = procs.first { proc in
                let attrs = proc["attrs"] as? [[String: Any]] ?? []
                return attrs.contains { $0["name"] as? String == "uri" && $0["value"] as? String == "/work?ms=4000" }
                    && proc["task"] is [String: Any]
            }
            if entry == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        let listed = try #require(entry, "the request's entry with its task")
        let task = try #require(listed["task"] as? [String: Any])
        #expect(task["stateKind"] as? String == "sleeping", "\(task)")
        let frames = try #require(task["frames"] as? [[String: Any]])
        #expect(frames.count <= 3 && !frames.isEmpty)
        #expect(task["truncated"] as? Bool == true, "cut to the innermost frames")

        let id = try #require(listed["id"] as? String)
        let history = try await HTTPClient.get(pmp + "/procs/\(id)/history?tasks=1")
        #expect(history.status == 200)
        let historyObject = try #require(try JSONSerialization.jsonObject(with: history.body) as? [String: Any])
        #expect(historyObject["history"] is [[String: Any]])
        let whole = try #require(historyObject["task"] as? [String: Any])
        let chain = (whole["frames"] as? [[String: Any]] ?? []).compactMap { $0["function"] as? String }
        #expect(chain.contains { $0.contains("DemoEndpoints.work(") }, "\(chain)")
        #expect(chain.count > frames.count)

        // Without the flag the shapes are pm's: no task key.
        let plain = try await HTTPClient.get(pmp + "/procs")
        #expect(!plain.text.contains("\"task\""))
        let missing = try await HTTPClient.get(pmp + "/procs/no-such-id/history?tasks=1")
        #expect(missing.status == 404)
        let bad = try await HTTPClient.get(pmp + "/procs?tasks=maybe")
        #expect(bad.status == 400)
    }

    @Test("in-flight /work requests are listed in /procs with their status and history; DELETE cancels one")
    func inFlightRequestsAndCancel() async throws {
        let demo = try DemoProcess(Self.serviceArguments)
        defer { demo.stop() }
        let api = try #require(demo.servingURL)
        let pmp = try #require(demo.pmpURL)
        #expect(api.hasPrefix("http://127.0.0.1:") && !api.hasSuffix(":0"), "the port the system chose: \(api)")
        #expect(pmp.hasPrefix("http://127.0.0.1:") && pmp != api)

        let requestIDs = ["slow-0", "slow-1", "slow-2"]
        let clients = requestIDs.map { requestID in
            Task { try await HTTP.send("GET", "\(api)/work?ms=3000", headers: ["X-Request-ID": requestID], timeout: 30) }
        }

        // All three in flight, each past "init" in one of its steps.
        var inFlight: [String: ListedProcess] = [:]
        let deadline = Date().addingTimeInterval(10)
        while inFlight.count < 3 || inFlight.values.contains(where: { $0.status == "init" }), Date() < deadline {
            inFlight = Dictionary(try await HTTP.processes(pmp).filter { $0.attrs["uri"] == "/work?ms=3000" }
                .map { ($0.attrs["request-id"] ?? "", $0) }, uniquingKeysWith: { first, _ in first })
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(Set(inFlight.keys) == Set(requestIDs), "in flight: \(inFlight)")
        for process in inFlight.values {
            #expect(["reading", "querying", "rendering"].contains(process.status))
            #expect(process.attrs["method"] == "GET")
            #expect(process.attrs["remote"]?.hasPrefix("127.0.0.1:") == true)
            #expect(process.cancelling == false)
        }

        // The first one's history so far: init, then its steps in order.
        let first = try #require(inFlight["slow-0"])
        let earlyHistory = try await HTTP.history(pmp, id: first.id)
        #expect(earlyHistory.first == "init")
        #expect(Array(earlyHistory.dropFirst()) == Array(["reading", "querying", "rendering"].prefix(earlyHistory.count - 1)))

        // Cancel it: 200, and its client gets the cancelled answer with the message, long before the others.
        let cancel = try await HTTP.send("DELETE", "\(pmp)/procs/\(first.id)", body: #"{"message": "too slow"}"#)
        #expect(cancel.status == 200, "DELETE answered \(cancel)")
        let cancelledAnswer = try await clients[0].value
        #expect(cancelledAnswer.status == 503)
        #expect(cancelledAnswer.body == "cancelled: too slow\n")
        for client in clients.dropFirst() {
            let answer = try await client.value
            #expect(answer.status == 200)
            #expect(answer.body.hasPrefix("worked 3000 ms as "))
        }

        // Final statuses are recorded; the finished entries are listed when asked.
        let finished = try await HTTP.processes(pmp, includingFinished: true)
            .filter { requestIDs.contains($0.attrs["request-id"] ?? "") }
        #expect(finished.count == 3)
        #expect(finished.first { $0.id == first.id }?.status == "cancelled")
        #expect(finished.filter { $0.status == "ended" }.count == 2)
        #expect(try await HTTP.processes(pmp).allSatisfy { !requestIDs.contains($0.attrs["request-id"] ?? "") },
                "finished entries are not listed as in flight")

        let cancelledHistory = try await HTTP.history(pmp, id: first.id)
        #expect(cancelledHistory.first == "init")
        #expect(cancelledHistory.contains("[cancel request: too slow]"))
        #expect(cancelledHistory.last == "cancelled")
        for other in finished where other.id != first.id {
            #expect(try await HTTP.history(pmp, id: other.id) == ["init", "reading", "querying", "rendering", "ended"])
        }

        // A finished entry, and one that never was, cannot be cancelled.
        #expect(try await HTTP.send("DELETE", "\(pmp)/procs/\(first.id)").status == 404)
        #expect(try await HTTP.send("DELETE", "\(pmp)/procs/no-such-id").status == 404)
        #expect(demo.isAlive)
    }

    @Test("a client that hangs up cancels its work: the entry ends as cancelled")
    func clientHangsUp() async throws {
        let demo = try DemoProcess(Self.serviceArguments)
        defer { demo.stop() }
        let api = try #require(demo.servingURL)
        let pmp = try #require(demo.pmpURL)

        let connection = try PlainConnection(url: api)
        connection.send("GET /work?ms=20000 HTTP/1.1\r\nHost: demo\r\nX-Request-ID: hangs-up\r\n\r\n")
        var entry: ListedProcess?
        let deadline = Date().addingTimeInterval(10)
        while entry == nil, Date() < deadline {
            entry = try await HTTP.processes(pmp).first { $0.attrs["request-id"] == "hangs-up" && $0.status != "init" }
            try await Task.sleep(for: .milliseconds(20))
        }
        let id = try #require(entry?.id, "the request never showed in /procs")
        connection.close()

        var status = ""
        while status != "cancelled", Date() < deadline {
            status = try await HTTP.processes(pmp, includingFinished: true).first { $0.id == id }?.status ?? ""
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(status == "cancelled", "the entry of a request whose client left is \(status)")
        #expect(try await HTTP.history(pmp, id: id).last == "cancelled")
    }

    @Test("/hello answers at once through the table; bad requests are answered 400, 404, 405")
    func helloAndBadRequests() async throws {
        let demo = try DemoProcess(Self.serviceArguments)
        defer { demo.stop() }
        let api = try #require(demo.servingURL)
        let pmp = try #require(demo.pmpURL)

        let hello = try await HTTP.send("GET", "\(api)/hello", headers: ["X-Request-ID": "greeter"])
        #expect(hello.status == 200)
        #expect(hello.body == "hello\n")
        let entry = try #require(try await HTTP.processes(pmp, includingFinished: true)
            .first { $0.attrs["request-id"] == "greeter" })
        #expect(entry.attrs["uri"] == "/hello")
        #expect(entry.status == "ended")
        #expect(try await HTTP.history(pmp, id: entry.id) == ["init", "greeting", "ended"])

        // Generated request ids differ from one request to the next.
        _ = try await HTTP.send("GET", "\(api)/hello")
        _ = try await HTTP.send("GET", "\(api)/hello")
        let generated = try await HTTP.processes(pmp, includingFinished: true)
            .filter { $0.attrs["uri"] == "/hello" && $0.attrs["request-id"] != "greeter" }
        #expect(generated.count == 2)
        #expect(Set(generated.compactMap { $0.attrs["request-id"] }).count == 2)

        #expect(try await HTTP.send("GET", "\(api)/work?ms=soon").status == 400)
        #expect(try await HTTP.send("GET", "\(api)/work?ms=-1").status == 400)
        #expect(try await HTTP.send("GET", "\(api)/nowhere").status == 404)
        #expect(try await HTTP.send("POST", "\(api)/hello", body: "x").status == 405)
        let quick = try await HTTP.send("GET", "\(api)/work?ms=0")
        #expect(quick.status == 200)
        #expect(demo.isAlive)
    }

    @Test("--wedge: /stacks still answers within a second and shows the blocked pool threads and event loops")
    func wedged() async throws {
        let demo = try DemoProcess(Self.serviceArguments + ["--wedge"])
        defer { demo.stop() }
        let api = try #require(demo.servingURL)
        let pmp = try #require(demo.pmpURL)

        // "wedged cooperative-threads=2/2 event-loops=2/2": every one it aimed at is blocked.
        let wedgedLine = try demo.nextStdoutLine()
        let counts = wedgedLine.split(separator: " ").dropFirst().map { part in
            part.split(separator: "=")[1].split(separator: "/").map { Int($0)! }
        }
        try #require(wedgedLine.hasPrefix("wedged") && counts.count == 2, "stdout said \(wedgedLine)")
        let (cooperative, eventLoops) = (counts[0][0], counts[1][0])
        #expect(cooperative == counts[0][1] && cooperative >= 1, "\(wedgedLine)")
        #expect(eventLoops == counts[1][1] && eventLoops >= 1, "\(wedgedLine)")

        // The demo's own API is stuck for real: a request is accepted by the kernel but never answered.
        let stuck = try PlainConnection(url: api)
        stuck.send("GET /hello HTTP/1.1\r\nHost: demo\r\n\r\n")
        #expect(!stuck.receivesBytes(within: .milliseconds(500)), "the wedged demo answered /hello")

        // The first capture symbolizes every stack (cold caches); it is timed but given more room. The next ones
        // are what a person polling a stuck process sees.
        var timings: [String] = []
        for (attempt, format) in ["text", "json", "text", "json"].enumerated() {
            let start = ContinuousClock.now
            let stacks = try await HTTP.send("GET", "\(pmp)/stacks?format=\(format)", timeout: 10)
            let elapsed = ContinuousClock.now - start
            timings.append("\(format) \(elapsed)")
            #expect(stacks.status == 200)
            if attempt > 0 {
                #expect(elapsed < .seconds(1), "GET /stacks?format=\(format) took \(elapsed) with every app thread stuck")
            }

            let functionsPerThread: [[String]]
            if format == "text" {
                let dump = try #require(DumpParser.parse(stacks.body).first)
                functionsPerThread = dump.snapshot.threads.map { $0.frames.map(\.function) }
            } else {
                functionsPerThread = try StacksJSON.functionsPerThread(stacks.body)
            }
            let inPool = functionsPerThread.filter { $0.contains { $0.contains("Wedge.blockCooperativeThread") } }
            let inLoops = functionsPerThread.filter { $0.contains { $0.contains("Wedge.blockEventLoop") } }
            #expect(inPool.count == cooperative, "\(format): \(inPool.count) threads in Wedge.blockCooperativeThread")
            #expect(inLoops.count == eventLoops, "\(format): \(inLoops.count) threads in Wedge.blockEventLoop")
        }
        print("DemoServiceTests: GET /stacks while wedged:", timings.joined(separator: ", "))
        #expect(demo.isAlive)
    }
}

/// One entry of `GET /procs`, as pm's JSON has it.
private struct ListedProcess: CustomStringConvertible {
    let id: String
    let attrs: [String: String]
    let status: String
    let cancelling: Bool

    var description: String { "\(id) \(status) \(attrs)" }
}

/// A small HTTP client over URLSession, for requests whose answers are checked.
private enum HTTP {
    struct Answer: CustomStringConvertible {
        let status: Int
        let body: String
        var description: String { "\(status) \(body)" }
    }

    static func send(_ method: String, _ url: String, headers: [String: String] = [:], body: String? = nil,
                     timeout: TimeInterval = 10) async throws -> Answer {
        var request = URLRequest(url: URL(string: url)!, timeoutInterval: timeout)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body { request.httpBody = Data(body.utf8) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? -1
        return Answer(status: status, body: String(decoding: data, as: UTF8.self))
    }

    static func processes(_ pmp: String, includingFinished: Bool = false) async throws -> [ListedProcess] {
        let answer = try await send("GET", "\(pmp)/procs" + (includingFinished ? "?all=1" : ""))
        try #require(answer.status == 200, "GET /procs: \(answer)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])
        #expect(object["serverTime"] is String)
        let procs = try #require(object["procs"] as? [[String: Any]])
        return try procs.map { proc in
            // pm writes attributes as a list of name/value pairs and leaves it out when there are none.
            let attributeList = proc["attrs"] as? [[String: Any]] ?? []
            let attributes = Dictionary(attributeList.compactMap { pair in
                (pair["name"] as? String).map { ($0, "\(pair["value"] ?? "")") }
            }, uniquingKeysWith: { first, _ in first })
            #expect(proc["procTime"] is String && proc["statusTime"] is String)
            return ListedProcess(id: try #require(proc["id"] as? String), attrs: attributes,
                                 status: try #require(proc["status"] as? String),
                                 cancelling: proc["cancelling"] as? Bool ?? false)
        }
    }

    /// The statuses of `GET /procs/{id}/history`, oldest first.
    static func history(_ pmp: String, id: String) async throws -> [String] {
        let answer = try await send("GET", "\(pmp)/procs/\(id)/history")
        try #require(answer.status == 200, "GET /procs/\(id)/history: \(answer)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])
        let history = try #require(object["history"] as? [[String: Any]])
        return history.compactMap { $0["status"] as? String }
    }
}

/// `GET /stacks?format=json`: the functions of each thread's frames, leaf first.
private enum StacksJSON {
    static func functionsPerThread(_ body: String) throws -> [[String]] {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        let threads = try #require(object["threads"] as? [[String: Any]])
        return threads.map { thread in
            (thread["frames"] as? [[String: Any]] ?? []).compactMap { $0["function"] as? String }
        }
    }
}

/// A plain TCP connection, for clients URLSession does not play: one that hangs up before the answer, one that
/// waits for an answer that does not come.
private final class PlainConnection {
    private let socket: Int32
    private var isOpen = true

    init(url: String) throws {
        // http://HOST:PORT, as the demo prints it.
        let hostAndPort = url.replacingOccurrences(of: "http://", with: "").split(separator: ":")
        try #require(hostAndPort.count == 2, "not an IPv4 URL: \(url)")
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(try #require(UInt16(hostAndPort[1]))).bigEndian
        inet_pton(AF_INET, String(hostAndPort[0]), &address.sin_addr)
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(connected == 0, "connect to \(url): errno \(errno)")
    }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(socket, $0.baseAddress, $0.count) }
    }

    /// Whether anything (an answer, or the connection closing) arrives within `timeout`.
    func receivesBytes(within timeout: Duration) -> Bool {
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        return poll(&descriptor, 1, milliseconds) > 0
    }

    func close() {
        if isOpen { Glibc.close(socket) }
        isOpen = false
    }

    deinit { close() }
}
