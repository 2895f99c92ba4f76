#if canImport(Glibc)
import Glibc
#endif

/// `--exhaust-fds`: the process runs out of file descriptors but one, as a service leaking sockets does. The
/// soft limit is lowered first (to the descriptors open plus 64) so that this is quick; the last free one is
/// what the next accepted connection gets, so a request still arrives and must be answered.
enum DescriptorExhaustion {
    /// Opens /dev/null until the limit is reached, then closes one; returns how many stay open.
    @discardableResult
    static func exhaust() -> Int {
        var open = 0
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            var highest: Int32 = 0
            for fd in 0..<Int32(4096) where fcntl(fd, F_GETFD) >= 0 { highest = fd }
            limit.rlim_cur = min(limit.rlim_max, rlim_t(highest) + 64)
            _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
        var last: Int32 = -1
        while true {
            let fd = Glibc.open("/dev/null", O_RDONLY | O_CLOEXEC)
            if fd < 0 { break }
            last = fd
            open += 1
        }
        if last >= 0 {
            close(last)
            open -= 1
        }
        return open
    }
}
