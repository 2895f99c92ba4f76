#if canImport(Glibc)
import Glibc
#endif
import PMP

/// `--record`: samples the demo's own threads and prints what it took, for tools/bench-collector.
enum Recording {
    static func run(window: TriggerProfile, captures: Int?, idleBatching: Bool) throws {
        // The trigger loads symbol tables in the background at start-up: finish that first, so that the figures
        // below are the collector's own.
        Symbolizer.shared.warmUp()
        usleep(200_000)
        let before = residentKilobytes()
        let options = CollectorOptions(rate: window.rate, duration: captures == nil ? window.duration : nil,
                                       maxCaptures: captures, idleBatching: idleBatching)
        let collector = try Collector.start(options)
        while collector.isRunning { usleep(10_000) }
        let sampled = residentKilobytes()
        let profile = collector.profile()
        let statistics = collector.statistics
        print("recorded captures=\(statistics.captures) missed=\(statistics.missedTicks)"
              + " rate=\((statistics.achievedRate * 10).rounded() / 10) elapsed=\((statistics.elapsed * 1000).rounded() / 1000)"
              + " signalled=\(statistics.signalledSamples) batched=\(statistics.batchedSamples)"
              + " unanswered=\(statistics.unansweredSamples) stacks=\(profile.stacks.count)"
              + " dropped=\(profile.droppedSamples) rss-before-kb=\(before) rss-sampled-kb=\(sampled)"
              + " rss-after-kb=\(residentKilobytes())")
        fflush(nil)
    }

    static func residentKilobytes() -> Int {
        guard let file = fopen("/proc/self/status", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, 256, file) != nil {
            let text = String(cString: line)
            if text.hasPrefix("VmRSS:") {
                return Int(text.dropFirst(6).filter(\.isNumber)) ?? 0
            }
        }
        return 0
    }
}
