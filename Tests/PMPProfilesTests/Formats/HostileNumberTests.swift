@testable import PMPProfiles
import PMPTestSupport
import Testing

/// Numbers read from a hostile file, printed or added up again: never a trap.
@Suite("hostile numbers in files") struct HostileNumberTests {
    @Test("a dump whose times are huge, infinite or not numbers renders again")
    func hugeDumpTimes() throws {
        for value in ["1e300", "inf", "nan", "-1e300", "18446744073709551616"] {
            let text = """
                pmp[10.1] dump pid=10 time=2026-12-01T22:44:53.359Z threads=1 captured=1 elapsed=\(value)ms depth=128
                pmp[10.1] thread 11 "worker" [sleep, \(value)s] state=S cpu=\(value)s
                pmp[10.1]   #0  0x0000000000001000 nanosleep in libc.so.6
                pmp[10.1] end
                """
            let dumps = DumpParser.parse(text)
            let dump = try #require(dumps.first, "\(value)")
            let rendered = DumpRenderer.text(dump.snapshot)
            #expect(rendered.contains("thread 11 \"worker\""), "\(value): \(rendered)")
        }
        #expect(Decimal3.format(.infinity) == "1000000000000000.000")
        #expect(Decimal3.format(.nan) == "0.000")
        #expect(Decimal3.format(-1.5) == "-1.500")
    }

    @Test("a speedscope file whose weights add up past Int.max counts Int.max samples")
    func speedscopeWeightsSaturate() throws {
        let json = """
            {"$schema":"https://www.speedscope.app/file-format-schema.json","shared":{"frames":[{"name":"a"},{"name":"b"}]},
             "profiles":[{"type":"sampled","name":"p","unit":"none","startValue":0,"endValue":1,
                          "samples":[[0],[1]],"weights":[9.2e18,9.2e18]}]}
            """
        let profile = try SpeedscopeParser.parse(json)
        #expect(profile.stacks.count == 2)
        #expect(profile.sampleCount == Int.max)
    }
}
