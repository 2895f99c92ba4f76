import Foundation
import PMP
import PMPTestSupport
import Testing

@Suite("thread registry", .timeLimit(.minutes(2))) struct ThreadRegistryTests {
    @Test("registering the main thread keeps the process's name; dumps still show the registered one")
    func mainThreadKeepsProcessName() throws {
        // pmp-demo registers its main thread as "main" and its workers under their own names.
        let demo = try DemoProcess(["--threads", "1", "--busy", "0", "--tasks", "0"])
        defer { demo.stop() }
        let comm = try String(contentsOfFile: "/proc/\(demo.pid)/comm", encoding: .utf8)
        #expect(comm == "pmp-demo\n", "ps, top and pgrep show the process's own name")

        demo.signal(SIGUSR1)
        let dump = try #require(DumpParser.parse(try demo.waitForDumps(1)).first)
        let main = try #require(dump.snapshot.threads.first { $0.tid == demo.pid })
        #expect(main.name == "main")
        // Other threads still get their kernel name set.
        let worker = try #require(dump.snapshot.threads.first { $0.name == "cond-0" })
        let workerComm = try String(contentsOfFile: "/proc/\(demo.pid)/task/\(worker.tid)/comm", encoding: .utf8)
        #expect(workerComm == "cond-0\n")
    }
}
