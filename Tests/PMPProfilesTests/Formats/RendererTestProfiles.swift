import PMPTestSupport
import Foundation
@testable import PMP
@testable import PMPAggregate
@testable import PMPProcessTable
@testable import PMPProfiles
@testable import PMPSupport

/// Profiles shared by the pprof, speedscope and flame-graph tests.
enum RendererTestProfiles {
    static let main = Frame(address: 0x5500_0000_3000, function: "main", file: "/src/App/main.swift", line: 7, image: "app")

    /// Inlined frames, files and lines, unsymbolized frames, names that need escaping, labels.
    static let sample = Profile(stacks: [
        Profile.Stack(frames: [
            Frame(address: 0x7f00_0000_1000, function: "__futex_abstimed_wait_common64", file: "./nptl/futex-internal.c",
                  line: 57, image: "libc.so.6", inlined: true),
            Frame(address: 0x7f00_0000_1000, function: "pthread_cond_wait@@GLIBC_2.3.2", image: "libc.so.6"),
            Frame(address: 0x5500_0000_2000,
                  function: "closure #1 (Swift.Int) -> () in static App.Worker.run(at: [Swift.String]) -> ()",
                  file: "/src/My App/Worker.swift", line: 42, image: "app"),
            main,
        ], count: 300, waitReason: .conditionWait, threadName: "worker-#"),
        Profile.Stack(frames: [
            Frame(address: 0x7f00_0000_4000, function: "epoll_wait", image: "libc.so.6"),
            Frame(address: 0x5500_0000_5000, function: "NIOPosix.SelectableEventLoop.run() throws -> ()",
                  file: "/src/NIO/SelectableEventLoop.swift", line: 441, image: "app"),
            main,
        ], count: 120, waitReason: .eventLoop, threadName: "NIO-ELT-#-#"),
        Profile.Stack(frames: [
            Frame(address: 0x5500_0000_6000, function: "std::map<int, int>::find(int const&)", image: "app"),
            Frame(address: 0x10, function: "?", image: "?"),
            main,
        ], count: 7, waitReason: .running, threadName: "a & b \"c\""),
        Profile.Stack(frames: [
            Frame(address: 0x7f00_0000_7000, function: "?", image: "libunknown.so"),
            main,
        ], count: 1),
    ], startTime: 1_795_000_000.25, duration: 10, captures: 1000, requestedRate: 100, achievedRate: 99.5,
       droppedSamples: 3, unansweredSamples: 2, source: "pid 4242")

    /// The sample profile as if read from two processes' dumps.
    static var twoProcesses: Profile {
        var profile = sample
        profile.stacks = sample.stacks.map { stack in
            var copy = stack
            copy.process = "100"
            return copy
        } + sample.stacks.prefix(2).map { stack in
            var copy = stack
            copy.process = "200"
            copy.count = stack.count / 3
            return copy
        }
        profile.stacks.sort { $0.count > $1.count }
        return profile
    }

    static let empty = Profile(stacks: [])

    /// 20 000 distinct stacks 200 frames deep: each level calls one of four functions, picked by a base-4 digit
    /// of the stack's number, so that stacks are distinct and share their functions as real ones do (800 in all).
    /// Names stay within 15 bytes so that Swift keeps them inline (4 million frames).
    static let huge: Profile = {
        let stackCount = 20_000
        let depth = 200
        let variants = 4
        let digits = 8  // 4^8 > 20 000
        var stacks: [Profile.Stack] = []
        stacks.reserveCapacity(stackCount)
        for index in 0..<stackCount {
            var frames: [Frame] = []
            frames.reserveCapacity(depth)
            for level in (0..<depth).reversed() {
                // Level 0 is the root.
                var digit = index
                for _ in 0..<(level % digits) { digit /= variants }
                let variant = digit % variants
                frames.append(Frame(address: UInt64(level) << 32 | UInt64(variant), function: "L\(level).\(variant)",
                                    file: "deep.swift", line: level + 1, image: level < 100 ? "app" : "libdeep.so"))
            }
            stacks.append(Profile.Stack(frames: frames, count: index % 97 + 1,
                                        waitReason: index % 2 == 0 ? .conditionWait : .read,
                                        threadName: "worker-\(index % 4)"))
        }
        return Profile(stacks: stacks.sorted { $0.count > $1.count }, duration: 3600, achievedRate: 100)
    }()
}
