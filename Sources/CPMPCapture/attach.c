// Thin wrappers around ptrace (variadic, so not callable from Swift) and process_vm_readv, for dumping another
// process. Nothing here runs in signal context.
#define _GNU_SOURCE
#include "pmp_attach.h"

#include <elf.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(pmp_attach_registers) == sizeof(struct user_regs_struct), "register layout");

int pmp_attach_seize(pid_t tid) {
    // No options: in particular never PTRACE_O_EXITKILL, so a tracer that dies lets its tracees run on.
    return ptrace(PTRACE_SEIZE, tid, 0, 0) == 0 ? 0 : errno;
}

int pmp_attach_interrupt(pid_t tid) {
    return ptrace(PTRACE_INTERRUPT, tid, 0, 0) == 0 ? 0 : errno;
}

int64_t pmp_attach_now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

void pmp_attach_drain(int signal_fd) {
    if (signal_fd < 0) return;
    struct signalfd_siginfo info[16];
    while (read(signal_fd, info, sizeof info) > 0) {}
}

int pmp_attach_wait_stop(pid_t tid, int signal_fd, int64_t timeout_ns, int *status) {
    int64_t deadline = pmp_attach_now_ns() + timeout_ns;
    int spins = 0;
    for (;;) {
        pid_t got = waitpid(tid, status, __WALL | WNOHANG);
        if (got == tid) return 0;
        if (got < 0 && errno != EINTR) return errno;
        int64_t left = deadline - pmp_attach_now_ns();
        if (left <= 0) return ETIMEDOUT;
        // The thread usually stops within tens of microseconds: give it the CPU a few times before sleeping.
        if (spins++ < 64) {
            sched_yield();
            continue;
        }
        if (signal_fd >= 0) {
            struct pollfd poller = {.fd = signal_fd, .events = POLLIN};
            // A slice at a time: SIGCHLD may go to another thread of the tracer and never reach the signalfd.
            int64_t slice = left < 1000000 ? left : 1000000;
            struct timespec wait = {.tv_sec = 0, .tv_nsec = slice};
            if (ppoll(&poller, 1, &wait, NULL) > 0) pmp_attach_drain(signal_fd);
        } else {
            struct timespec nap = {.tv_sec = 0, .tv_nsec = left < 100000 ? left : 100000};
            nanosleep(&nap, NULL);
        }
    }
}

int pmp_attach_prepare_tracer(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTSTP);
    sigaddset(&set, SIGTTIN);
    sigaddset(&set, SIGTTOU);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) return -errno;
    sigset_t child;
    sigemptyset(&child);
    sigaddset(&child, SIGCHLD);
    int fd = signalfd(-1, &child, SFD_NONBLOCK | SFD_CLOEXEC);
    return fd >= 0 ? fd : -errno;
}

int pmp_attach_registers_of(pid_t tid, pmp_attach_registers *registers) {
    struct iovec vector = {.iov_base = registers, .iov_len = sizeof *registers};
    return ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &vector) == 0 ? 0 : errno;
}

int pmp_attach_stop_signal(pid_t tid) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (ptrace(PTRACE_GETSIGINFO, tid, 0, &info) != 0) return errno == EINVAL ? 0 : -errno;
    return info.si_signo;
}

int pmp_attach_detach(pid_t tid, int signal) {
    return ptrace(PTRACE_DETACH, tid, 0, (void *)(long)signal) == 0 ? 0 : errno;
}

ssize_t pmp_attach_read(pid_t pid, uint64_t address, void *buffer, size_t length) {
    struct iovec local = {.iov_base = buffer, .iov_len = length};
    struct iovec remote = {.iov_base = (void *)(uintptr_t)address, .iov_len = length};
    ssize_t got = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    return got >= 0 ? got : -errno;
}
