import FoundationEssentials

/// The profile as JSON, and back. The shape (keys sorted, absent values left out):
///
///     {"captures": 100, "droppedSamples": 0, "duration": 1.002, "requestedRate": 100, "achievedRate": 99.8,
///      "startTime": 1795000000.123, "source": "pid 1234", "unansweredSamples": 0,
///      "stacks": [{"count": 200, "waitReason": "condition wait", "threadName": "worker-#",
///                  "frames": [{"address": 140234, "function": "pthread_cond_wait",
///                              "fullFunction": "pthread_cond_wait", "file": "…", "line": 57,
///                              "image": "libc.so.6", "inlined": false}, …]}]}
///
/// Frames are leaf first; stacks most frequent first. `function` is the short name Swift's crash backtracer
/// prints, `fullFunction` the complete demangled one (read as `function` when absent).
public enum ProfileJSON {
    public static func render(_ profile: Profile, prettyPrinted: Bool = false) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = prettyPrinted ? [.sortedKeys, .prettyPrinted] : [.sortedKeys]
        guard let data = try? encoder.encode(profile) else { return "{}" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    public static func parse(_ text: String) throws -> Profile {
        try JSONDecoder().decode(Profile.self, from: Data(text.utf8))
    }
}
