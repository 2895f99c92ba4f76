import Foundation
@testable import PMPClient
@testable import PMPCommands
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPServer
@testable import PMPSupport
import PMPTestSupport
import Testing

/// One layout of a JSON number everywhere swift-pmp writes one: /procs, the /stacks JSON and pmp top's cells
/// print the same value the same way.
@Suite("JSON numbers")
struct JSONNumberTests {
    static let values: [Double] = [0, -0.0, 200, -3, 0.125, 1e-5, 0.000001, 1.5e-7, 754.2, 1e15, 1e20, 1e21,
                                   -1.25e22, 9_007_199_254_740_993, .nan, .infinity]

    @Test("the layout is Go's: plain unless tiny or huge, integers without a fraction, null for NaN")
    func layout() {
        #expect(JSONNumber.text(200) == "200")
        #expect(JSONNumber.text(-3) == "-3")
        #expect(JSONNumber.text(-0.0) == "-0")
        #expect(JSONNumber.text(0.125) == "0.125")
        #expect(JSONNumber.text(1e-5) == "0.00001")
        #expect(JSONNumber.text(1e-6) == "0.000001")
        #expect(JSONNumber.text(1.5e-7) == "1.5e-7")
        #expect(JSONNumber.text(1e15) == "1000000000000000")
        #expect(JSONNumber.text(1e20) == "100000000000000000000")
        #expect(JSONNumber.text(1e21) == "1e+21")
        #expect(JSONNumber.text(-1.25e22) == "-1.25e+22")
        #expect(JSONNumber.text(.nan) == "null")
        #expect(JSONNumber.text(-.infinity) == "null")
        for value in Self.values where value.isFinite {
            #expect(Double(JSONNumber.text(value)) == value, "\(value) reads back as \(JSONNumber.text(value))")
        }
    }

    @Test("/procs, the /stacks JSON and pmp top write 1e-5 (and every other value) alike")
    func writersAgree() throws {
        for value in Self.values {
            let expected = JSONNumber.text(value)

            let table = ProcessTable()
            let handle = table.register(attributes: ["ratio": .number(value)])
            let procs = String(decoding: table.processListJSON(), as: UTF8.self)
            #expect(procs.contains("{\"name\":\"ratio\",\"value\":\(expected)}"), "\(value): \(procs)")

            let thread = ThreadSnapshot(tid: 7, name: "worker", kernelState: "S", waitReason: .conditionWait,
                                        blockedFor: value, cpuTime: 0, frames: [])
            let snapshot = Snapshot(pid: 1, time: 0, elapsed: 0, maxDepth: 8, threads: [thread])
            let stacks = String(decoding: SnapshotJSON.render(snapshot), as: UTF8.self)
            #expect(stacks.contains("\"blockedFor\":\(expected)"), "\(value): \(stacks)")

            // pmp top reads /procs and shows the attribute as /procs wrote it.
            let listing = try ProcessListing.decode(table.processListJSON())
            let cell = try #require(listing.processes.first?.attributes.first).value
            #expect(CompactJSON.render(cell) == expected, "\(value): \(CompactJSON.render(cell))")
            handle.finish()
        }
    }
}
