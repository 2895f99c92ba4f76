#if canImport(Glibc)
import Glibc
#endif
import CPMPCapture

/// The signal mask of swift-pmp's own threads (the capture thread, the sampler): every asynchronous signal
/// blocked, so that signals meant for the program (SIGTERM, SIGINT, its timers) never land on them, except SIGPROF.
///
/// Swift's crash handler suspends every other thread before it writes a backtrace, by sending each one SIGUSR1,
/// SIGUSR2 or SIGPROF, whichever the thread does not block; a thread that blocks all three is left running and
/// missing from the report ("failed to suspend thread"). SIGPROF it is: the capture engine never signals these
/// threads, its handler ignores signals it did not queue itself, and libdispatch's workers leave it unblocked
/// too, so a program's own SIGPROF was never kept from the process by us.
enum BackgroundSignalMask {
    static func apply() {
        _ = pmp_block_async_signals()
        _ = pmp_unblock_signal(SIGPROF)
    }
}
