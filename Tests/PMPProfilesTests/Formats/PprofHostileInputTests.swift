@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport
import PMPTestSupport
import Testing

/// pprof files come from anywhere: a few kilobytes of gzip can inflate to gigabytes, a file of many tiny members
/// must not cost more than its length, and counts can be anything.
@Suite("hostile pprof files", .timeLimit(.minutes(2))) struct PprofHostileInputTests {
    /// `members` copies of one gzip member holding `memberBytes` zero bytes.
    static func bomb(memberBytes: Int, members: Int) throws -> [UInt8] {
        let member = try Gzip.compress([UInt8](repeating: 0, count: memberBytes), level: 9)
        return Array([[UInt8]](repeating: member, count: members).joined())
    }

    @Test("a gzip bomb is refused once it inflates past the limit")
    func bombRefused() throws {
        // 1 MiB of zeros compresses to about 1 KiB: 300 KiB of input stands for 300 MiB.
        let bomb = try Self.bomb(memberBytes: 1 << 20, members: 300)
        #expect(bomb.count < 400 * 1024)
        #expect(throws: Gzip.Failure.outputBeyond(8 << 20)) { try Gzip.decompress(bomb, maxOutputBytes: 8 << 20) }
        #expect(throws: PprofParser.Failure.decompression("it inflates to more than \(8 << 20) bytes")) {
            try PprofParser.parse(bomb, maxInflatedBytes: 8 << 20)
        }
        // The default limit applies without asking.
        #expect(throws: PprofParser.Failure.decompression("it inflates to more than \(PprofParser.defaultMaxInflatedBytes) bytes")) {
            try PprofParser.parse(bomb)
        }
        // At the limit exactly, all is read.
        let fits = try Self.bomb(memberBytes: 1 << 20, members: 2)
        #expect(try Gzip.decompress(fits, maxOutputBytes: 2 << 20).count == 2 << 20)
    }

    @Test("many small members cost their length, not its square")
    func manyMembers() throws {
        // 100,000 members of one byte, about 2 MB, each read where it stands in the input.
        let members = 100_000
        let input = try Self.bomb(memberBytes: 1, members: members)
        #expect(try Gzip.decompress(input) == [UInt8](repeating: 0, count: members))
    }

    @Test("samples whose counts sum past Int.max saturate instead of overflowing")
    func countsSaturate() throws {
        let stack = RendererTestProfiles.sample.stacks[0]
        var huge = stack
        huge.count = Int.max
        let bytes = PprofRenderer.render(Profile(stacks: [huge, huge, stack]))
        let profile = try PprofParser.parse(bytes)
        #expect(profile.stacks.first?.count == Int.max)
    }
}
