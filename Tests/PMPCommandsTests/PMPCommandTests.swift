import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPServer
import PMPTestSupport
import Testing

/// The built `pmp` executable against live `pmp-demo` endpoints (and an in-process server where the demo cannot
/// produce the case), and against endpoints where nothing answers.
@Suite("pmp command", .serialized, .timeLimit(.minutes(3))) struct PMPCommandTests {
    @Test("pmp dump: the text dump parses back, JSON has the demo's threads; a dead endpoint is a clear error")
    func dump() async throws {
        let fleet = try DemoFleet(count: 1)
        let endpoint = try fleet.endpoint(0)

        let text = try PMPTool.run(["dump", endpoint])
        #expect(text.status == 0, "stderr: \(text.stderr)")
        let dumps = DumpParser.parse(text.stdout)
        try #require(dumps.count == 1, "one dump in: \(text.stdout.prefix(500))")
        #expect(dumps[0].snapshot.pid == fleet.demos[0].pid)
        #expect(dumps[0].snapshot.threads.contains { $0.waitReason == .conditionWait }, "the demo's condition-wait worker")

        let json = try PMPTool.run(["dump", "http://\(endpoint)", "--format", "json"])
        #expect(json.status == 0, "stderr: \(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["pid"] as? Int == Int(fleet.demos[0].pid))
        let threads = try #require(object["threads"] as? [[String: Any]])
        #expect(threads.contains { $0["name"] as? String == "main" })
        // Every frame has its short and its full name; the full one keeps module and types.
        let frames = threads.flatMap { $0["frames"] as? [[String: Any]] ?? [] }
        #expect(!frames.isEmpty && frames.allSatisfy { $0["function"] is String && $0["fullFunction"] is String })
        let condition = try #require(frames.first { ($0["function"] as? String) == "static Workers.blockedInConditionWait()" })
        #expect(condition["fullFunction"] as? String == "static pmp_demo.Workers.blockedInConditionWait() -> ()")

        // --full-names: the dump shows the full names, and still parses back.
        let full = try PMPTool.run(["dump", endpoint, "--full-names"])
        #expect(full.status == 0, "stderr: \(full.stderr)")
        #expect(full.stdout.contains(" static pmp_demo.Workers.blockedInConditionWait() -> () at "))
        #expect(!text.stdout.contains("pmp_demo.Workers"), "short names by default")
        #expect(DumpParser.parse(full.stdout).count == 1)

        // --group folds one capture's threads: every thread of that capture is in exactly one group. (Checked
        // against the grouped capture's own count: the demo's pool threads come and go between two captures.)
        let grouped = try PMPTool.run(["dump", endpoint, "--format", "json", "--group"])
        #expect(grouped.status == 0, "stderr: \(grouped.stderr)")
        let groupedObject = try #require(try JSONSerialization.jsonObject(with: Data(grouped.stdout.utf8)) as? [String: Any])
        let groups = try #require(groupedObject["groups"] as? [[String: Any]])
        let groupedThreads = groups.flatMap { $0["threads"] as? [[String: Any]] ?? [] }
        let capturedCount = try #require(groupedObject["threadCount"] as? Int)
        #expect(object["threadCount"] as? Int == threads.count, "threadCount counts the threads listed")
        #expect(groups.reduce(0) { $0 + ($1["count"] as? Int ?? 0) } == capturedCount)
        #expect(groupedThreads.count == capturedCount)
        #expect(Set(groupedThreads.compactMap { $0["tid"] as? Int }).count == capturedCount, "no thread in two groups")
        // The demo's own threads live as long as it does: each is in both captures.
        let workers = { (list: [[String: Any]]) in
            Set(list.filter { thread in
                let name = thread["name"] as? String ?? ""
                return name == "main" || name.hasSuffix("lock-holder")
                    || ["cond-", "mutex-", "sleep-", "read-"].contains { name.hasPrefix($0) }
            }.compactMap { $0["tid"] as? Int })
        }
        #expect(workers(threads).count >= 6 && workers(threads) == workers(groupedThreads))

        let port = try DeadEndpoints.refusingPort()
        let dead = try PMPTool.run(["dump", "127.0.0.1:\(port)"])
        #expect(dead.status == 1)
        #expect(dead.stderr.contains("cannot connect to 127.0.0.1:\(port): connection refused"), "stderr: \(dead.stderr)")

        let nonsense = try PMPTool.run(["dump", "not an endpoint"])
        #expect(nonsense.status == 64)
        #expect(nonsense.stderr.contains("not an endpoint"))
    }

    @Test("pmp dump over a unix socket, and with a token from PMP_TOKEN or --token")
    func unixSocketAndToken() async throws {
        let socketPath = NSTemporaryDirectory() + "pmp-cli-\(UUID().uuidString.prefix(8)).sock"
        let demo = try DemoProcess(["--threads", "2", "--busy", "0", "--tasks", "0"],
                                   environment: ["PMP_LISTEN": socketPath, "PMP_TOKEN": "s3cret"])
        defer { demo.stop() }

        let refused = try PMPTool.run(["dump", socketPath])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("\(socketPath) needs a token: set PMP_TOKEN or pass --token"), "stderr: \(refused.stderr)")

        let wrong = try PMPTool.run(["dump", socketPath, "--token", "guess"])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("refused the token"), "stderr: \(wrong.stderr)")

        for run in [try PMPTool.run(["dump", "unix:" + socketPath], environment: ["PMP_TOKEN": "s3cret"]),
                    try PMPTool.run(["dump", socketPath, "--token", "s3cret"])] {
            #expect(run.status == 0, "stderr: \(run.stderr)")
            #expect(DumpParser.parse(run.stdout).first?.snapshot.pid == demo.pid)
        }

        let missing = try PMPTool.run(["dump", socketPath + ".missing"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("cannot connect to \(socketPath).missing: no such file or directory"),
                "stderr: \(missing.stderr)")
    }

    @Test("pmp record writes valid .svg, .pb.gz and .folded files, the format from the extension")
    func record() async throws {
        let fleet = try DemoFleet(count: 1)
        let endpoint = try fleet.endpoint(0)
        let directory = NSTemporaryDirectory() + "pmp-record-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let svgPath = directory + "/flame.svg"
        let svg = try PMPTool.run(["record", endpoint, "--seconds", "1", "--hz", "50", "-o", svgPath])
        #expect(svg.status == 0, "stderr: \(svg.stderr)")
        #expect(svg.stderr.contains("wrote \(svgPath)"), "stderr: \(svg.stderr)")
        let svgData = try Data(contentsOf: URL(fileURLWithPath: svgPath))
        let parser = XMLParser(data: svgData)
        let root = RootElement()
        parser.delegate = root
        #expect(parser.parse(), "the SVG is well-formed XML: \(parser.parserError.map { "\($0)" } ?? "")")
        #expect(root.name == "svg")
        #expect(String(decoding: svgData, as: UTF8.self).contains("blockedInConditionWait"), "the demo's frames are in the graph")

        let pprofPath = directory + "/cpu.pb.gz"
        let pprof = try PMPTool.run(["record", "http://\(endpoint)/", "--seconds", "1", "--hz", "50", "-o", pprofPath])
        #expect(pprof.status == 0, "stderr: \(pprof.stderr)")
        let pprofBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: pprofPath)))
        #expect(pprofBytes.starts(with: [0x1F, 0x8B]), "gzip magic")
        let profile = try PprofParser.parse(pprofBytes)
        #expect(profile.stacks.reduce(0) { $0 + $1.count } > 0)
        #expect(profile.stacks.contains { $0.frames.contains { $0.function.contains("blockedOnMutexLock") } })

        let foldedPath = directory + "/blocked.folded"
        let folded = try PMPTool.run(["record", endpoint, "--seconds", "0.5", "--hz", "40", "--by-state", "-o", foldedPath])
        #expect(folded.status == 0, "stderr: \(folded.stderr)")
        let foldedText = try String(contentsOfFile: foldedPath, encoding: .utf8)
        let foldedProfile = try FoldedParser.parse(foldedText)
        #expect(!foldedProfile.stacks.isEmpty)
        #expect(foldedText.split(separator: "\n").contains { $0.hasPrefix("[condition wait];") }, "the wait reason as the root frame")

        let unknown = try PMPTool.run(["record", endpoint, "-o", directory + "/profile.dat"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("cannot tell the format from the name"))

        let tooLong = try PMPTool.run(["record", endpoint, "--seconds", "600", "-o", directory + "/long.svg"])
        #expect(tooLong.status == 1)
        #expect(tooLong.stderr.contains("answered 400"), "the endpoint's limit, in its words: \(tooLong.stderr)")
    }

    @Test("pmp cancel: a real in-flight request (200, its client gets the message), an unknown id (404)")
    func cancel() async throws {
        let fleet = try DemoFleet(count: 1)
        let endpoint = try fleet.endpoint(0)
        let answer = try fleet.slowRequest(on: 0, requestID: "cli-cancel")
        let id = try await fleet.processID(requestID: "cli-cancel", on: 0)

        let cancelled = try PMPTool.run(["cancel", endpoint, id, "--message", "too slow"])
        #expect(cancelled.status == 0, "stderr: \(cancelled.stderr)")
        #expect(cancelled.stdout == "cancelled \(id) on \(endpoint)\n")
        let reply = try await answer.value
        #expect(reply.status == 503)
        #expect(reply.text == "cancelled: too slow\n")
        let history = try await HTTPClient.get("http://\(endpoint)/procs/\(id)/history").json()["history"] as? [[String: Any]]
        #expect(history?.contains { $0["status"] as? String == "[cancel request: too slow]" } == true)

        let again = try PMPTool.run(["cancel", endpoint, id])
        #expect(again.status == 3)
        #expect(again.stderr.contains("no entry \(id) is in flight on \(endpoint)"), "stderr: \(again.stderr)")
        let unknown = try PMPTool.run(["cancel", endpoint, "no-such-id"])
        #expect(unknown.status == 3)

        let port = try DeadEndpoints.refusingPort()
        let dead = try PMPTool.run(["cancel", "127.0.0.1:\(port)", id])
        #expect(dead.status == 1)
        #expect(dead.stderr.contains("connection refused"))
    }

    @Test("pmp cancel: an entry that forbids cancel (403) and a token that is missing or wrong (401)")
    func cancelRefused() async throws {
        let table = ProcessTable()
        let server = try TestServer(token: "s3cret", table: table)
        let process = table.register(attributes: ["job": "nightly-export"], forbidsCancel: true)
        defer { process.finish(status: "ended") }
        let endpoint = "127.0.0.1:\(server.port)"

        let forbidden = try PMPTool.run(["cancel", endpoint, process.id, "--token", "s3cret"])
        #expect(forbidden.status == 4)
        #expect(forbidden.stderr.contains("\(endpoint) refused to cancel \(process.id): process \(process.id) may not be cancelled"),
                "stderr: \(forbidden.stderr)")

        let noToken = try PMPTool.run(["cancel", endpoint, process.id])
        #expect(noToken.status == 5)
        #expect(noToken.stderr.contains("needs a token"))
        let wrongToken = try PMPTool.run(["cancel", endpoint, process.id], environment: ["PMP_TOKEN": "nope"])
        #expect(wrongToken.status == 5)
        #expect(wrongToken.stderr.contains("refused the token"))
        #expect(table.process(id: process.id)?.isCancelRequested == false)
    }

    @Test("pmp link: one web-UI URL carrying every endpoint; the first endpoint serves the page")
    func link() async throws {
        let plain = try PMPTool.run(["link", "--endpoints", "h1:9084,h2:9085", "--endpoints", "http://h3:80/pmp"])
        #expect(plain.status == 0, "stderr: \(plain.stderr)")
        #expect(plain.stdout == "http://h1:9084/#/procs?host=h1:9084,h2:9085,h3:80/pmp\n")

        let ui = try PMPTool.run(["link", "--endpoints", "h1:9084,[::1]:9084", "--ui", "https://pmp.example.internal/fleet#old"])
        #expect(ui.stdout == "https://pmp.example.internal/fleet#/procs?host=h1:9084,[::1]:9084\n")

        let prefixed = try PMPTool.run(["link", "--endpoints", "http://gateway:8080/pmp/a/,gateway:8081"])
        #expect(prefixed.stdout == "http://gateway:8080/pmp/a/#/procs?host=gateway:8080/pmp/a,gateway:8081\n")

        let socket = try PMPTool.run(["link", "--endpoints", "h1:9084,/run/app/pmp.sock"])
        #expect(socket.status == 64)
        #expect(socket.stderr.contains("a browser cannot reach it"))
        #expect(try PMPTool.run(["link"]).status == 64)

        // The URL's page is really served by the first endpoint.
        let fleet = try DemoFleet()
        let live = try PMPTool.run(["link", "--endpoints", "\(try fleet.endpoint(0)),\(try fleet.endpoint(1))"])
        let url = live.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(url == "http://\(try fleet.endpoint(0))/#/procs?host=\(try fleet.endpoint(0)),\(try fleet.endpoint(1))")
        let page = try await HTTPClient.get(String(url.prefix { $0 != "#" }))
        #expect(page.status == 200)
        #expect(page.headers["content-type"]?.hasPrefix("text/html") == true)
    }

    @Test("pmp aggregate is pmp-aggregate: same output for the same dumps")
    func aggregate() async throws {
        let fixture = ToolRun.fixtures("gdb").appendingPathComponent("pmp-demo-12-threads.txt").path
        let viaPMP = try PMPTool.run(["aggregate", "--format", "folded", fixture])
        let aggregator = URL(fileURLWithPath: PMPTool.executable).deletingLastPathComponent().appendingPathComponent("pmp-aggregate").path
        let viaAggregate = try ToolRun.run(aggregator, ["--format", "folded", fixture])
        #expect(viaPMP.status == 0, "stderr: \(viaPMP.stderr)")
        #expect(!viaPMP.stdout.isEmpty)
        #expect(viaPMP.stdout == viaAggregate.stdout)
        let help = try PMPTool.run(["aggregate", "--help"])
        #expect(help.stdout.contains("pmp aggregate --frames 8 --by-state app.log"))
    }

    @Test("--help of every command teaches with examples")
    func help() throws {
        for command in ["dump", "record", "top", "cancel", "link", "aggregate"] {
            let help = try PMPTool.run(["help", command])
            #expect(help.status == 0)
            #expect(help.stdout.contains("Examples:"), "pmp help \(command)")
            #expect(help.stdout.contains("pmp \(command) "), "pmp help \(command) shows the command in use")
        }
    }
}

/// Records the document element's name.
private final class RootElement: NSObject, XMLParserDelegate {
    var name: String?

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName: String?, attributes: [String: String] = [:]) {
        if name == nil { name = elementName }
    }
}
