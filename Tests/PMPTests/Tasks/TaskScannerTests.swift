import CPMPCapture
@testable import PMP
import PMPTestSupport
import Testing

/// The scanner's buffers, which C code reads and writes.
@Suite("task scanner") struct TaskScannerTests {
    @Test("the runtime record C fills in is aligned for its 64-bit fields (UndefinedBehaviorSanitizer found it misaligned)")
    func runtimeRecordAligned() throws {
        let scanner = try #require(TaskScanner())
        #expect(Int(bitPattern: scanner.runtime) % MemoryLayout<pmp_task_runtime>.alignment == 0)
        #expect(Int(bitPattern: scanner.reader) % MemoryLayout<pmp_memory_reader>.alignment == 0)
        #expect(scanner.runtimePresent, "this test process has Swift's concurrency runtime")
    }
}
