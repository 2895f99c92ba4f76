import Foundation
import PMP
import PMPAttach
import PMPTestSupport
import Testing

/// `pmp-attach dump` (and `pmp dump --pid`) on real processes that do not link swift-pmp.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct ExternalDumpTests {
    private func dump(_ pid: Int32, _ extra: [String] = []) throws -> ToolRun {
        try ToolRun.run(AttachTarget.attachExecutable, ["dump", "--pid", "\(pid)"] + extra, timeout: 120)
    }

    /// eu-stack's stacks: per tid, the addresses leaf first.
    private func euStack(_ pid: Int32) throws -> [Int32: [UInt64]] {
        let run = try ToolRun.run("/usr/bin/eu-stack", ["-p", "\(pid)"], timeout: 120)
        var stacks: [Int32: [UInt64]] = [:]
        var current: Int32?
        for line in run.stdout.split(separator: "\n") {
            if line.hasPrefix("TID "), let tid = Int32(line.dropFirst(4).dropLast()) {
                current = tid
                stacks[tid] = []
            } else if let tid = current, line.hasPrefix("#"),
                      let hex = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first,
                      hex.hasPrefix("0x"), let address = UInt64(hex.dropFirst(2), radix: 16) {
                stacks[tid]!.append(address)
            }
        }
        return stacks
    }

    @Test("1 000 threads without frame pointers: every stack agrees with eu-stack's, the dump parses, the process runs on")
    func framesAgreeWithEuStack() throws {
        let target = try AttachTarget(threads: 1000, ticker: true)
        let run = try dump(target.pid)
        #expect(run.status == 0, "\(run.stderr)")
        let parsed = DumpParser.parse(run.stdout)
        try #require(parsed.count == 1 && parsed[0].complete, "the dump parser reads the dump back")
        let snapshot = parsed[0].snapshot
        #expect(snapshot.pid == target.pid)
        #expect(snapshot.threads.count == 1002)
        #expect(snapshot.capturedCount == 1002)

        // Thread i waits at recursion depth 3 + i % 8: 125 threads at each of 8 depths, descend appearing depth+1 times.
        var depths: [Int: Int] = [:]
        for thread in snapshot.threads {
            let descents = thread.frames.filter { $0.function == "descend" }.count
            if descents > 0 { depths[descents, default: 0] += 1 }
        }
        #expect(depths == Dictionary(uniqueKeysWithValues: (4...11).map { ($0, 125) }))
        let reasons = Set(snapshot.threads.map(\.waitReason.rawValue))
        #expect(reasons.contains("condition wait"))
        #expect(reasons.contains("sleep"))
        #expect(reasons.contains { $0.hasPrefix("read on fd ") && $0.contains("pipe:[") })
        #expect(reasons.contains { $0.hasPrefix("I/O wait (event loop) on fd ") && $0.contains("eventpoll") })

        let reference = try euStack(target.pid)
        var compared = 0
        var differing: [Int32] = []
        for thread in snapshot.threads where thread.name != "ticker" {
            guard let theirs = reference[thread.tid] else { continue }
            compared += 1
            let ours = thread.frames.filter { !$0.inlined }.map(\.address)
            if ours != theirs { differing.append(thread.tid) }
        }
        #expect(compared >= 1000)
        #expect(differing.isEmpty, "threads whose frames differ from eu-stack's: \(differing.prefix(10))")

        // The process runs on: nothing stopped or traced, the ticker ticks.
        #expect(target.stoppedOrTraced().isEmpty)
        let before = target.ticks().count
        var after = before
        for _ in 0..<200 where after == before {
            usleep(10_000)
            after = target.ticks().count
        }
        #expect(after > before)
    }

    @Test("a ticker thread ticks on while the others are stopped one at a time, and not once while all are stopped (--consistent)")
    func tickerSeesNoFreezeUnlessConsistent() throws {
        let target = try AttachTarget(threads: 1000, ticker: true)
        let oneAtATime = try dump(target.pid, ["--timings", "-o", "/dev/null"])
        #expect(oneAtATime.status == 0, "\(oneAtATime.stderr)")
        let timings = try #require(AttachTimings(stderr: oneAtATime.stderr))
        let phase = try #require(timings.range("stop-phase"))
        #expect(timings.fields["frozen"] == nil)
        #expect(target.ticks().filter { phase.contains($0) }.count >= 1,
                "the ticker ran while its siblings were being copied")

        let consistent = try dump(target.pid, ["--timings", "--consistent", "-o", "/dev/null"])
        #expect(consistent.status == 0, "\(consistent.stderr)")
        #expect(consistent.stderr.contains("was frozen for "))
        let frozenTimings = try #require(AttachTimings(stderr: consistent.stderr))
        let frozen = try #require(frozenTimings.range("frozen"))
        #expect(frozen.upperBound > frozen.lowerBound)
        #expect(target.ticks().filter { frozen.contains($0) }.isEmpty, "no thread ran while all were stopped")
        #expect(target.stoppedOrTraced().isEmpty)
    }

    @Test("a dumper killed with SIGKILL mid-dump, 100 times: the target is never left stopped")
    func killedDumperLeavesTargetRunning() throws {
        let target = try AttachTarget(threads: 200, ticker: true)
        var generator = SystemRandomNumberGenerator()
        var killedInStopPhase = 0
        for round in 0..<100 {
            let dumper = Process()
            dumper.executableURL = URL(fileURLWithPath: AttachTarget.attachExecutable)
            // Every other round stops all threads together: a kill then lands while the whole process is stopped.
            dumper.arguments = ["dump", "--pid", "\(target.pid)", "-o", "/dev/null"] + (round % 2 == 1 ? ["--consistent"] : [])
            dumper.standardError = FileHandle.nullDevice
            try dumper.run()
            func isTracing() -> Bool {
                (try? String(contentsOfFile: "/proc/\(target.pid)/status", encoding: .utf8))?
                    .contains("TracerPid:\t\(dumper.processIdentifier)") ?? false
            }
            if round % 4 == 1 {
                // Every fourth kill waits for the dumper to be tracing, however slow its start-up on a loaded machine
                // (or under a sanitizer): a --consistent round, whose threads stay stopped for the whole stop phase,
                // so that the wait does not miss a window of microseconds.
                var waited = 0
                while waited < 5_000, !isTracing(), dumper.isRunning { usleep(1_000); waited += 1 }
            } else {
                // The others are spread over start-up, the stop phase and the unwinding after it.
                usleep(UInt32.random(in: 5_000...150_000, using: &generator))
            }
            let tracing = isTracing()
            kill(dumper.processIdentifier, SIGKILL)
            dumper.waitUntilExit()
            if tracing { killedInStopPhase += 1 }
            let left = target.stoppedOrTraced()
            #expect(left.isEmpty, "round \(round): threads left stopped or traced: \(left.prefix(5))")
            if !left.isEmpty { break }
        }
        let before = target.ticks().count
        var after = before
        for _ in 0..<200 where after == before {
            usleep(10_000)
            after = target.ticks().count
        }
        #expect(after > before, "the target runs on")
        #expect(target.threadIDs().count == 202)
        #expect(killedInStopPhase >= 1, "some kills landed while threads were stopped")
        print("killed while the main thread was traced: \(killedInStopPhase) of 100")
    }

    @Test("refusals say why and what to do: no such process, already traced, another user, another user namespace")
    func refusalsAreExplained() throws {
        let missing = try dump(999_999_999)
        #expect(missing.status == 1)
        #expect(missing.stderr == "pmp: no process with pid 999999999\n")

        let target = try AttachTarget(threads: 4)
        do {
            let tracer = try AttachTarget.Tracer(tracing: target.pid)
            let traced = try dump(target.pid)
            #expect(traced.status == 1)
            let expected = AttachError.alreadyTraced(pid: target.pid, tracer: tracer.process.processIdentifier,
                                                     tracerName: String(URL(fileURLWithPath: AttachTarget.executable)
                                                        .lastPathComponent.prefix(15))).description
            #expect(traced.stderr == "pmp: " + expected + "\n")
            #expect(traced.stderr.contains("is already traced by process \(tracer.process.processIdentifier)"))
            #expect(traced.stderr.contains("kill -USR1"))
        }

        // Another user without CAP_SYS_PTRACE (setpriv drops to nobody; its bounding set keeps no capability).
        let asNobody = try ToolRun.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                                                            "--inh-caps=-all", "--bounding-set=-all",
                                                            AttachTarget.attachExecutable, "dump", "--pid", "\(target.pid)"])
        #expect(asNobody.status == 1)
        #expect(asNobody.stderr == "pmp: " + AttachError.otherUser(pid: target.pid, targetUID: getuid(), ourUID: 65534).description + "\n")
        #expect(asNobody.stderr.contains("--cap-add SYS_PTRACE"))
        #expect(asNobody.stderr.contains("kubectl debug --profile=general"))

        let inNamespace = try ToolRun.run("/usr/bin/unshare", ["--user", AttachTarget.attachExecutable, "dump",
                                                               "--pid", "\(target.pid)"])
        if inNamespace.stderr.contains("unshare failed") {
            print("skipped: this machine does not allow unprivileged user namespaces: \(inNamespace.stderr)")
        } else {
            #expect(inNamespace.stderr == "pmp: " + AttachError.otherUserNamespace(pid: target.pid).description + "\n")
        }
        #expect(target.stoppedOrTraced().isEmpty)
    }

    @Test("Yama ptrace_scope 1: a non-root user is told about CAP_SYS_PTRACE",
          .enabled(if: FileManager.default.fileExists(atPath: "/proc/sys/kernel/yama/ptrace_scope"),
                   "the kernel has no Yama LSM (/proc/sys/kernel/yama is absent), so ptrace_scope cannot be set here"))
    func yamaScopeIsExplained() throws {
        let scope = (try? String(contentsOfFile: "/proc/sys/kernel/yama/ptrace_scope", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(scope == "1" || scope == "2", "the test needs ptrace_scope 1 or 2")
        let target = try AttachTarget(threads: 2)
        let run = try ToolRun.run("/usr/bin/setpriv", ["--reuid=0", "--inh-caps=-all", "--bounding-set=-sys_ptrace",
                                                       AttachTarget.attachExecutable, "dump", "--pid", "\(target.pid)"])
        #expect(run.stderr == "pmp: " + AttachError.yamaRestricted(pid: target.pid, scope: Int(scope!)!).description + "\n")
    }

    @Test("pmp dump --pid runs pmp-attach, and says so when it is missing")
    func pmpDumpExecsTheAttacher() throws {
        let target = try AttachTarget(threads: 8)
        let run = try ToolRun.run(AttachTarget.pmpExecutable, ["dump", "--pid", "\(target.pid)", "--format", "json"])
        #expect(run.status == 0, "\(run.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        #expect(json?["pid"] as? Int == Int(target.pid))
        #expect((json?["threads"] as? [Any])?.count == 9)

        let grouped = try ToolRun.run(AttachTarget.pmpExecutable, ["dump", "--pid", "\(target.pid)", "--group"])
        #expect(grouped.stdout.contains("descend"))
        let folded = try ToolRun.run(AttachTarget.pmpExecutable, ["dump", "--pid", "\(target.pid)", "--format", "folded"])
        #expect(folded.stdout.split(separator: "\n").allSatisfy { $0.contains(";") && $0.last!.isNumber })

        // A pmp with no pmp-attach beside it or on PATH.
        let directory = NSTemporaryDirectory() + "pmp-alone-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.copyItem(atPath: AttachTarget.pmpExecutable, toPath: directory + "/pmp")
        let alone = try ToolRun.run(directory + "/pmp", ["dump", "--pid", "\(target.pid)"], environment: ["PATH": "/nonexistent"])
        #expect(alone.status != 0)
        #expect(alone.stderr.contains("pmp-attach is missing: --pid needs it beside pmp or on PATH"))
    }

    @Test("pmp-demo dumped from outside: the threads and stacks of its own SIGUSR1 dump, Swift names demangled, file:line")
    func demoMatchesItsInProcessDump() throws {
        let demo = try DemoProcess(["--threads", "8", "--busy", "1"])
        // "ready" can come before every worker has named itself: wait for the seven blocked workers' names.
        let prefixes = ["cond-", "mutex-", "sleep-", "read-", "swift-mutex-"]
        func namedWorkers() -> Int {
            let tids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(demo.pid)/task")) ?? []
            return tids.filter { tid in
                let name = (try? String(contentsOfFile: "/proc/\(demo.pid)/task/\(tid)/comm", encoding: .utf8)) ?? ""
                return prefixes.contains { name.hasPrefix($0) }
            }.count
        }
        var waited = 0
        while namedWorkers() < 7, waited < 3000 { usleep(10_000); waited += 1 }
        demo.signal(SIGUSR1)
        let inside = try #require(DumpParser.parse(try demo.waitForDumps(1)).first?.snapshot)
        let run = try dump(demo.pid)
        #expect(run.status == 0, "\(run.stderr)")
        let outside = try #require(DumpParser.parse(run.stdout).first?.snapshot)
        let outsideByTid = Dictionary(outside.threads.map { ($0.tid, $0) }, uniquingKeysWith: { first, _ in first })
        // Every thread of the inside dump is in the outside one, but for a start-up thread that has exited since.
        let missing = inside.threads.filter { outsideByTid[$0.tid] == nil }
        #expect(missing.allSatisfy { access("/proc/\(demo.pid)/task/\($0.tid)", F_OK) != 0 },
                "\(missing.map { "\($0.tid) \($0.name)" })")
        #expect(missing.count <= 1, "\(missing.map { "\($0.tid) \($0.name)" })")
        var compared = 0
        for thread in inside.threads where prefixes.contains(where: { thread.name.hasPrefix($0) }) {
            let theirs = try #require(outsideByTid[thread.tid])
            // The kernel's name is cut at 15 bytes; the demo's names are shorter.
            #expect(theirs.name == thread.name)
            #expect(theirs.waitReason.rawValue.hasPrefix(thread.waitReason.rawValue))
            #expect(theirs.frames.map(\.function) == thread.frames.map(\.function), "thread \(thread.name)")
            #expect(theirs.frames.map(\.line) == thread.frames.map(\.line), "thread \(thread.name)")
            compared += 1
        }
        #expect(compared >= 7)
        #expect(outside.threads.contains { $0.frames.contains { $0.function == "static Workers.blockedInConditionWait()" } })
    }
}
