import ArgumentParser
import PMP
import PMPAttach
import PMPServer
#if canImport(Glibc)
import Glibc
#endif

/// Dumps and profiles another process from outside with ptrace; `pmp dump --pid` and `pmp record --pid` run it.
struct AttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pmp-attach",
        abstract: "Dump or profile a process that does not link swift-pmp, from outside (ptrace).",
        subcommands: [AttachDumpCommand.self])
}

struct AttachDumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print every thread's stack of process PID, stopping one thread at a time for microseconds.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, folded }

    @Option(help: "The process to dump.")
    var pid: Int32

    @Option(help: "text (the SIGUSR1 dump), json (the /stacks JSON) or folded (root;…;leaf COUNT lines).")
    var format: Format = .text

    @Flag(help: "Fold identical stacks into one with a count (text: most frequent first; json: groups).")
    var group = false

    @Flag(help: "Show complete demangled names instead of the short ones.")
    var fullNames = false

    @Flag(help: "Stop all threads together for one coherent picture; says how long the process was frozen.")
    var consistent = false

    @Option(help: ArgumentHelp("How long to wait for one thread to stop, in milliseconds.", valueName: "ms"))
    var stopTimeout: Double = 100

    @Option(help: ArgumentHelp("At most this many KiB of each thread's stack are copied.", valueName: "KiB"))
    var maxStack: Int = 1024

    @Option(help: ArgumentHelp("At most this many frames per stack.", valueName: "frames"))
    var depth: Int = 128

    @Flag(help: "Print where the time went (and each thread's stop) to standard error.")
    var timings = false

    @Option(name: [.short, .long], help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file"))
    var output: String = "-"

    func validate() throws {
        guard stopTimeout > 0, stopTimeout <= 60_000 else { throw ValidationError("--stop-timeout must be 1…60000 ms") }
        guard maxStack >= 4, maxStack <= 64 * 1024 else { throw ValidationError("--max-stack must be 4…65536 KiB") }
        guard depth >= 1, depth <= 4096 else { throw ValidationError("--depth must be 1…4096") }
    }

    func run() throws {
        var options = ExternalDump.Options()
        options.consistent = consistent
        options.stopTimeout = stopTimeout / 1000
        options.maxStackBytes = maxStack * 1024
        options.maxDepth = depth
        let dump: ExternalDump
        do {
            dump = try ExternalDump.capture(pid: pid, options: options)
        } catch {
            AttachOutput.fail(error.description)
        }
        let snapshot = fullNames ? dump.snapshot.showingFullNames : dump.snapshot
        let bytes: [UInt8]
        switch format {
        case .json: bytes = group ? SnapshotJSON.renderGrouped(snapshot) : SnapshotJSON.render(snapshot)
        case .text where !group: bytes = Array(DumpRenderer.text(snapshot).utf8)
        case .text, .folded:
            var builder = ProfileBuilder()
            builder.add(snapshot)
            bytes = builder.build(source: "pid \(snapshot.pid)")
                .rendered(as: format == .text ? .text : .folded, options: RenderOptions(fullNames: fullNames))
        }
        AttachOutput.write(bytes, to: output)
        if consistent, let start = dump.timings.allStoppedStart, let end = dump.timings.allStoppedEnd {
            AttachOutput.note("process \(pid) was frozen for \(Double((end - start) / 1000) / 1000) ms "
                              + "(\(dump.timings.copied) threads stopped together, "
                              + "\(Double((dump.timings.stopPhaseEnd - dump.timings.stopPhaseStart) / 1000) / 1000) ms "
                              + "from the first interrupt to the last detach)")
        }
        if timings { AttachOutput.note(dump.timings.line) }
    }
}

enum AttachOutput {
    static func note(_ text: String) {
        let line = Array(("pmp: " + text + "\n").utf8)
        line.withUnsafeBytes { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }

    static func fail(_ text: String) -> Never {
        note(text)
        exit(1)
    }

    static func write(_ bytes: [UInt8], to path: String) {
        let fd = path == "-" ? 1 : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { fail("cannot write \(path): \(String(cString: strerror(errno)))") }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                fail("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            offset += written
        }
        if fd != 1 { close(fd) }
    }
}

AttachCommand.main()
