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
        guard let root = rootPrefix(pid: pid) else { return dwfl_linux_proc_report(dwfl, pid) }
        guard let maps = ProcFile.string("/proc/\(pid)/maps", capacity: 16 << 20) else { return ENOENT }
        var rewritten = ""
        rewritten.reserveCapacity(maps.utf8.count + 64 * 64)
        for line in maps.split(separator: "\n", omittingEmptySubsequences: true) {
            if let slash = line.firstIndex(of: "/") {
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
