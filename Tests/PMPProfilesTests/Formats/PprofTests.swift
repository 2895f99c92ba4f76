import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPTestSupport
import Testing

@Suite("pprof format") struct PprofTests {
    @Test("render then parse gives the same profile: frames, inlining, counts, labels, times and facts")
    func roundTrip() throws {
        for profile in [RendererTestProfiles.sample, RendererTestProfiles.twoProcesses, RendererTestProfiles.empty] {
            let bytes = PprofRenderer.render(profile)
            #expect(Array(bytes.prefix(2)) == [0x1f, 0x8b], "gzip")
            #expect(try PprofParser.parse(bytes) == profile)
        }
    }

    /// The message's fields, decoded with the reader (no renderer code).
    struct Decoded {
        var strings: [String] = []
        var sampleTypes: [(String, String)] = []
        var samples: [(locations: [UInt64], values: [Int64], labels: [String: String])] = []
        var locations: [UInt64: (mapping: UInt64, address: UInt64, lines: [UInt64])] = [:]
        var functions: [UInt64: (name: String, systemName: Int64, file: String)] = [:]
        var mappings: [(id: UInt64, file: String, start: UInt64, limit: UInt64, flags: [Bool])] = []
        var period: Int64 = 0
        var periodType: (String, String) = ("", "")

        init(_ gzipped: [UInt8]) throws {
            let message = try Gzip.decompress(gzipped)
            var raw: [(Int, ProtobufReader.Field)] = []
            var reader = ProtobufReader(message[...])
            while let field = try reader.next() {
                raw.append((field.number, field))
                if field.number == 6 { strings.append(field.string ?? "<not a string>") }
            }
            func fields(_ field: ProtobufReader.Field) throws -> [Int: [ProtobufReader.Field]] {
                var reader = ProtobufReader(field.bytes ?? [])
                var result: [Int: [ProtobufReader.Field]] = [:]
                while let inner = try reader.next() { result[inner.number, default: []].append(inner) }
                return result
            }
            func string(_ field: ProtobufReader.Field?) -> String { field.flatMap { strings[Int($0.uint64 ?? 0)] } ?? "" }
            for (number, field) in raw where [1, 2, 3, 4, 5, 11, 12].contains(number) {
                let inner = number == 12 ? [:] : try fields(field)
                switch number {
                case 1: sampleTypes.append((string(inner[1]?.first), string(inner[2]?.first)))
                case 2:
                    var labels: [String: String] = [:]
                    for label in inner[3] ?? [] {
                        let parts = try fields(label)
                        labels[string(parts[1]?.first)] = string(parts[2]?.first)
                    }
                    samples.append((try (inner[1] ?? []).flatMap { try $0.integers() },
                                    try (inner[2] ?? []).flatMap { try $0.integers() }.map { Int64(bitPattern: $0) },
                                    labels))
                case 3:
                    mappings.append((inner[1]?.first?.uint64 ?? 0, string(inner[5]?.first), inner[2]?.first?.uint64 ?? 0,
                                     inner[3]?.first?.uint64 ?? 0, (7...10).map { inner[$0]?.first?.uint64 == 1 }))
                case 4:
                    let lines = try (inner[4] ?? []).map { try fields($0)[1]?.first?.uint64 ?? 0 }
                    locations[inner[1]?.first?.uint64 ?? 0] = (inner[2]?.first?.uint64 ?? 0, inner[3]?.first?.uint64 ?? 0, lines)
                case 5:
                    functions[inner[1]?.first?.uint64 ?? 0] = (string(inner[2]?.first), inner[3]?.first?.int64 ?? 0,
                                                               string(inner[4]?.first))
                case 11: periodType = (string(inner[1]?.first), string(inner[2]?.first))
                case 12: period = field.int64 ?? 0
                default: break
                }
            }
        }
    }

    @Test("the message: string table, sample types, wall values, one location per physical frame, mappings per image")
    func structure() throws {
        let profile = RendererTestProfiles.sample
        let decoded = try Decoded(PprofRenderer.render(profile))
        #expect(decoded.strings.first == "")
        #expect(Set(decoded.strings).count == decoded.strings.count, "each string once")
        #expect(decoded.sampleTypes.map { "\($0.0)/\($0.1)" } == ["samples/count", "wall/nanoseconds"])
        #expect(decoded.periodType == ("wall", "nanoseconds"))
        #expect(decoded.period == profile.nanosecondsPerSample && decoded.period == 10_050_251)
        #expect(decoded.samples.map(\.values) == profile.stacks.map { [Int64($0.count), Int64($0.count) * 10_050_251] })
        #expect(decoded.samples[0].labels == ["thread": "worker-#", "state": "condition wait"])
        #expect(decoded.samples[3].labels.isEmpty)

        // 9 physical frames of which main is shared by all four stacks: 6 locations + main + 2 unknown.
        #expect(decoded.locations.count == 8)
        let first = try #require(decoded.locations[decoded.samples[0].locations[0]])
        #expect(first.address == 0x7f00_0000_1000)
        #expect(first.lines.map { decoded.functions[$0]?.name } == ["__futex_abstimed_wait_common64", "pthread_cond_wait@@GLIBC_2.3.2"],
                "the inlined function first, then the one it is inlined into")
        #expect(Set(decoded.samples.map { $0.locations.last }).count == 1, "one location for main")
        let unknown = try #require(decoded.locations[decoded.samples[2].locations[1]])
        #expect(unknown.lines.isEmpty && unknown.mapping == 0 && unknown.address == 0x10)

        #expect(decoded.functions.values.allSatisfy { $0.systemName == 0 })
        #expect(decoded.functions.values.first { $0.name == "main" }?.file == "/src/App/main.swift")
        #expect(decoded.mappings.map(\.file) == ["app", "libc.so.6", "libunknown.so"], "the executable first")
        let libc = try #require(decoded.mappings.first { $0.file == "libc.so.6" })
        #expect(libc.start == 0x7f00_0000_1000 && libc.limit == 0x7f00_0000_4001)
        #expect(libc.flags == [true, true, true, true])
        #expect(decoded.mappings.first { $0.file == "app" }?.flags == [true, true, true, false])
        for location in decoded.locations.values where location.mapping != 0 {
            #expect(decoded.mappings.contains { $0.id == location.mapping })
        }
    }

    @Test("varints and int64 as the wire format has them")
    func wireFormat() throws {
        var writer = ProtobufWriter()
        writer.writeVarint(1, 300)
        writer.writeInt64(2, -1)
        writer.writeString(3, "é")
        writer.writePacked(4, [1, 128] as [UInt64])
        #expect(writer.bytes == [0x08, 0xac, 0x02,
                                 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                                 0x1a, 0x02, 0xc3, 0xa9,
                                 0x22, 0x03, 0x01, 0x80, 0x01])
        var reader = ProtobufReader(writer.bytes[...])
        #expect(try reader.next()?.uint64 == 300)
        #expect(try reader.next()?.int64 == -1)
        #expect(try reader.next()?.string == "é")
        #expect(try reader.next()?.integers() == [1, 128])
        #expect(try reader.next() == nil)
    }

    @Test("garbage, truncated and empty input give errors, not crashes")
    func hostileInput() throws {
        let good = PprofRenderer.render(RendererTestProfiles.sample)
        #expect(throws: PprofParser.Failure.self) { try PprofParser.parse(Array(good.prefix(good.count / 2))) }
        #expect(throws: PprofParser.Failure.self) { try PprofParser.parse([0x1f, 0x8b]) }
        let message = try Gzip.decompress(good)
        #expect(throws: PprofParser.Failure.self) { try PprofParser.parse(Array(message.prefix(message.count - 3))) }
        #expect(throws: PprofParser.Failure.self) { try PprofParser.parse(try Gzip.compress(Array("not a profile\n".utf8))) }
        #expect(throws: PprofParser.Failure.self) { try PprofParser.parse([]) }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let noise = (0..<Int.random(in: 1...4096, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? PprofParser.parse(noise)
            _ = try? PprofParser.parse(try Gzip.compress(noise))
        }
    }

    @Test("20 000 distinct stacks 200 deep render and read back")
    func huge() throws {
        let profile = RendererTestProfiles.huge
        let clock = ContinuousClock()
        var bytes: [UInt8] = []
        let renderTime = clock.measure { bytes = PprofRenderer.render(profile) }
        var parsed = Profile(stacks: [])
        let parseTime = try clock.measure { parsed = try PprofParser.parse(bytes) }
        print("pprof: \(profile.stacks.count) stacks rendered in \(renderTime) to \(bytes.count) bytes, parsed in \(parseTime)")
        #expect(renderTime < .seconds(60))
        #expect(parsed.sampleCount == profile.sampleCount)
        #expect(parsed.stacks.count == profile.stacks.count)
        // Compared apart from #expect, whose message would print both sets of 4 million frames.
        let same = Set(parsed.stacks.map(\.frames)) == Set(profile.stacks.map(\.frames))
        #expect(same, "the same stacks come back")
    }
}
