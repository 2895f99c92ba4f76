#if canImport(Glibc)
import Glibc
#endif
import PMP

/// What a thread waits for, from the system call in its saved registers (x86_64 numbers): the reason from
/// the leaf frames when they name one, else the call; for calls on a file descriptor, what the descriptor
/// is (`/proc/PID/fd/N`: a socket, a pipe, a file).
enum SystemCallWait {
    struct Call {
        var reason: WaitReason
        /// The argument holding a file descriptor, when the call takes one.
        var descriptorArgument: Int?
        var name: String
    }

    static let calls: [Int64: Call] = {
        var table: [Int64: Call] = [:]
        func add(_ number: Int64, _ name: String, _ reason: WaitReason, fd: Int? = nil) {
            table[number] = Call(reason: reason, descriptorArgument: fd, name: name)
        }
        add(0, "read", .read, fd: 0)
        add(17, "pread64", .read, fd: 0)
        add(19, "readv", .read, fd: 0)
        add(45, "recvfrom", .read, fd: 0)
        add(47, "recvmsg", .read, fd: 0)
        add(299, "recvmmsg", .read, fd: 0)
        add(1, "write", .write, fd: 0)
        add(18, "pwrite64", .write, fd: 0)
        add(20, "writev", .write, fd: 0)
        add(44, "sendto", .write, fd: 0)
        add(46, "sendmsg", .write, fd: 0)
        add(74, "fsync", .write, fd: 0)
        add(75, "fdatasync", .write, fd: 0)
        add(7, "poll", .poll)
        add(271, "ppoll", .poll)
        add(23, "select", .poll)
        add(270, "pselect6", .poll)
        add(232, "epoll_wait", .eventLoop, fd: 0)
        add(281, "epoll_pwait", .eventLoop, fd: 0)
        add(441, "epoll_pwait2", .eventLoop, fd: 0)
        add(43, "accept", .accept, fd: 0)
        add(288, "accept4", .accept, fd: 0)
        add(42, "connect", .connect, fd: 0)
        add(35, "nanosleep", .sleep)
        add(230, "clock_nanosleep", .sleep)
        add(61, "wait4", .childWait)
        add(247, "waitid", .childWait)
        add(34, "pause", .signalWait)
        add(130, "rt_sigsuspend", .signalWait)
        add(128, "rt_sigtimedwait", .signalWait)
        add(202, "futex", .futexWait)
        add(72, "fcntl", .syscall, fd: 0)
        add(73, "flock", .syscall, fd: 0)
        add(16, "ioctl", .syscall, fd: 0)
        return table
    }()

    /// Reasons the leaf frames give that a system call can make more precise.
    private static let vague: Set<WaitReason> = [.unknown, .blocked, .syscall, .futexWait]

    /// The wait reason of a stopped thread: `framesReason` from its leaf frames, made precise by the call.
    static func reason(framesReason: WaitReason, copy: ThreadCopy, pid: Int32) -> WaitReason {
        guard let number = copy.systemCall, let call = calls[number] else { return framesReason }
        // A thread interrupted while running has no call in progress: rax holds its result or the call is
        // being restarted (-ERESTART…, -EINTR).
        let result = Int64(bitPattern: copy.registers.rax)
        let inCall = result == -Int64(ENOSYS) || (result <= -512 && result >= -516) || result == -Int64(EINTR)
        guard inCall else { return framesReason }
        var reason = vague.contains(framesReason) ? call.reason : framesReason
        if let argument = call.descriptorArgument, reason == call.reason {
            let fd = Int32(truncatingIfNeeded: argument == 0 ? copy.registers.rdi : copy.registers.rsi)
            if let target = descriptorTarget(pid: pid, fd: fd) {
                reason = WaitReason(reason.rawValue + " on fd \(fd) (\(target))")
            } else {
                reason = WaitReason(reason.rawValue + " on fd \(fd)")
            }
        } else if reason == .syscall {
            reason = WaitReason("syscall \(call.name)")
        }
        return reason
    }

    /// `socket:[123]`, `pipe:[456]`, `anon_inode:[eventpoll]`, a path.
    static func descriptorTarget(pid: Int32, fd: Int32) -> String? {
        guard fd >= 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: 512)
        let length = readlink("/proc/\(pid)/fd/\(fd)", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        let text = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Keep the thread header parseable: no newline, no ", " that would read as the next field.
        return String(text.map { $0 == "\n" ? " " : ($0 == "," ? ";" : $0) })
    }
}
