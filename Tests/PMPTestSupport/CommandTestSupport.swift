import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The built `pmp` executable, run as a real process.
package enum PMPTool {
    package static var executable: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("pmp").path
    }

    package static func run(_ arguments: [String], environment: [String: String] = [:], timeout: Double = 120) throws -> ToolRun {
        // Without a token in the environment unless a test gives one.
        var environment = environment
        if environment["PMP_TOKEN"] == nil { environment["PMP_TOKEN"] = "" }
        return try ToolRun.run(executable, arguments, environment: environment, timeout: timeout)
    }
}

/// Two `pmp-demo` services with their profiler endpoints, and addresses where nothing answers.
package final class DemoFleet: @unchecked Sendable {
    package let demos: [DemoProcess]

    package init(count: Int = 2, environment: [String: String] = [:]) throws {
        demos = try (0..<count).map { _ in
            try DemoProcess(["--threads", "4", "--busy", "0", "--tasks", "0", "--serve", "127.0.0.1:0", "--pmp", "127.0.0.1:0"],
                            environment: environment)
        }
    }

    deinit { stop() }

    package func stop() { demos.forEach { $0.stop() } }

    /// The demos' APIs, `http://127.0.0.1:PORT`.
    package func api(_ index: Int) throws -> String { try #require(demos[index].servingURL) }

    /// The demos' profiler endpoints, `127.0.0.1:PORT` (how users type an ENDPOINT).
    package func endpoint(_ index: Int) throws -> String {
        try #require(demos[index].pmpURL).replacingOccurrences(of: "http://", with: "")
    }

    /// The id the process table gave the request sent with `X-Request-ID: requestID`, once it is in flight.
    package func processID(requestID: String, on index: Int, timeout: Double = 15) async throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let answer = try await HTTPClient.get("http://\(try endpoint(index))/procs")
            let procs = try #require(try answer.json()["procs"] as? [[String: Any]])
            for proc in procs {
                let attrs = proc["attrs"] as? [[String: Any]] ?? []
                if attrs.contains(where: { $0["name"] as? String == "request-id" && $0["value"] as? String == requestID }),
                   proc["status"] as? String != "init", let id = proc["id"] as? String {
                    return id
                }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("request \(requestID) never showed in /procs")
    }

    /// Starts a slow request on demo `index`; its answer is the task's value.
    package func slowRequest(on index: Int, requestID: String, milliseconds: Int = 30_000) throws -> Task<HTTPAnswer, any Error> {
        let url = try api(index) + "/work?ms=\(milliseconds)"
        return Task { try await HTTPClient.request(url, headers: ["X-Request-ID": requestID]) }
    }
}

/// Loopback ports for endpoints that fail: one nobody listens on, one that accepts connections and never answers.
package enum DeadEndpoints {
    /// A port that was free a moment ago: connecting is refused.
    package static func refusingPort() throws -> Int {
        let listener = try Listener()
        return listener.port
    }

    /// A listening socket that is never accepted from: connections complete (the kernel's backlog), answers never
    /// come.
    package final class Listener: @unchecked Sendable {
        package let descriptor: Int32
        package let port: Int

        package init(backlog: Int32 = 128) throws {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            self.descriptor = descriptor
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                    bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
                }
            }
            guard bound, listen(descriptor, backlog) == 0 else {
                close(descriptor)
                throw TestFailure("cannot listen on a loopback port: errno \(errno)")
            }
            port = Int(UInt16(bigEndian: address.sin_port))
        }

        deinit { close(descriptor) }
    }
}
