#if canImport(Glibc)
import Glibc
#endif
import PMP

/// The address ranges of a process's mappings, from /proc/PID/maps: where each thread's stack ends.
struct MemoryMap {
    struct Region {
        var start: UInt64
        var end: UInt64
    }

    private(set) var regions: [Region] = []

    init(pid: Int32) {
        guard let text = ProcFile.string("/proc/\(pid)/maps", capacity: 16 << 20) else { return }
        for line in text.split(separator: "\n") {
            guard let dash = line.firstIndex(of: "-"), let space = line.firstIndex(of: " "), dash < space,
                  let start = UInt64(line[..<dash], radix: 16),
                  let end = UInt64(line[line.index(after: dash)..<space], radix: 16), end > start
            else { continue }
            regions.append(Region(start: start, end: end))
        }
        regions.sort { $0.start < $1.start }
    }

    /// The mapping that holds `address`.
    func region(containing address: UInt64) -> Region? {
        var low = 0
        var high = regions.count
        while low < high {
            let middle = (low + high) / 2
            if regions[middle].start <= address { low = middle + 1 } else { high = middle }
        }
        guard low > 0, address < regions[low - 1].end else { return nil }
        return regions[low - 1]
    }
}
