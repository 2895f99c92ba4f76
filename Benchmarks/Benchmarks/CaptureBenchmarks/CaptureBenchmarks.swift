import Benchmark
import Glibc
import PMP

/// Threads parked on a condition variable, as in a service whose threads mostly wait.
final class ParkedThreads: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private(set) var tids: [Int32] = []
    private var started = 0

    init(count: Int) {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
        for _ in 0..<count {
            var attributes = pthread_attr_t()
            pthread_attr_init(&attributes)
            pthread_attr_setstacksize(&attributes, 128 * 1024)
            var thread = pthread_t()
            pthread_create(&thread, &attributes, { raw in
                let me = Unmanaged<ParkedThreads>.fromOpaque(raw!).takeUnretainedValue()
                me.park()
                return nil
            }, Unmanaged.passUnretained(self).toOpaque())
            pthread_detach(thread)
        }
        while ThreadList.threadIDs().count < count { usleep(1000) }
        tids = ThreadList.threadIDs()
    }

    @inline(never) private func park() {
        pthread_mutex_lock(&mutex)
        while true { pthread_cond_wait(&condition, &mutex) }
    }
}

nonisolated(unsafe) var parked: ParkedThreads?

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .cpuTotal, .mallocCountTotal], maxDuration: .seconds(5),
                                           maxIterations: 200)

    Benchmark("capture 1000 blocked threads (addresses only)", configuration: .init(setup: {
        if parked == nil { parked = ParkedThreads(count: 1000) }
    })) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try PMP.capture())
        }
    }

    Benchmark("capture one thread (per-thread cost)", configuration: .init(setup: {
        if parked == nil { parked = ParkedThreads(count: 1000) }
    })) { benchmark in
        let tid = parked!.tids.last!
        for _ in benchmark.scaledIterations {
            blackHole(try PMP.capture(CaptureOptions(threads: .threads([tid]))))
        }
    }

    Benchmark("symbolize 1000 stacks, cold cache", configuration: .init(maxIterations: 20, setup: {
        if parked == nil { parked = ParkedThreads(count: 1000) }
    })) { benchmark in
        let raw = try PMP.capture()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            Symbolizer.shared.reset()
            blackHole(SnapshotBuilder.build(raw))
        }
    }

    Benchmark("symbolize 1000 stacks, warm cache", configuration: .init(setup: {
        if parked == nil { parked = ParkedThreads(count: 1000) }
    })) { benchmark in
        let raw = try PMP.capture()
        _ = SnapshotBuilder.build(raw)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(SnapshotBuilder.build(raw))
        }
    }

    Benchmark("render the text dump of 1000 threads", configuration: .init(setup: {
        if parked == nil { parked = ParkedThreads(count: 1000) }
    })) { benchmark in
        let snapshot = try PMP.snapshot()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(DumpRenderer.text(snapshot))
        }
    }
}
