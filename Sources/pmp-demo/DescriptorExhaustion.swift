#if canImport(Glibc)
import Glibc
#endif

/// `--exhaust-fds`: the process runs out of file descriptors, every one, as a service leaking sockets does. The
/// soft limit is lowered first (to the descriptors open plus 64) so that this is quick. A request must still
/// be answered: the server accepts it with the descriptor it holds in reserve.
enum DescriptorExhaustion {
    /// Opens /dev/null until the limit is reached; returns how many it opened.
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
        while Glibc.open("/dev/null", O_RDONLY | O_CLOEXEC) >= 0 { open += 1 }
        return open
    }
}
