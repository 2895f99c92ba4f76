import Foundation
import PMP
import PMPTestSupport
import Testing

/// pmp-demo --task-states, a real SIGUSR1, and the task section parsed back.
@Suite("task dumps", .timeLimit(.minutes(2))) struct TaskDumpTests {
    @Test("every task state is found with its count, innermost function of the demo and relations")
    func everyState() throws {
        let count = 3
        let demo = try DemoProcess.withTaskStates(count)
        defer { demo.stop() }
        demo.signal(SIGUSR1)
        let text = try demo.waitForDumps(1)
        let dump = try #require(DumpParser.parse(text).first)
        #expect(dump.complete)
        let summary = try #require(dump.snapshot.taskSummary)
        #expect(summary.layout != nil, "layout verified: \(summary.note ?? "")")
        let tasks = dump.snapshot.tasks
        func named(_ prefix: String) -> [TaskSnapshot] { tasks.filter { $0.name?.hasPrefix(prefix) == true } }
        func innermostDemoFunction(_ task: TaskSnapshot) -> String? {
            task.frames.first { $0.image == "pmp-demo" && !$0.function.hasPrefix("thunk") }?.function
        }

        let continuations = named("continuation-")
        #expect(continuations.count == count)
        #expect(continuations.allSatisfy { $0.state == .continuation })
        #expect(continuations.allSatisfy { innermostDemoFunction($0)?.contains("parkedOnContinuation") == true })

        let sleepers = named("sleeper-")
        #expect(sleepers.count == count)
        #expect(sleepers.allSatisfy { $0.state == .sleeping })
        #expect(sleepers.allSatisfy { $0.frames.contains { $0.function.contains("sleepingForAnHour") } })

        let asyncLetParents = named("async-let-parent-")
        #expect(asyncLetParents.count == count)
        for parent in asyncLetParents {
            #expect(parent.children.count == 1)
            let child = try #require(tasks.first { $0.id == parent.children.first })
            #expect(parent.state == .awaitingTask(child.id))
            #expect(child.parent == parent.id)
            #expect(child.awaitedBy == [parent.id])
            #expect(child.kind == "async-let")
            #expect(child.state == .continuation)
            #expect(child.frames.contains { $0.function.contains("asyncLetChildParked") })
        }

        let groupParents = named("group-parent-")
        #expect(groupParents.count == count)
        for parent in groupParents {
            #expect(parent.state == .taskGroup)
            #expect(parent.children.count == 2)
            for id in parent.children {
                let child = try #require(tasks.first { $0.id == id })
                #expect(child.parent == parent.id)
                #expect(child.kind == "group-child")
                #expect(child.frames.contains { $0.function.contains("groupChildParked") })
            }
        }

        let awaiters = named("awaiter-")
        #expect(awaiters.count == count)
        for awaiter in awaiters {
            guard case .awaitingTask(let id) = awaiter.state else {
                Issue.record("awaiter state \(awaiter.state.text)")
                continue
            }
            let awaited = try #require(tasks.first { $0.id == id })
            #expect(awaited.name == "awaited")
            #expect(awaited.awaitedBy == [awaiter.id])
            #expect(awaited.frames.contains { $0.function.contains("awaitedTaskParked") })
        }

        let holder = try #require(named("actor-holder").first)
        guard case .running(let thread?) = holder.state else {
            Issue.record("holder state \(holder.state.text)")
            return
        }
        #expect(dump.snapshot.threads.first { $0.tid == thread }?.task == holder.id)
        // The holder's thread's stack goes on with the holder's async frames, as `^N` lines after its own.
        let threadLines = text.split(separator: "\n").drop { !$0.contains("] thread \(thread) ") }.dropFirst()
            .prefix { !$0.contains("] thread ") && !$0.contains("] tasks ") }
        let asyncLines = threadLines.filter { $0.contains("]   ^") }
        #expect(!holder.frames.isEmpty)
        #expect(asyncLines.count == holder.frames.count, "\(threadLines.joined(separator: "\n"))")
        #expect(asyncLines.first?.contains("]   ^0  ") == true)
        #expect(threadLines.last.map { $0.contains("]   ^") } == true, "the async frames come after the thread's")

        let contenders = named("actor-contender-")
        #expect(contenders.count == count)
        for contender in contenders {
            guard case .enqueued(let executor?) = contender.state else {
                Issue.record("contender state \(contender.state.text)")
                continue
            }
            #expect(executor.contains("BusyActor"))
            #expect(contender.frames.contains { $0.function.contains("queuedOnBusyActor") })
        }

        // No task twice.
        #expect(Set(tasks.map(\.id)).count == tasks.count)
    }

    @Test("10 000 tasks in a heap of junk holding copies of the task class pointer: each task once, no junk")
    func tenThousandTasksInJunk() throws {
        let demo = try DemoProcess(["--threads", "1", "--busy", "0", "--tasks", "10000", "--junk-mib", "100",
                                    "--junk-isa-per-mib", "256"])
        defer { demo.stop() }
        demo.signal(SIGUSR1)
        let text = try demo.waitForDumps(1, timeout: 120)
        let dump = try #require(DumpParser.parse(text).first)
        let summary = try #require(dump.snapshot.taskSummary)
        #expect(!summary.incomplete, "\(summary.note ?? "")")
        let tasks = dump.snapshot.tasks
        #expect(Set(tasks.map(\.id)).count == tasks.count, "no task listed twice")
        let parked = tasks.filter { task in
            task.state == .continuation && task.frames.contains { $0.function.contains("waitingOnContinuation") }
        }
        #expect(parked.count == 10000)
        #expect(tasks.count < 10000 + 50, "the 25 600 copies in the junk are not tasks: \(tasks.count) listed")
    }

    @Test("more copies of the task class pointer than the search keeps: the dump says it is incomplete")
    func tooManyCandidatesSaid() throws {
        let demo = try DemoProcess(["--threads", "1", "--busy", "0", "--tasks", "10", "--junk-mib", "40",
                                    "--junk-isa-per-mib", "4096"])
        defer { demo.stop() }
        demo.signal(SIGUSR1)
        let text = try demo.waitForDumps(1, timeout: 120)
        let summary = try #require(DumpParser.parse(text).first?.snapshot.taskSummary)
        #expect(summary.incomplete)
        #expect(summary.note?.contains("candidates") == true, "\(summary.note ?? "")")
    }

    @Test("a task section renders and parses back to the same tasks")
    func roundTrip() throws {
        let frame = Frame(address: 0x55d1_c3a1_b2c4, function: "Gate.park()", file: "/src/Gate.swift", line: 13,
                          image: "pmp-demo")
        let tasks = [
            TaskSnapshot(id: 12, name: "conn \"0\"", state: .continuation, priority: 21, basePriority: 21,
                         suspendedFor: 2.074, frames: [frame]),
            TaskSnapshot(id: 26, state: .awaitingTask(61), priority: 25, basePriority: 25, children: [61]),
            TaskSnapshot(id: 61, state: .running(thread: 4250), priority: 25, basePriority: 25, parent: 26,
                         awaitedBy: [26], cancelled: true, kind: "async-let", frames: [frame, frame], truncated: true),
            TaskSnapshot(id: 70, state: .enqueued(executor: "actor M.Busy<[Int]> 0x0000000000001000"), priority: 9),
            TaskSnapshot(id: 71, state: .enqueued(executor: nil)),
            TaskSnapshot(id: 72, state: .sleeping), TaskSnapshot(id: 73, state: .notStarted),
            TaskSnapshot(id: 74, state: .taskGroup), TaskSnapshot(id: 75, state: .suspended),
        ]
        let thread = ThreadSnapshot(tid: 4250, name: "pool", kernelState: "R", waitReason: .running, cpuTime: 1.25,
                                    frames: [frame], task: 61)
        let summary = TaskSummary(method: "scan", layout: "Swift 6.3 x86_64 (size 208, layout 1)",
                                  note: "scan stopped", scannedBytes: 8_388_608, seconds: 0.0024, incomplete: true)
        let snapshot = Snapshot(pid: 4242, time: 1_795_000_000.123, elapsed: 0.001, maxDepth: 128, threads: [thread],
                                tasks: tasks, taskSummary: summary)
        let parsed = try #require(DumpParser.parse(DumpRenderer.text(snapshot)).first)
        #expect(parsed.complete)
        #expect(parsed.snapshot.tasks == tasks)
        #expect(parsed.snapshot.taskSummary == summary)
        #expect(parsed.snapshot.threads == [thread])
    }
}
