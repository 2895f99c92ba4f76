import Foundation
import PMPTestSupport
import Testing

/// The stand-in Pyroscope (Fixtures/pyroscope/fake_pyroscope.py) on a loopback port: applies Pyroscope's
/// acceptance rules and records every request it got, as JSON lines, and every accepted profile, as a file.
final class FakePyroscope: @unchecked Sendable {
    let process = Process()
    let directory: URL
    let port: Int

    /// `arguments`: `--fail-first N --fail-status S`, `--status S`, `--tenant T`, `--basic U:P`, `--bearer T`,
    /// `--blackhole`.
    init(_ arguments: [String] = []) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pmp-fake-pyroscope-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("profiles"), withIntermediateDirectories: true)
        let output = directory.appendingPathComponent("stdout")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", ToolRun.fixtures("pyroscope").appendingPathComponent("fake_pyroscope.py").path,
                             "--record", directory.appendingPathComponent("requests.jsonl").path,
                             "--profiles", directory.appendingPathComponent("profiles").path] + arguments
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        try process.run()
        var found: Int?
        for _ in 0..<3000 where found == nil {
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("port ") }) { found = Int(line.dropFirst(5)) }
            if found == nil { usleep(10_000) }
        }
        port = try #require(found, "the fake Pyroscope did not start")
    }

    deinit {
        // SIGKILL: a child started from a thread with SIGTERM blocked inherits that mask and would not stop.
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// The requests received so far, in order.
    var requests: [[String: Any]] {
        let text = (try? String(contentsOf: directory.appendingPathComponent("requests.jsonl"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    var accepted: [[String: Any]] { requests.filter { $0["status"] as? Int == 200 } }

    /// The raw profiles it accepted, as files (plain pprof).
    var profileFiles: [URL] {
        let folder = directory.appendingPathComponent("profiles")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted { (Int($0.dropLast(3)) ?? 0) < (Int($1.dropLast(3)) ?? 0) }.map { folder.appendingPathComponent($0) }
    }

    /// Polls `condition` every 20 ms for up to `seconds` (a generous bound, not a timing assert).
    static func waitUntil(_ seconds: Double = 60, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }
}

/// Series of an accepted request: its labels, as a dictionary and in order, and its profiles' summaries.
struct FakeSeries {
    var labels: [(String, String)]
    var profiles: [[String: Any]]
    var profileTypeIDs: [String]

    var labelDictionary: [String: String] { Dictionary(labels, uniquingKeysWith: { first, _ in first }) }

    static func of(_ request: [String: Any]) -> [FakeSeries] {
        ((request["series"] as? [[String: Any]]) ?? []).map { series in
            let labels = ((series["labels"] as? [[String]]) ?? []).map { ($0[0], $0[1]) }
            return FakeSeries(labels: labels, profiles: (series["profiles"] as? [[String: Any]]) ?? [],
                              profileTypeIDs: (series["profile_type_ids"] as? [String]) ?? [])
        }
    }
}
