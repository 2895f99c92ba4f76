import Foundation
import PMP
import PMPTestSupport
import Testing

/// pmp-demo, a real SIGUSR1, and the dump parsed back.
@Suite("pmp-demo dumps", .timeLimit(.minutes(2))) struct DemoDumpTests {
    @Test("every worker appears with its wait reason, names demangled, the process survives")
    func dumpOfDemo() throws {
        let threads = 22
        let busy = 2
        let demo = try DemoProcess(["--threads", "\(threads)", "--busy", "\(busy)", "--tasks", "3"])
        defer { demo.stop() }
        // The lock waiters checked below are parked on their locks before the dump, not on their way there.
        let blocking = threads - busy
        try demo.waitForFutexWaiters(named: "mutex-", count: (blocking + 2) / 4)
        try demo.waitForFutexWaiters(named: "swift-mutex-", count: 2)
        demo.signal(SIGUSR1)
        let text = try demo.waitForDumps(1)
        let dumps = DumpParser.parse(text)
        #expect(dumps.count == 1)
        let dump = try #require(dumps.first)
        #expect(dump.complete)
        #expect(dump.snapshot.pid == demo.pid)

        // Workers: busy first, then round-robin over the four blocking kinds.
        let expected: [(function: String, reason: WaitReason, count: Int)] = [
            ("Workers.spinningOnCPU()", .running, busy),
            ("Workers.blockedInConditionWait()", .conditionWait, (blocking + 3) / 4),
            ("Workers.blockedOnMutexLock()", .mutexLock, (blocking + 2) / 4),
            ("Workers.blockedInPipeRead()", .read, blocking / 4),
        ]
        for entry in expected {
            let matching = dump.snapshot.threads.filter { thread in
                thread.frames.contains { $0.function.contains(entry.function) }
            }
            #expect(matching.count == entry.count, "\(entry.function): \(matching.map(\.name))")
            for thread in matching {
                #expect(thread.waitReason == entry.reason, "\(thread.name) in \(entry.function): \(thread.waitReason)")
            }
        }
        // Sleepers: the sleep workers plus the mutex holder.
        let sleepers = dump.snapshot.threads.filter { thread in
            thread.frames.contains { $0.function.contains("Workers.sleepingInNanosleep()") }
        }
        #expect(sleepers.count == (blocking + 1) / 4 + 1)
        #expect(sleepers.allSatisfy { $0.waitReason == .sleep })
        let holder = try #require(dump.snapshot.threads.first { $0.name == "lock-holder" })
        #expect(holder.frames.contains { $0.function.contains("holdingMutexWhileSleeping") })
        // Waiters name the thread holding their lock: a pthread mutex and Swift's own Mutex.
        for waiter in dump.snapshot.threads where waiter.name.hasPrefix("mutex-") {
            #expect(waiter.heldBy == LockHolder(tid: holder.tid, name: "lock-holder"), "\(waiter.name)")
        }
        let swiftHolder = try #require(dump.snapshot.threads.first { $0.name == "swift-lock-holder" })
        let swiftWaiters = dump.snapshot.threads.filter { $0.name.hasPrefix("swift-mutex-") }
        #expect(swiftWaiters.count == 2)
        for waiter in swiftWaiters {
            #expect(waiter.waitReason == .mutexLock, "\(waiter.name): \(waiter.frames.map(\.function))")
            #expect(waiter.heldBy == LockHolder(tid: swiftHolder.tid, name: "swift-lock-holder"), "\(waiter.name)")
        }
        #expect(text.contains(#"[mutex lock, held by thread \#(swiftHolder.tid) "swift-lock-holder""#))

        // Demangled Swift names with source lines from DWARF, and registered names.
        let condition = try #require(dump.snapshot.threads.first { $0.name == "cond-\(busy)" })
        let frame = try #require(condition.frames.first { $0.function.contains("blockedInConditionWait") })
        #expect(frame.function == "static Workers.blockedInConditionWait()")
        #expect(frame.file?.hasSuffix("Workers.swift") == true)
        #expect(frame.line != nil)
        #expect(frame.image == "pmp-demo")
        #expect(!text.contains("$s8pmp_demo"), "no mangled names left")
        // Short names, as Swift's crash backtracer prints them: no modules, parameter or return types.
        #expect(text.contains(" closure #1 in static Workers.startThread(name:_:) at "), "\(text.prefix(3000))")
        #expect(!text.contains("pmp_demo.Workers"), "no module names in Swift frames")
        // (Thread frames only: the task section names async thunks by their function types.)
        let threadText = text.split(separator: "\n").prefix { !$0.contains("] tasks found=") }.joined(separator: "\n")
        #expect(!threadText.contains(") -> "), "no return types")

        // Dispatch's pool threads answer (SIGPROF is not blocked there) and are idle.
        let failures = dump.snapshot.threads.filter { $0.failure != nil && $0.failure != .captureThread }
        #expect(failures.isEmpty, "\(failures.map { "\($0.name): \($0.failure!)" })")

        #expect(demo.isAlive)
        demo.signal(SIGUSR1)
        let second = DumpParser.parse(try demo.waitForDumps(2))
        #expect(second.map(\.sequence) == [1, 2])
        #expect(demo.isAlive)
    }

    @Test("a SIGUSR1 storm gives coalesced dumps, not a crash or a backlog")
    func signalStorm() throws {
        let demo = try DemoProcess(["--threads", "50", "--busy", "0"])
        defer { demo.stop() }
        let sent = 500
        for _ in 0..<sent { demo.signal(SIGUSR1) }
        try demo.waitForDumps(1)
        usleep(500_000)
        let dumps = DumpParser.parse(demo.stderr)
        #expect(dumps.count >= 1)
        #expect(dumps.count < sent / 5, "signals were coalesced: \(dumps.count) dumps for \(sent) signals")
        #expect(dumps.allSatisfy { $0.complete })
        #expect(demo.isAlive)
        // Still answering afterwards.
        demo.signal(SIGUSR1)
        try demo.waitForDumps(dumps.count + 1)
    }

    @Test("the dump can go to a file instead of stderr")
    func dumpToFile() throws {
        let path = NSTemporaryDirectory() + "pmp-dump-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let demo = try DemoProcess(["--threads", "4", "--dump-to", path])
        defer { demo.stop() }
        demo.signal(SIGUSR1)
        var dumps: [DumpParser.ParsedDump] = []
        for _ in 0..<500 where dumps.first?.complete != true {
            usleep(20_000)
            dumps = DumpParser.parse((try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
        }
        #expect(dumps.count == 1)
        #expect(dumps.first?.complete == true)
        #expect(!demo.stderr.contains("pmp["))
    }

    @Test("PMP_TRIGGER_SIGNAL moves the trigger to another signal")
    func triggerOnAnotherSignal() throws {
        let demo = try DemoProcess(["--threads", "4"], environment: ["PMP_TRIGGER_SIGNAL": "USR2"])
        defer { demo.stop() }
        demo.signal(SIGUSR2)
        let dumps = DumpParser.parse(try demo.waitForDumps(1))
        #expect(dumps.count == 1)
        #expect(dumps.first?.complete == true)
        #expect(demo.isAlive)
    }
}
