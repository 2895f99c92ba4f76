// Calls Swift cannot make directly: macros (SIGRTMIN, the syscall numbers), variadic syscall(2), sigset_t
// manipulation, and reads of our own memory that must never fault.

#include "internal.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

int pmp_block_signal(int signo) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo);
    return pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int pmp_unblock_signal(int signo) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo);
    return pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

int pmp_block_async_signals(void) {
    sigset_t set;
    sigfillset(&set);
    // Faults stay deliverable: blocking them would turn a crash into a hang.
    sigdelset(&set, SIGSEGV);
    sigdelset(&set, SIGBUS);
    sigdelset(&set, SIGFPE);
    sigdelset(&set, SIGILL);
    sigdelset(&set, SIGTRAP);
    sigdelset(&set, SIGABRT);
    sigdelset(&set, SIGSYS);
    return pthread_sigmask(SIG_BLOCK, &set, NULL);
}

pid_t pmp_gettid(void) { return (pid_t)syscall(SYS_gettid); }

int pmp_read_own_memory(uint64_t address, void *buffer, size_t length) {
    if (!atomic_load_explicit(&pmp_memory_reads_allowed, memory_order_relaxed)) return -EPERM;
    struct iovec local = {buffer, length};
    struct iovec remote = {(void *)(uintptr_t)address, length};
    ssize_t read = syscall(SYS_process_vm_readv, getpid(), &local, 1UL, &remote, 1UL, 0UL);
    if (read < 0) return -errno;
    return (size_t)read == length ? 0 : -EFAULT;
}

long pmp_futex_syscall_number(void) { return SYS_futex; }
int pmp_sigrtmin(void) { return SIGRTMIN; }
int pmp_sigrtmax(void) { return SIGRTMAX; }

int pmp_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

int pmp_set_thread_name(const char *name) {
    char truncated[16];
    strncpy(truncated, name, sizeof truncated - 1);
    truncated[sizeof truncated - 1] = 0;
    return pthread_setname_np(pthread_self(), truncated);
}
