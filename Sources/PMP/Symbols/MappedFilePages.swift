#if canImport(Glibc)
import Glibc
#endif

/// Gives back the resident pages of files libelf mapped to read symbols and DWARF (whole ELF and debug files,
/// mapped private): once a dump's addresses are resolved and cached, those pages are not needed again until
/// a new address is looked up, and then they are read back in. Megabytes of a service's resident set
/// otherwise (an executable's .debug_info, .debug_line and .symtab, read once).
///
/// MADV_PAGEOUT rather than MADV_DONTNEED: libelf maps the files writable (MAP_PRIVATE), and a page it wrote
/// would be lost to DONTNEED, while PAGEOUT only reclaims, as memory pressure would: clean file pages are
/// dropped, others kept or swapped, and pages other mappings share are left alone.
enum MappedFilePages {
    /// MADV_PAGEOUT (Linux 5.4), which Glibc's module map does not export.
    static let pageOutAdvice: Int32 = 21

    /// Reclaims the resident pages of each region that is exactly one private mapping of a file starting at
    /// its base; any other region (memory libelf read into a buffer, say) is left alone.
    static func release(_ regions: [UnsafeRawBufferPointer]) {
        guard !regions.isEmpty, let maps = ProcFile.string("/proc/self/maps", capacity: 1 << 20) else { return }
        var fileMappings: [UInt: UInt] = [:]  // start -> end, of private file mappings
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1].hasSuffix("p"), fields[4] != "0" else { continue }
            let range = fields[0].split(separator: "-")
            guard range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16)
            else { continue }
            fileMappings[start] = end
        }
        let pageSize = UInt(max(1, sysconf(Int32(_SC_PAGESIZE))))
        for region in regions {
            guard let base = region.baseAddress, region.count > 0 else { continue }
            let start = UInt(bitPattern: base)
            let length = (UInt(region.count) + pageSize - 1) / pageSize * pageSize
            guard start % pageSize == 0, let end = fileMappings[start], end - start >= length else { continue }
            _ = madvise(UnsafeMutableRawPointer(mutating: base), Int(length), pageOutAdvice)
        }
    }
}
