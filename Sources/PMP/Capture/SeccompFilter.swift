/// Whether a seccomp filter is on for this process (`Seccomp:` in /proc/self/status). Such a filter may kill
/// the process for a system call it does not expect, so swift-pmp then never calls process_vm_readv.
enum SeccompFilter {
    /// True when the status says so, or cannot be read.
    static func isOn() -> Bool {
        guard let status = ProcFile.string("/proc/self/status", capacity: 16384) else { return true }
        for line in status.split(separator: "\n") where line.hasPrefix("Seccomp:") {
            return Int(line.dropFirst("Seccomp:".count).trimmingCharacters(in: " \t")) != 0
        }
        return true
    }
}
