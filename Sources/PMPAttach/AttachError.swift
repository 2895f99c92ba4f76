#if canImport(Glibc)
import Glibc
#endif

/// Why another process cannot be dumped, each with what to do about it.
public enum AttachError: Error, Sendable, Equatable, CustomStringConvertible {
    case noSuchProcess(pid: Int32)
    case notAProcess(pid: Int32)
    case alreadyTraced(pid: Int32, tracer: Int32, tracerName: String?)
    /// Yama's ptrace_scope is 3: nobody may attach, not even root.
    case ptraceDisabled(pid: Int32)
    /// Yama's ptrace_scope is 1 or 2 and this process lacks CAP_SYS_PTRACE.
    case yamaRestricted(pid: Int32, scope: Int)
    /// Another user's process (or one that is not dumpable) without CAP_SYS_PTRACE.
    case otherUser(pid: Int32, targetUID: UInt32, ourUID: UInt32)
    /// The target lives outside this process's user namespace (this runs in a container or sandbox of its own).
    case otherUserNamespace(pid: Int32)
    /// Refused although the usual rules allow it: a seccomp filter, an LSM (AppArmor, SELinux), a sandbox.
    case ptraceForbidden(pid: Int32, code: Int32)
    case failed(pid: Int32, what: String, code: Int32)

    public var description: String {
        let inProcess = "If the process links swift-pmp, its in-process dump needs no ptrace: kill -USR1 PID, or pmp dump ENDPOINT."
        switch self {
        case .noSuchProcess(let pid):
            return "no process with pid \(pid)"
        case .notAProcess(let pid):
            return "\(pid) is a thread, not a process: give the process id (Tgid in /proc/\(pid)/status)"
        case .alreadyTraced(let pid, let tracer, let name):
            return "process \(pid) is already traced by process \(tracer)\(name.map { " (\($0))" } ?? ""): a process has "
                + "only one tracer. Detach that debugger or tracer (gdb, strace, a crash reporter) and try again. " + inProcess
        case .ptraceDisabled(let pid):
            return "cannot attach to process \(pid): ptrace is disabled on this machine (kernel.yama.ptrace_scope = 3, "
                + "which only a reboot lowers). " + inProcess
        case .yamaRestricted(let pid, let scope):
            let rule = scope == 1 ? "only a parent may trace its descendants" : "only CAP_SYS_PTRACE may trace"
            return "permission denied attaching to process \(pid): kernel.yama.ptrace_scope = \(scope) (\(rule)). "
                + "Run it with CAP_SYS_PTRACE: sudo pmp dump --pid \(pid); in Docker, docker run --cap-add SYS_PTRACE; "
                + "in Kubernetes, kubectl debug --profile=general; or sudo sysctl kernel.yama.ptrace_scope=0. " + inProcess
        case .otherUser(let pid, let target, let ours):
            return "permission denied attaching to process \(pid): it runs as uid \(target) (or is not dumpable) and "
                + "this runs as uid \(ours) without CAP_SYS_PTRACE. Run as the same user, or with CAP_SYS_PTRACE: "
                + "sudo pmp dump --pid \(pid); in Docker, --cap-add SYS_PTRACE; in Kubernetes, kubectl debug "
                + "--profile=general. " + inProcess
        case .otherUserNamespace(let pid):
            return "permission denied attaching to process \(pid): it is outside this user namespace, and capabilities "
                + "held inside one count only for the processes in it. Run in the target's user namespace (the same "
                + "container: docker exec, kubectl debug --profile=general --target=CONTAINER) or from the host with "
                + "CAP_SYS_PTRACE (sudo pmp dump --pid HOST_PID). " + inProcess
        case .ptraceForbidden(let pid, let code):
            return "cannot attach to process \(pid): the kernel refused ptrace (\(String(cString: strerror(code)))) although "
                + "the usual rules allow it: a seccomp filter, an LSM (AppArmor, SELinux) or a sandbox forbids it. In "
                + "Docker, --cap-add SYS_PTRACE (or --security-opt seccomp=unconfined); in Kubernetes, kubectl debug "
                + "--profile=general. " + inProcess
        case .failed(let pid, let what, let code):
            return "cannot dump process \(pid): \(what): \(String(cString: strerror(code)))"
        }
    }
}
