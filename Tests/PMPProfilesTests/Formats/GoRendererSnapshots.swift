import PMPTestSupport
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport

/// Snapshots for the Go-format renderers: names and locations with what Go's shapes have no room for (blanks,
/// parentheses, arrows, no file, no line, no symbol), a stack cut at the depth, a thread without a stack.
enum GoRendererSnapshots {
    static let conditionWaitFrames = [
        Frame(address: 0x7f00_0000_1000, function: "__futex_abstimed_wait_common64", file: "./nptl/futex-internal.c",
              line: 57, image: "libc.so.6", inlined: true),
        Frame(address: 0x7f00_0000_1000, function: "__futex_abstimed_wait_common", file: "./nptl/futex-internal.c",
              line: 87, image: "libc.so.6"),
        Frame(address: 0x7f00_0000_2a10, function: "pthread_cond_wait@@GLIBC_2.3.2", image: "libc.so.6"),
        Frame(address: 0x5500_0000_3c83, function: "static pmp_demo.Workers.blockedInConditionWait() -> ()",
              file: "/src/My Sources/Workers.swift", line: 43, image: "pmp-demo"),
        Frame(address: 0x5500_0000_4d00, function: "closure #1 @Sendable (Swift.Int) -> () in pmp_demo.main()",
              file: "/src/main.swift", image: "pmp-demo"),
    ]

    static let awkward = Snapshot(pid: 4242, time: 1_700_000_000.5, elapsed: 0.001, maxDepth: 3, threads: [
        ThreadSnapshot(tid: 101, name: "cond-0", kernelState: "S", waitReason: .conditionWait, blockedFor: 754.2,
                       cpuTime: 0.01, frames: conditionWaitFrames),
        ThreadSnapshot(tid: 102, name: "cond-1", kernelState: "S", waitReason: .conditionWait, blockedFor: 5,
                       cpuTime: 0.02, frames: conditionWaitFrames),
        ThreadSnapshot(tid: 103, name: "deep", kernelState: "S", waitReason: .sleep, cpuTime: 0, frames: [
            Frame(address: 0x7f00_0000_5000, function: "__GI___clock_nanosleep", file: "../sysdeps/nanosleep.c",
                  line: 78, image: "libc.so.6"),
            Frame(address: 0x5500_0000_6000, function: "recurse(_: Swift.Int) -> Swift.Int", file: "/src/deep.swift",
                  line: 9, image: "pmp-demo"),
            Frame(address: 0x5500_0000_6000, function: "recurse(_: Swift.Int) -> Swift.Int", file: "/src/deep.swift",
                  line: 9, image: "pmp-demo"),
        ], truncated: true),
        ThreadSnapshot(tid: 104, name: "blocker", kernelState: "S", waitReason: .noAnswer, cpuTime: 0, frames: [],
                       failure: .signalBlocked),
        ThreadSnapshot(tid: 105, name: "main", kernelState: "R", waitReason: .running, cpuTime: 1.5, frames: [
            Frame(address: 0x5500_0000_7000, function: "?", image: "?"),
            Frame(address: 0x5500_0000_7100, function: "main", file: "/src/main.swift", line: 1, image: "pmp-demo"),
        ]),
    ])
}
