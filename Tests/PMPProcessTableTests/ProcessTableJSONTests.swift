import Foundation
@testable import PMP
@testable import PMPAggregate
import PMPClient
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPTestSupport
import Testing

@Suite("process table: pm JSON") struct ProcessTableJSONTests {
    static func object(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test("an entry registered with a parent has `parent` after `status`, in flight and finished; others have no such key")
    func parentKey() throws {
        let table = ProcessTable()
        let request = table.register(attributes: ["uri": "/work"])
        let query = table.register(attributes: ["sql": "SELECT 1"], parentID: request.id)
        #expect(table.process(id: query.id)?.parentID == request.id)
        #expect(table.process(id: request.id)?.parentID == nil)

        let text = String(decoding: table.processListJSON(), as: UTF8.self)
        #expect(text.contains(#""status":"init","parent":"\#(request.id)"}"#), "\(text)")
        let procs = try #require(try Self.object(table.processListJSON())["procs"] as? [[String: Any]])
        #expect(procs.count == 2)
        #expect(procs[0]["parent"] == nil)
        #expect(procs[1]["parent"] as? String == request.id)

        query.finish()
        request.finish()
        let finished = try #require(try Self.object(table.processListJSON(includingFinished: true))["procs"] as? [[String: Any]])
        #expect(finished.first { $0["id"] as? String == query.id }?["parent"] as? String == request.id)
        let listed = try ProcessListing.decode(table.processListJSON(includingFinished: true))
        #expect(listed.processes.map(\.parentID) == [nil, request.id], "pmp's reader keeps it")
    }

    @Test("GET /procs: pm's keys, attrs as name/value pairs of any JSON type, Go times, cancelling when pending")
    func processList() throws {
        let table = ProcessTable()
        let before = WallTime.now()
        let request = table.register(attributes: [
            "method": "GET", "uri": "/work?ms=50", "status code": 200, "ratio": 0.25, "gzip": true, "user": nil,
            "tags": ["a", 1, false], "client": ["host": "127.0.0.1", "port": 50_000],
            "note": "quote \" backslash \\ newline \n tab \t bell \u{07} é ✓",
        ])
        try request.setStatus("reading")
        let bare = table.register()
        #expect(table.cancel(id: bare.id, message: "stop it") == .cancelled)
        let after = WallTime.now()

        let json = try Self.object(table.processListJSON())
        #expect(Set(json.keys) == ["procs", "serverTime"])
        let serverTimeText = try #require(json["serverTime"] as? String)
        let serverTime = try #require(nanosecondsSinceEpoch(goTime: serverTimeText))
        #expect(serverTime >= after.nanosecondsSinceEpoch)

        let procs = try #require(json["procs"] as? [[String: Any]])
        #expect(procs.count == 2)
        let first = procs[0]
        #expect(Set(first.keys) == ["id", "attrs", "procTime", "statusTime", "status"], "no cancelling when false")
        #expect(first["id"] as? String == request.id)
        #expect(first["status"] as? String == "reading")
        let procTimeText = try #require(first["procTime"] as? String)
        let statusTimeText = try #require(first["statusTime"] as? String)
        let procTime = try #require(nanosecondsSinceEpoch(goTime: procTimeText))
        let statusTime = try #require(nanosecondsSinceEpoch(goTime: statusTimeText))
        #expect(before.nanosecondsSinceEpoch <= procTime && procTime <= statusTime)
        #expect(statusTime <= after.nanosecondsSinceEpoch && after.nanosecondsSinceEpoch <= serverTime)

        let attrs = try #require(first["attrs"] as? [[String: Any]])
        #expect(attrs.allSatisfy { Set($0.keys) == ["name", "value"] })
        let names = attrs.compactMap { $0["name"] as? String }
        #expect(names == ["client", "gzip", "method", "note", "ratio", "status code", "tags", "uri", "user"],
                "sorted by name")
        let values = Dictionary(uniqueKeysWithValues: attrs.map { ($0["name"] as! String, $0["value"]!) })
        #expect(values["method"] as? String == "GET")
        #expect(values["uri"] as? String == "/work?ms=50")
        #expect((values["status code"] as? NSNumber)?.intValue == 200)
        #expect((values["ratio"] as? NSNumber)?.doubleValue == 0.25)
        #expect(values["gzip"] as? Bool == true)
        #expect(values["user"] is NSNull)
        let tags = try #require(values["tags"] as? [Any])
        #expect(tags.count == 3)
        #expect(tags[0] as? String == "a")
        #expect((tags[1] as? NSNumber)?.intValue == 1)
        #expect(tags[2] as? Bool == false)
        let client = try #require(values["client"] as? [String: Any])
        #expect(client["host"] as? String == "127.0.0.1")
        #expect((client["port"] as? NSNumber)?.intValue == 50_000)
        #expect(values["note"] as? String == "quote \" backslash \\ newline \n tab \t bell \u{07} é ✓")

        let second = procs[1]
        #expect(Set(second.keys) == ["id", "procTime", "statusTime", "status", "cancelling"], "no attrs when none")
        #expect(second["cancelling"] as? Bool == true)
        #expect(second["status"] as? String == "init", "a cancel request is in the history only")

        // Whole numbers are written without a fraction, as Go does.
        let text = String(decoding: table.processListJSON(), as: UTF8.self)
        #expect(text.contains(#"{"name":"status code","value":200}"#))
        #expect(text.contains(#""port":50000"#))
        request.finish()
        bare.finish()
    }

    @Test("a cancel request keeps the status the work is in and its time; it goes into the history only")
    func cancelKeepsStatus() throws {
        let table = ProcessTable()
        let process = table.register()
        try process.setStatus("querying")
        let before = try #require(table.process(id: process.id))
        usleep(2_000)  // so that a status time taken at the cancel could not equal the old one
        #expect(table.cancel(id: process.id, message: "too slow") == .cancelled)
        let after = try #require(table.process(id: process.id))
        #expect(after.status == "querying")
        #expect(after.statusTime == before.statusTime, "time in status does not restart")
        #expect(after.isCancelling)
        #expect(table.history(id: process.id)?.changes.map(\.status) == ["init", "querying", "[cancel request: too slow]"])

        let listed = try #require(try Self.object(table.processListJSON())["procs"] as? [[String: Any]])
        #expect(listed.first?["status"] as? String == "querying")
        #expect(listed.first?["cancelling"] as? Bool == true)
        // A status reported after the request (cleanup) is the current one again.
        try? process.setStatus("rolling back")
        #expect(table.process(id: process.id)?.status == "rolling back")
        process.finish()
    }

    @Test("finished entries are listed only when asked, with their final status and cancelling false")
    func finishedInListing() throws {
        let table = ProcessTable()
        let process = table.register(attributes: ["uri": "/gone"])
        #expect(table.cancel(id: process.id) == .cancelled)
        process.finish(throwing: CancellationError())

        let inFlight = try #require(try Self.object(table.processListJSON())["procs"] as? [Any])
        #expect(inFlight.isEmpty)
        let all = try #require(try Self.object(table.processListJSON(includingFinished: true))["procs"] as? [[String: Any]])
        #expect(all.count == 1)
        #expect(all[0]["status"] as? String == "cancelled")
        #expect(all[0]["cancelling"] == nil)
    }

    @Test("GET /procs/{id}/history: ts and status per change, and the server time")
    func history() throws {
        let table = ProcessTable()
        let process = table.register()
        try process.setStatus("querying")
        try process.setStatus("rendering")
        process.finish()

        let json = try Self.object(try #require(table.historyJSON(id: process.id)))
        #expect(Set(json.keys) == ["history", "serverTime"])
        let serverTimeText = try #require(json["serverTime"] as? String)
        #expect(nanosecondsSinceEpoch(goTime: serverTimeText) != nil)
        let lines = try #require(json["history"] as? [[String: Any]])
        #expect(lines.allSatisfy { Set($0.keys) == ["ts", "status"] })
        #expect(lines.map { $0["status"] as? String } == ["init", "querying", "rendering", "ended"])
        let expected = try #require(table.history(id: process.id)).changes
        #expect(lines.map { nanosecondsSinceEpoch(goTime: $0["ts"] as? String ?? "") }
                == expected.map { $0.time.nanosecondsSinceEpoch })
    }

    @Test("Go reads our JSON with pm's types (unknown fields refused) and writes it back byte for byte")
    func goRoundTrip() throws {
        let table = ProcessTable(historyLimit: 4)
        let process = table.register(attributes: [
            "method": "POST", "uri": "/orders/17", "size": 1536, "ratio": 0.125, "retry": false, "user": nil,
            "tags": ["x", 2.5], "peer": ["addr": "10.0.0.2", "tls": true], "big": 1e21, "tiny": 1.5e-7,
            "text": "tab\there, \"quoted\", \u{01} control, é",
            "floats": [0.00001, 1e-6, 1e-7, 1.5e-7, 1e20, 999_999_999_999_999_999_999.0, 123456.789, -0.5, -0.0,
                       9_007_199_254_740_992, 9_007_199_254_740_993, 1.7976931348623157e308,
                       AttributeValue(Double.leastNonzeroMagnitude), -2.5e-300],
        ])
        for step in 1...6 { try process.setStatus("step \(step)") }
        let plain = table.register()
        #expect(table.cancel(id: plain.id, message: "why not") == .cancelled)
        let serverTime = WallTime(nanosecondsSinceEpoch: 1_741_064_767_100_000_000)

        let procs = ProcessTableJSON.processList(table.processes(), serverTime: serverTime)
        let history = ProcessTableJSON.history(try #require(table.history(id: process.id)), serverTime: serverTime)
        for (kind, ours) in [("procs", procs), ("history", history)] {
            let file = ToolRun.temporaryFile(".json")
            defer { try? FileManager.default.removeItem(at: file) }
            try Data(ours).write(to: file)
            let gocache = FileManager.default.temporaryDirectory.appendingPathComponent("pmp-gocache-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: gocache) }
            let program = ToolRun.fixtures("pm").appendingPathComponent("decode.go").path
            let run = try ToolRun.run("/usr/bin/env", ["go", "run", program, kind, file.path],
                                      environment: ["GOCACHE": gocache.path, "GOFLAGS": "", "GO111MODULE": "off"])
            #expect(run.status == 0, "go could not read our \(kind): \(run.stderr)")
            let oursText = String(decoding: ours, as: UTF8.self)
            #expect(run.stdout + "\n" == oursText, "Go writes it back differently:\n\(run.stdout)\nours:\n\(oursText)")
        }
        process.finish()
        plain.finish()
    }
}

@Suite("process table: times and the DELETE body") struct ProcessTableFormatTests {
    @Test("RFC 3339 like Go: UTC, fraction digits as needed, none when whole")
    func rfc3339() {
        #expect(WallTime(nanosecondsSinceEpoch: 0).rfc3339 == "1970-01-01T00:00:00Z")
        #expect(WallTime(nanosecondsSinceEpoch: 1).rfc3339 == "1970-01-01T00:00:00.000000001Z")
        #expect(WallTime(nanosecondsSinceEpoch: 1_500_000_000).rfc3339 == "1970-01-01T00:00:01.5Z")
        #expect(WallTime(nanosecondsSinceEpoch: -1).rfc3339 == "1969-12-31T23:59:59.999999999Z")
        #expect(WallTime(nanosecondsSinceEpoch: 951_782_400_123_000_000).rfc3339 == "2000-02-29T00:00:00.123Z")
        #expect(WallTime(nanosecondsSinceEpoch: 4_107_542_399_000_000_000).rfc3339 == "2100-02-28T23:59:59Z")
    }

    @Test("the calendar part agrees with Foundation over 1900…2200")
    func calendarAgreesWithFoundation() {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        var generator = SystemRandomNumberGenerator()
        let low: Int64 = -2_208_988_800  // 1900-01-01
        let high: Int64 = 7_258_118_400  // 2200-01-01
        var seconds: [Int64] = [low, high, 0, 68_169_600, 951_868_800, 4_107_542_400]  // …, 2000-03-01, 2100-03-01
        seconds += (0..<2000).map { _ in Int64.random(in: low...high, using: &generator) }
        for second in seconds {
            let ours = WallTime(nanosecondsSinceEpoch: second * 1_000_000_000).rfc3339
            let foundation = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(second)))
            #expect(ours == foundation, "at \(second) s")
        }
    }

    @Test("numbers are laid out as Go writes a float64")
    func numbers() {
        func written(_ value: Double) -> String {
            var json = JSONWriter()
            json.number(value)
            return String(decoding: json.bytes, as: UTF8.self)
        }
        #expect(written(200) == "200")
        #expect(written(-3) == "-3")
        #expect(written(0.125) == "0.125")
        #expect(written(0.00001) == "0.00001")
        #expect(written(1e-6) == "0.000001")
        #expect(written(1.5e-7) == "1.5e-7")
        #expect(written(1e20) == "100000000000000000000")
        #expect(written(1e21) == "1e+21")
        #expect(written(-1.25e22) == "-1.25e+22")
        #expect(written(123456.789) == "123456.789")
        #expect(written(.leastNonzeroMagnitude) == "5e-324")
        #expect(written(.nan) == "null")
        #expect(written(-.infinity) == "null")
    }

    @Test("the table's clock is the wall clock")
    func nowIsWallClock() {
        let ours = WallTime.now().nanosecondsSinceEpoch
        let foundation = Int64(Date().timeIntervalSince1970 * 1e9)
        #expect(abs(ours - foundation) < 1_000_000_000)
    }

    @Test("DELETE bodies: a message, or none; malformed ones are refused with a reason")
    func cancelRequestBodies() throws {
        func parse(_ text: String) throws(CancelRequestError) -> String { try CancelRequest(body: Array(text.utf8)).message }
        #expect(try parse(#"{"message": "too slow"}"#) == "too slow")
        #expect(try parse(#"{"message":"caf\u00e9 \"x\"","other":1}"#) == "café \"x\"")
        #expect(try parse("") == "")
        #expect(try parse(" \r\n\t") == "")
        #expect(try parse("{}") == "")
        #expect(try parse("null") == "")
        #expect(try parse(#"{"message": null}"#) == "")
        #expect(try CancelRequest(body: [UInt8]()).message == "")

        for (body, reason) in [("{\"message\": ", "not valid JSON"), ("message=stop", "not valid JSON"),
                               ("[\"stop\"]", "must be a JSON object"), ("\"stop\"", "must be a JSON object"),
                               ("{\"message\": 5}", "\"message\" must be a string"),
                               ("{\"message\": [\"a\"]}", "\"message\" must be a string")] {
            do {
                let message = try parse(body)
                Issue.record("\(body) was accepted as \(message)")
            } catch {
                #expect(error.description.contains(reason), "\(body): \(error.description)")
            }
        }
    }

    @Test("attribute values decode from and encode to the JSON they stand for")
    func attributeCodable() throws {
        let text = #"{"s":"x","n":-2.5,"i":7,"b":true,"z":null,"a":[1,"two",false,null],"o":{"k":{"deep":[]}}}"#
        let value = try JSONDecoder().decode(AttributeValue.self, from: Data(text.utf8))
        #expect(value == ["s": "x", "n": -2.5, "i": 7, "b": true, "z": nil, "a": [1, "two", false, nil],
                          "o": ["k": ["deep": []]]])
        let encoded = try JSONEncoder().encode(value)
        #expect(try JSONDecoder().decode(AttributeValue.self, from: encoded) == value)
        #expect(AttributeValue(UInt8(3)) == 3)
        #expect(AttributeValue("x") == "x")
    }
}
