#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import Synchronization

/// `--wedge`: the worst case the profiler's endpoints must survive. Every thread of Swift's cooperative pool and
/// every event loop of the demo's API blocks for good, each in a function of its own name, so that `/stacks`
/// can be checked for them.
enum Wedge {
    private static let blockedCooperativeThreads = Atomic<Int>(0)
    private static let blockedEventLoops = Atomic<Int>(0)

    struct Outcome {
        let cooperativeThreads: Int
        let eventLoops: Int
    }

    /// Blocks `cooperativeWidth` pool threads (the pool has one per core) and each of `eventLoops`; returns once
    /// all are blocked, or after `timeout` with the count reached.
    static func blockEverything(cooperativeWidth: Int, eventLoops: [any EventLoop],
                                timeout: Duration = .seconds(10)) -> Outcome {
        for _ in 0..<cooperativeWidth {
            Task.detached { blockCooperativeThread() }
        }
        for loop in eventLoops {
            loop.execute { blockEventLoop() }
        }
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline, blockedCooperativeThreads.load(ordering: .relaxed) < cooperativeWidth
            || blockedEventLoops.load(ordering: .relaxed) < eventLoops.count
        {
            usleep(5_000)
        }
        return Outcome(cooperativeThreads: blockedCooperativeThreads.load(ordering: .relaxed),
                       eventLoops: blockedEventLoops.load(ordering: .relaxed))
    }

    /// Holds a cooperative-pool thread synchronously, as a careless blocking call in async code would.
    @inline(never) static func blockCooperativeThread() {
        blockedCooperativeThreads.add(1, ordering: .relaxed)
        while true { sleep(3600) }
    }

    /// Holds an event loop's thread, as blocking work done on the loop would.
    @inline(never) static func blockEventLoop() {
        blockedEventLoops.add(1, ordering: .relaxed)
        while true { sleep(3600) }
    }
}
