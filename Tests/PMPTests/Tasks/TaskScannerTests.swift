import CPMPCapture
import Foundation
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

    @Test("a reserved read-write region of terabytes (a sanitizer's shadow) is left out, said, and costs no scan time")
    func hugeReservationLeftOut() throws {
        // 4 TiB, never touched: a residency check per page of it took the whole 2 s time limit.
        let size = 4 << 40
        let reservation = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        try #require(reservation != MAP_FAILED, "mmap: \(String(cString: strerror(errno)))")
        defer { munmap(reservation, size) }
        let snapshot = try PMP.snapshot(CaptureOptions(threads: .registered, tasks: true))
        let summary = try #require(snapshot.taskSummary)
        #expect(!summary.incomplete, "\(summary.note ?? "")")
        #expect(summary.note?.contains("left out (over 64 GiB") == true, "\(summary.note ?? "")")
    }
}
