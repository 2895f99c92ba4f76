import Foundation
@testable import PMP
@testable import PMPProfiles
import PMPTestSupport
import Testing

/// The field numbers and encodings of `PprofSchema` held against profile.proto as pprof's authors publish it
/// (Debian's golang-github-google-pprof-dev, installed by tools/setup --test, read where the package put it).
@Suite("pprof schema against upstream profile.proto") struct PprofSchemaTests {
    /// One field of profile.proto.
    struct UpstreamField: Equatable {
        var type: String
        var repeated: Bool
        var number: Int
    }

    /// Fields by message and name, from the .proto text: `[repeated] TYPE NAME = NUMBER;` inside `message M { }`.
    static func upstreamFields() throws -> [String: [String: UpstreamField]] {
        let path = try RequiredTool.file(endingWith: "/proto/profile.proto", inPackage: "golang-github-google-pprof-dev")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var messages: [String: [String: UpstreamField]] = [:]
        var current: String?
        for rawLine in text.split(separator: "\n") {
            let line = rawLine.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false)[0]
                .trimmingCharacters(in: .whitespaces)
            let words = line.split(whereSeparator: { $0 == " " || $0 == "=" || $0 == ";" }).map(String.init)
            if words.first == "message", words.count >= 2 {
                current = words[1]
                messages[words[1]] = [:]
            } else if line.hasPrefix("}") {
                current = nil
            } else if let message = current, line.hasSuffix(";") {
                let repeated = words.first == "repeated"
                let rest = repeated ? Array(words.dropFirst()) : words
                guard rest.count == 3, let number = Int(rest[2]) else { continue }
                messages[message]?[rest[1]] = UpstreamField(type: rest[0], repeated: repeated, number: number)
            }
        }
        return messages
    }

    /// The upstream type each of our encodings must meet (and so its wire type).
    static func upstreamType(of encoding: PprofSchema.Encoding) -> String {
        switch encoding {
        case .message(let name): return name
        case .string: return "string"
        case .uint64, .packedUInt64: return "uint64"
        case .int64, .packedInt64: return "int64"
        case .bool: return "bool"
        }
    }

    @Test("every field the writer and parser use has upstream's number, type and repetition")
    func fieldsMatchUpstream() throws {
        let upstream = try Self.upstreamFields()
        #expect(upstream["Profile"]?.count ?? 0 >= 14, "profile.proto read: \(upstream.keys.sorted())")
        for field in PprofSchema.fields {
            let label = "\(field.message).\(field.name)"
            guard let known = upstream[field.message]?[field.name] else {
                Issue.record("\(label) is not in profile.proto")
                continue
            }
            #expect(known.number == field.number, "\(label): upstream number \(known.number), ours \(field.number)")
            #expect(known.type == Self.upstreamType(of: field.encoding), "\(label): upstream type \(known.type)")
            #expect(known.repeated == field.repeated, "\(label): upstream repeated \(known.repeated)")
        }
        let keys = PprofSchema.fields.map { "\($0.message).\($0.number)" }
        #expect(Set(keys).count == keys.count, "one entry per field")
    }

    @Test("every field the renderer writes is in the table, with the table's wire type")
    func rendererWritesOnlyTableFields() throws {
        let frames = [
            Frame(address: 0x1234, function: "inner", fullFunction: "Module.inner() -> ()", file: "/src/a.swift",
                  line: 7, image: "/usr/bin/app", inlined: true),
            Frame(address: 0x1234, function: "outer", file: "/src/a.swift", line: 12, image: "/usr/bin/app"),
            Frame(address: 0x9000, function: "?", image: "/usr/lib/libc.so.6"),
        ]
        var profile = Profile(stacks: [
            Profile.Stack(frames: frames, count: 3, waitReason: .futexWait, threadName: "worker-#", process: "pid 1"),
            Profile.Stack(frames: Array(frames.suffix(1)), count: 1),
        ], startTime: 1_700_000_000.5, duration: 2, captures: 4)
        profile.requestedRate = 100
        profile.achievedRate = 99.5
        let bytes = PprofRenderer.render(profile)
        let message = Gzip.isCompressed(bytes) ? try Gzip.decompress(bytes, maxOutputBytes: 1 << 24) : bytes
        var seen: Set<String> = []
        try walk(message[...], as: "Profile", seen: &seen)
        // The walk reached every message type the renderer writes.
        #expect(seen.isSuperset(of: ["Profile.2", "Sample.3", "Label.2", "Mapping.5", "Location.4", "Line.1",
                                     "Function.2", "ValueType.1"]), "\(seen.sorted())")
    }

    private func walk(_ bytes: ArraySlice<UInt8>, as message: String, seen: inout Set<String>) throws {
        var reader = ProtobufReader(bytes)
        while let field = try reader.next() {
            let label = "\(message).\(field.number)"
            seen.insert(label)
            guard let entry = PprofSchema.fields.first(where: { $0.message == message && $0.number == field.number })
            else {
                Issue.record("the renderer writes \(label), which the table does not list")
                continue
            }
            let wireType: Int
            switch field.value {
            case .varint: wireType = 0
            case .fixed64: wireType = 1
            case .bytes: wireType = 2
            case .fixed32: wireType = 5
            }
            #expect(wireType == entry.encoding.wireType, "\(label) (\(entry.name)) written with wire type \(wireType)")
            if case .message(let inner) = entry.encoding, let nested = field.bytes {
                try walk(nested, as: inner, seen: &seen)
            }
        }
    }
}
