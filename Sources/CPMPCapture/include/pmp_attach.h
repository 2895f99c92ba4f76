#ifndef PMP_ATTACH_H
#define PMP_ATTACH_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The registers of a stopped thread (x86_64 `user_regs_struct`, in the kernel's order).
typedef struct pmp_attach_registers {
    uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi, orig_rax, rip, cs, eflags,
        rsp, ss, fs_base, gs_base, ds, es, fs, gs;
} pmp_attach_registers;

/// PTRACE_SEIZE: traces the thread without stopping it or sending it a signal. Returns 0 or an errno.
int pmp_attach_seize(pid_t tid);

/// PTRACE_INTERRUPT: asks a seized thread to stop. Returns 0 or an errno.
int pmp_attach_interrupt(pid_t tid);

/// Waits until the seized thread `tid` reports a stop, at most `timeout_ns`. Returns 0 and the wait status,
/// ETIMEDOUT, ECHILD (the thread is gone) or another errno. SIGCHLD must be blocked in the calling thread and
/// `signal_fd` must be a signalfd for SIGCHLD (or -1 to poll by sleeping).
int pmp_attach_wait_stop(pid_t tid, int signal_fd, int64_t timeout_ns, int *status);

/// Drops pending SIGCHLD notifications from `signal_fd` without waiting.
void pmp_attach_drain(int signal_fd);

/// A signalfd for SIGCHLD, after blocking SIGCHLD and the job-control stop signals (SIGTSTP, SIGTTIN, SIGTTOU)
/// in the calling thread: a tracer stopped by job control would leave its tracee stopped. Returns the fd or -errno.
int pmp_attach_prepare_tracer(void);

/// PTRACE_GETREGSET(NT_PRSTATUS) of a stopped thread. Returns 0 or an errno.
int pmp_attach_registers_of(pid_t tid, pmp_attach_registers *registers);

/// PTRACE_GETSIGINFO: the signal that stopped the thread, when the stop is a signal-delivery stop. Returns the
/// signal number, 0 for any other stop, or -errno.
int pmp_attach_stop_signal(pid_t tid);

/// PTRACE_DETACH, delivering `signal` (0 for none) as the thread resumes. Returns 0 or an errno.
int pmp_attach_detach(pid_t tid, int signal);

/// Copies `length` bytes at `address` of process `pid` with one process_vm_readv. Returns the bytes copied
/// (which may be fewer, up to the first unreadable page) or -errno.
ssize_t pmp_attach_read(pid_t pid, uint64_t address, void *buffer, size_t length);

/// Nanoseconds of CLOCK_MONOTONIC.
int64_t pmp_attach_now_ns(void);

#ifdef __cplusplus
}
#endif

#endif
