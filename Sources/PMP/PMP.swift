import CPMPCapture
// `import PMP` brings the model, the formats and the process table, as the README's examples expect.
@_exported import PMPProcessTable
@_exported import PMPProfiles
import PMPProfiles

/// swift-pmp: what every thread of this process is doing, right now.
///
///     PMP.installTrigger()              // kill -USR1 PID writes a dump to stderr
///     let snapshot = try PMP.snapshot() // every thread's stack, symbolized
public enum PMP {
    /// Sets up the capture engine (signal, slot count, depth). Optional; call before the first capture.
    public static func configure(_ configuration: EngineConfiguration) throws {
        try CaptureThread.shared.sync { context in
            if context.isEngineInstalled {
                if context.configuration == configuration { return }
                throw CaptureError.alreadyInstalled(context.configuration.captureSignal)
            }
            context.configuration = configuration
            _ = try context.captureEngine()
        }
    }

    /// Captures every thread (or the selected ones) and symbolizes the stacks.
    public static func snapshot(_ options: CaptureOptions = CaptureOptions()) throws -> Snapshot {
        SnapshotBuilder.build(try capture(options))
    }

    /// Captures without blocking a cooperative-pool thread while the capture runs.
    public static func snapshot(_ options: CaptureOptions = CaptureOptions()) async throws -> Snapshot {
        let raw = try await CaptureThread.shared.run(waitLimit: options.waitLimit) { context in
            try context.captureEngine().capture(options)
        }
        return SnapshotBuilder.build(raw)
    }

    /// Captures and symbolizes on the capture thread, then calls `completion` there with the snapshot: for
    /// callers that must neither block nor suspend, such as an event loop answering `GET /stacks` while every
    /// other thread of the process is stuck. `completion` should be quick (it holds up later captures). When
    /// the capture thread does not get it done within `options.waitLimit`, `completion` gets
    /// `CaptureThreadError` instead (on another thread); it is called exactly once.
    public static func snapshot(_ options: CaptureOptions = CaptureOptions(),
                                completion: @escaping @Sendable (Result<Snapshot, Error>) -> Void) {
        CaptureThread.shared.submit(waitLimit: options.waitLimit, { context in
            SnapshotBuilder.build(try context.captureEngine().capture(options))
        }, completion: completion)
    }

    /// Starts a `Collector` from the capture thread and hands it to `completion` (on the capture thread), so
    /// that the caller waits for nothing: `Collector.start` called elsewhere waits for the capture thread to
    /// install the engine. Follow it with `collector.whenFinished { }`.
    public static func startCollector(_ options: CollectorOptions,
                                      completion: @escaping @Sendable (Result<Collector, Error>) -> Void) {
        CaptureThread.shared.submit(waitLimit: CaptureThread.defaultWaitLimit, { context in
            _ = try context.captureEngine()
            return try Collector.start(options)
        }, completion: completion)
    }

    /// Installs the capture engine and loads the symbol tables of every image on the capture thread, without
    /// waiting, so that the first snapshot asked for later does not pay for them.
    public static func warmUp() {
        CaptureThread.shared.submit { context in
            guard let engine = try? context.captureEngine() else { return }
            Symbolizer.shared.warmUp()
            // One capture, symbolized and thrown away: it loads the line tables of the code the threads are
            // in, so that the first real request does not pay for them.
            if let raw = try? engine.capture(CaptureOptions()) { _ = SnapshotBuilder.build(raw) }
        }
    }

    /// Captures addresses only (no symbols): the cheap part, for samplers.
    public static func capture(_ options: CaptureOptions = CaptureOptions()) throws -> RawCapture {
        try CaptureThread.shared.sync(waitLimit: options.waitLimit) { context in try context.captureEngine().capture(options) }
    }

    /// Samples for `duration` at `rate` Hz and returns the folded profile; blocks the calling thread meanwhile.
    /// With `tasks`, the Swift tasks are sampled too (`CollectorOptions.tasks`).
    public static func record(for duration: Duration, rate: Double = 100, tasks: Bool = false,
                              options: CollectorOptions = CollectorOptions()) throws -> Profile {
        var options = options
        options.duration = duration
        options.rate = rate
        options.tasks = options.tasks || tasks
        return try Collector.start(options).wait()
    }

    /// Samples for `duration` at `rate` Hz without blocking a cooperative-pool thread.
    public static func record(for duration: Duration, rate: Double = 100, tasks: Bool = false,
                              options: CollectorOptions = CollectorOptions()) async throws -> Profile {
        var options = options
        options.duration = duration
        options.rate = rate
        options.tasks = options.tasks || tasks
        let collector = try Collector.start(options)
        return await withTaskCancellationHandler {
            await collector.finished()
        } onCancel: {
            collector.requestStop()
        }
    }

    /// Installs the dump trigger: on the signal (SIGUSR1 by default) the process writes a dump and goes on.
    ///
    /// The trigger and capture signals are unblocked in the calling thread, which threads created later
    /// inherit: a process started from a thread that blocked them (a Dispatch worker, say) would otherwise
    /// ignore `kill -USR1` for ever. Call it early in `main`.
    public static func installTrigger(_ configuration: TriggerConfiguration = TriggerConfiguration()) throws {
        let engine = try CaptureThread.shared.sync { context in
            _ = try context.captureEngine()
            return context.configuration
        }
        try Trigger.shared.install(configuration, engine: engine)
        pmp_unblock_signal(engine.captureSignal)
        if let signal = configuration.signal { pmp_unblock_signal(signal) }
    }

    /// Triggered dumps (and profiles) dropped so far: the writer was behind (a stderr pipe nobody reads, a slow
    /// logger), or stderr was closed when the trigger was installed. The next dump written says `dropped=N`.
    public static var droppedDumps: Int { DumpWriter.shared.droppedCount }

    /// Whether `.standardError` dumps can be written: false when fd 2 was closed when the trigger was
    /// installed (they are dropped then, rather than written into whatever file gets fd 2 later).
    public static var standardErrorAvailable: Bool { DumpWriter.shared.standardError != nil }

    /// Removes the trigger and restores the signal's previous action.
    public static func removeTrigger() { Trigger.shared.remove() }

    /// The text dump of a snapshot (the format `kill -USR1` writes).
    public static func dumpText(_ snapshot: Snapshot) -> String {
        DumpRenderer.text(snapshot, sequence: Trigger.shared.nextSequence())
    }

    /// Names the calling thread in dumps and includes it in `.registered` captures.
    public static func registerCurrentThread(name: String) { ThreadRegistry.shared.registerCurrentThread(name: name) }
    public static func unregisterCurrentThread() { ThreadRegistry.shared.unregisterCurrentThread() }

    /// The kernel id of the capture thread (it does not appear with a stack in captures).
    public static var captureThreadID: Int32 { CaptureThread.shared.tid }
}
