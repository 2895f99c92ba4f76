import Foundation
@testable import PMP
import PMPTestSupport
import Testing

@Suite("mapped symbol files", .timeLimit(.minutes(2))) struct MappedFilePagesTests {
    /// Resident kB of `pid`'s private mappings of `path` that start at file offset 0 and are writable: the
    /// whole-file maps libelf makes (the loader's segments are read-only or start further in).
    private func libelfResidentKilobytes(pid: Int32, path: String) -> Int? {
        guard let smaps = ProcFile.string("/proc/\(pid)/smaps", capacity: 16 << 20) else { return nil }
        var inMapping = false
        var total = 0
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let first = fields.first, first.contains("-"), first.allSatisfy({ $0.isHexDigit || $0 == "-" }) {
                inMapping = fields.count >= 6 && fields[1] == "rw-p" && fields[2] == "00000000" && fields[5] == path
            } else if inMapping, line.hasPrefix("Rss:"), fields.count >= 2, let kilobytes = Int(fields[1]) {
                total += kilobytes
            }
        }
        return total
    }

    @Test("after a dump, the pages of the symbol files read for it are given back; file:line still resolve")
    func pagesGivenBackAfterDump() throws {
        let demo = try DemoProcess(["--threads", "4", "--busy", "0", "--tasks", "0"])
        defer { demo.stop() }
        let binary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(demo.pid)/exe")
        demo.signal(SIGUSR1)
        let first = try demo.waitForDumps(1)
        // The executable's DWARF was read for the dump (file:line of the workers)...
        #expect(first.contains("Workers.swift:"))
        // ...and its pages are not kept: megabytes otherwise (its .debug_info, .debug_line, .symtab). The start-up's
        // warm-up capture may be reading them at this moment: they must be given back once it is done.
        var resident = try #require(libelfResidentKilobytes(pid: demo.pid, path: binary))
        var polls = 0
        while resident >= 2048, polls < 100 {
            usleep(100_000)
            resident = try #require(libelfResidentKilobytes(pid: demo.pid, path: binary))
            polls += 1
        }
        #expect(resident < 2048, "\(resident) kB of \(binary) resident after the dump")
        // A second dump still has file:line.
        demo.signal(SIGUSR1)
        let both = try demo.waitForDumps(2)
        #expect(both.components(separatedBy: "Workers.swift:").count > first.components(separatedBy: "Workers.swift:").count)
    }
}
