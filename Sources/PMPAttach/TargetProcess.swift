#if canImport(Glibc)
import Glibc
#endif
import PMP

/// Another process, as /proc shows it: its threads, its memory map, who may trace it.
struct TargetProcess {
    let pid: Int32

    /// Checks that `pid` names a live process (not one of its threads).
    init(pid: Int32) throws(AttachError) {
        self.pid = pid
        guard pid > 0, let status = ProcFile.string("/proc/\(pid)/status", capacity: 8192) else {
            throw .noSuchProcess(pid: pid)
        }
        if let tgid = Self.field("Tgid", in: status).flatMap({ Int32($0) }), tgid != pid { throw .notAProcess(pid: pid) }
        if Self.field("State", in: status)?.first == "Z" { throw .noSuchProcess(pid: pid) }
    }

    /// The threads now, in /proc order (the main thread first).
    func threadIDs() -> [Int32] {
        guard let directory = opendir("/proc/\(pid)/task") else { return [] }
        defer { closedir(directory) }
        var tids: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if let tid = Int32(name) { tids.append(tid) }
        }
        return tids
    }

    /// Explains a refused PTRACE_SEIZE of process `pid`'s first thread.
    static func diagnose(pid: Int32, seizeError: Int32) -> AttachError {
        if kill(pid, 0) != 0 && errno == ESRCH { return .noSuchProcess(pid: pid) }
        let process = TargetProcess(unchecked: pid)
        return process.diagnoseRefusal(seizeError)
    }

    private init(unchecked pid: Int32) { self.pid = pid }

    /// Explains a refused PTRACE_SEIZE (`code` is its errno).
    func diagnoseRefusal(_ code: Int32) -> AttachError {
        if code == ESRCH { return .noSuchProcess(pid: pid) }
        guard code == EPERM || code == EACCES else {
            return code == ENOSYS ? .ptraceForbidden(pid: pid, code: code) : .failed(pid: pid, what: "PTRACE_SEIZE", code: code)
        }
        let status = ProcFile.string("/proc/\(pid)/status", capacity: 8192) ?? ""
        if let tracer = Self.field("TracerPid", in: status).flatMap({ Int32($0) }), tracer != 0 {
            let name = ProcFile.string("/proc/\(tracer)/comm", capacity: 256).map { String($0.dropLast($0.hasSuffix("\n") ? 1 : 0)) }
            return .alreadyTraced(pid: pid, tracer: tracer, tracerName: name)
        }
        let scope = ProcFile.string("/proc/sys/kernel/yama/ptrace_scope", capacity: 64)
            .flatMap { Int($0.filter { !$0.isWhitespace }) }
        if scope == 3 { return .ptraceDisabled(pid: pid) }
        // Capabilities of a user namespace count only for the processes inside it.
        guard sameUserNamespace() else { return .otherUserNamespace(pid: pid) }
        let capable = Self.hasTraceCapability()
        if let scope, scope >= 1, !capable { return .yamaRestricted(pid: pid, scope: scope) }
        let targetUID = Self.field("Uid", in: status).flatMap { $0.split(separator: "\t").first }.flatMap { UInt32($0) }
        if !capable, let targetUID, targetUID != geteuid() {
            return .otherUser(pid: pid, targetUID: targetUID, ourUID: geteuid())
        }
        return .ptraceForbidden(pid: pid, code: code)
    }

    /// Whether the target lives in this process's user namespace. Its namespace link is unreadable without
    /// the access being asked for: then the answer is whether this process runs in the initial namespace
    /// (identity uid map), where every process lives unless it was put in a container of its own.
    func sameUserNamespace() -> Bool {
        var ours = stat()
        var theirs = stat()
        if stat("/proc/self/ns/user", &ours) == 0, stat("/proc/\(pid)/ns/user", &theirs) == 0 {
            return ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev
        }
        let map = ProcFile.string("/proc/self/uid_map", capacity: 4096) ?? ""
        let fields = map.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
        return fields.count == 3 && fields[0] == "0" && fields[1] == "0" && fields[2] == "4294967295"
    }

    /// CAP_SYS_PTRACE (bit 19) in this process's effective set.
    static func hasTraceCapability() -> Bool {
        guard let status = ProcFile.string("/proc/self/status", capacity: 8192),
              let hex = field("CapEff", in: status), let mask = UInt64(hex, radix: 16) else { return false }
        return mask & (1 << 19) != 0
    }

    /// The value of `Name:` in a /proc status file.
    static func field(_ name: String, in status: String) -> String? {
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
            return String(line.dropFirst(name.count + 1).drop(while: { $0 == " " || $0 == "\t" }))
        }
        return nil
    }
}
