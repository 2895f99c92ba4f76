import Logging
import ServiceLifecycle
import Tracing

/// The demo's own work: one span for the whole run, a child span for each tick, until graceful shutdown.
struct TickerService: Service {
    let logger: Logger

    func run() async throws {
        let ticks = try await withSpan("ticker") { job in
            job.attributes["ticker.interval_ms"] = 100
            var ticks = 0
            while !Task.isShuttingDownGracefully {
                try await withSpan("tick") { tick in
                    tick.attributes["tick.number"] = ticks
                    tick.addEvent("sleeping")
                    try await Task.sleep(for: .milliseconds(100))
                }
                ticks += 1
            }
            return ticks
        }
        logger.info("ticker stopped", metadata: ["ticks": "\(ticks)"])
    }
}
