#if canImport(Glibc)
import Glibc
#endif
import CPMPCapture
import Synchronization

/// The signal trigger: its handler (C) only bumps an eventfd; the capture thread wakes, captures, symbolizes
/// and writes the dump. Signals that arrive while a dump is being made coalesce into one more dump.
public enum TriggerError: Error, CustomStringConvertible, Sendable {
    case captureSignal(Int32)
    case installFailed(Int32, errno: Int32)
    case eventfd(Int32)

    public var description: String {
        switch self {
        case .captureSignal(let signal):
            return "the trigger cannot use \(SignalName.describe(signal)): it is the capture signal"
        case .installFailed(let signal, let code):
            return "cannot install the trigger on \(SignalName.describe(signal)): \(String(cString: strerror(code)))"
        case .eventfd(let code):
            return "cannot create the trigger's eventfd: \(String(cString: strerror(code)))"
        }
    }
}

final class Trigger: Sendable {
    static let shared = Trigger()

    private struct Installed {
        var signal: Int32
        var fd: Int32
    }

    private let installed = Mutex<Installed?>(nil)
    private let sequence = Atomic<Int>(0)
    /// The threads whose stacks the warm-up after `install` captured and symbolized (for tests).
    let warmedThreads = Mutex<Set<Int32>>([])

    /// The next dump sequence number of this process (tags `pmp[PID.SEQ]`).
    func nextSequence() -> Int { sequence.wrappingAdd(1, ordering: .relaxed).newValue }

    func install(_ configuration: TriggerConfiguration, engine: EngineConfiguration) throws {
        remove()
        guard let signal = configuration.signal else { return }
        if signal == engine.captureSignal { throw TriggerError.captureSignal(signal) }
        let fd = pmp_eventfd()
        if fd < 0 { throw TriggerError.eventfd(errno) }
        let result = pmp_trigger_install(signal, fd)
        if result != 0 {
            close(fd)
            throw TriggerError.installFailed(signal, errno: -result)
        }
        installed.withLock { $0 = Installed(signal: signal, fd: fd) }
        let writer = DumpWriter.shared  // takes its copy of stderr now, before fd 2 can be reused
        writer.start()
        let options = configuration.capture
        let destination = configuration.destination
        let profile = configuration.profile
        CaptureThread.shared.setTrigger(fd: fd) { [self] context in
            if let profile {
                startProfile(profile, capture: options, destination: destination)
                return
            }
            do {
                let engine = try context.captureEngine()
                let snapshot = SnapshotBuilder.build(try engine.capture(options))
                let sequence = nextSequence()
                writer.submit { dropped in destination.write(snapshot, sequence: sequence, dropped: dropped) }
            } catch {
                writer.submit { _ in DumpWriter.shared.writeToStandardError("swift-pmp: dump failed: \(error)\n") }
            }
        }
        CaptureThread.shared.setWatch(interval: configuration.blockedTimeResolution)
        // Warm up on the capture thread: install the handler, load symbol tables, take a first CPU reading,
        // check the task layout with the probe task when dumps list tasks.
        let checkTasks = options.tasks && profile == nil
        CaptureThread.shared.submit { context in
            let engine = try? context.captureEngine()
            engine?.observeCPU()
            Symbolizer.shared.warmUp()
            if checkTasks { engine?.prepareTasks() }
        }
        // Then, once the threads a service starts right after installing the trigger are up, one capture of them
        // all, symbolized and thrown away: it pays the first dump's cold costs (libunwind's rule cache, the first
        // signal frame on each thread's stack, the line tables of the code the threads are in) ahead of it.
        try? startDetachedThread(name: "pmp-warm-up") { [self] in
            BackgroundSignalMask.apply()
            var pause = timespec(tv_sec: 0, tv_nsec: 500_000_000)
            var left = timespec()
            while nanosleep(&pause, &left) != 0, errno == EINTR { pause = left }
            CaptureThread.shared.submit { [self] context in
                guard self.signal == signal, let engine = try? context.captureEngine(),
                      let capture = try? engine.capture(options) else { return }
                _ = SnapshotBuilder.build(capture)
                self.warmedThreads.withLock { $0 = Set(capture.threads.filter { !$0.addresses.isEmpty }.map(\.tid)) }
            }
        }
    }

    func remove() {
        guard let previous = installed.withLock({ state -> Installed? in defer { state = nil }; return state }) else { return }
        _ = pmp_trigger_uninstall(previous.signal)
        CaptureThread.shared.clearTrigger()
        CaptureThread.shared.setWatch(interval: nil)
        close(previous.fd)
    }

    var signal: Int32? { installed.withLock { $0?.signal } }

    private let profiling = Atomic<Bool>(false)

    /// Profile mode: sample on a sampler thread, then write. Signals that arrive while a profile is being
    /// taken are folded into it (no second profile queues up behind).
    private func startProfile(_ profile: TriggerProfile, capture: CaptureOptions, destination: DumpDestination) {
        guard profiling.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        let options = CollectorOptions(rate: profile.rate, duration: profile.duration, threads: capture.threads,
                                       maxDepth: capture.maxDepth, timeout: capture.timeout)
        do {
            let collector = try Collector.start(options)
            collector.whenFinished { [self] in
                let result = collector.profile()
                let text = String(decoding: result.rendered(as: profile.format, options: profile.options), as: UTF8.self)
                DumpWriter.shared.submit { _ in destination.write(text: text) }
                profiling.store(false, ordering: .releasing)
            }
        } catch {
            DumpWriter.shared.submit { _ in DumpWriter.shared.writeToStandardError("swift-pmp: profile failed: \(error)\n") }
            profiling.store(false, ordering: .releasing)
        }
    }
}
