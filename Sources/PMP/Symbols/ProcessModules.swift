#if canImport(Glibc)
import Glibc
#endif
import CElfutils

/// Reports a process's loaded images to libdwfl. The images of a process in another mount namespace (a
/// container) are files of its root, not of ours: their paths are read through `/proc/PID/root`.
package enum ProcessModules {
    /// Reports every image in `pid`'s memory map; returns libdwfl's result (0 when it worked).
    @discardableResult
    package static func report(_ dwfl: OpaquePointer, pid: Int32) -> Int32 {
        guard pid != getpid() else { return dwfl_linux_proc_report(dwfl, pid) }
        guard let maps = ProcFile.string("/proc/\(pid)/maps", capacity: 16 << 20) else { return ENOENT }
        let lines = maps.split(separator: "\n", omittingEmptySubsequences: true)
        let kept = imageLines(lines)
        let root = rootPrefix(pid: pid)
        // As it is, libdwfl reads the map itself and finds the vdso too.
        if root == nil && kept.count == lines.count { return dwfl_linux_proc_report(dwfl, pid) }
        var rewritten = ""
        rewritten.reserveCapacity(maps.utf8.count + 64 * 64)
        for line in kept {
            if let root, let slash = line.firstIndex(of: "/") {
                rewritten += line[..<slash] + root + line[slash...] + "\n"
            } else {
                rewritten += line + "\n"
            }
        }
        var bytes = Array(rewritten.utf8)
        return bytes.withUnsafeMutableBytes { buffer -> Int32 in
            guard let file = fmemopen(buffer.baseAddress, buffer.count, "r") else { return errno }
            defer { fclose(file) }
            return dwfl_linux_proc_maps_report(dwfl, file)
        }
    }

    /// The map without the extra mappings of an image's file: a process that reads ELF files itself (libelf's
    /// mmap of a whole library, as a symbolizer does) maps the same file again elsewhere, and libdwfl would take
    /// the range of both for the image and its load bias from the wrong one. An image is a run of adjacent
    /// mappings of one file at rising offsets; of the runs of a file, those with executable code are kept.
    static func imageLines(_ lines: [Substring]) -> [Substring] {
        struct Line {
            var start: UInt64, end: UInt64, offset: UInt64, executable: Bool, path: Substring?
        }
        let parsed: [Line?] = lines.map { line in
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count >= 5, let dash = fields[0].firstIndex(of: "-"),
                  let start = UInt64(fields[0][..<dash], radix: 16),
                  let end = UInt64(fields[0][fields[0].index(after: dash)...], radix: 16),
                  let offset = UInt64(fields[2], radix: 16) else { return nil }
            let path = fields.count == 6 ? fields[5].drop(while: { $0 == " " }) : nil
            return Line(start: start, end: end, offset: offset, executable: fields[1].contains("x"),
                        path: path.flatMap { $0.hasPrefix("/") ? $0 : nil })
        }
        // Runs: indices of adjacent mappings of one file at rising offsets.
        var runOf = [Int](repeating: -1, count: lines.count)
        var runs: [(path: Substring, executable: Bool)] = []
        for index in lines.indices {
            guard let line = parsed[index], let path = line.path else { continue }
            if index > 0, let previous = parsed[index - 1], previous.path == path, previous.end == line.start,
               line.offset > previous.offset, runOf[index - 1] >= 0 {
                runOf[index] = runOf[index - 1]
                runs[runOf[index]].executable = runs[runOf[index]].executable || line.executable
            } else {
                runOf[index] = runs.count
                runs.append((path, line.executable))
            }
        }
        var hasExecutableRun = Set<Substring>()
        for run in runs where run.executable { hasExecutableRun.insert(run.path) }
        return lines.indices.compactMap { index in
            let run = runOf[index]
            guard run >= 0 else { return lines[index] }
            return runs[run].executable || !hasExecutableRun.contains(runs[run].path) ? lines[index] : nil
        }
    }

    /// `/proc/PID/root` when that process sees another file system root than this one; nil when it is the same
    /// (then paths are opened as they are, and libdwfl also finds the vdso).
    package static func rootPrefix(pid: Int32) -> String? {
        guard pid != getpid() else { return nil }
        let root = "/proc/\(pid)/root"
        var theirs = stat()
        var ours = stat()
        guard stat(root, &theirs) == 0, stat("/", &ours) == 0 else { return nil }
        return theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino ? nil : root
    }
}
