#ifndef PMP_CAPTURE_H
#define PMP_CAPTURE_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Slot states, as seen by the driver. A slot's word holds (generation << 2) | state.
enum {
    PMP_SLOT_IDLE = 0,       ///< free, or given up by the driver
    PMP_SLOT_REQUESTED = 1,  ///< armed for a generation; the handler may claim it
    PMP_SLOT_WRITING = 2,    ///< a handler is unwinding into it
    PMP_SLOT_DONE = 3,       ///< frames published (release store)
};

/// Set-up decisions, made by the caller from its configuration.
typedef struct {
    int signo;           ///< the capture signal
    int slot_count;      ///< slots preallocated: the most threads one capture can signal
    int max_depth;       ///< frames per slot
    int force;           ///< install over an existing handler of `signo`
    int local_unwind;    ///< unwind through libunwind's local address space (slower; for comparisons)
    /// process_vm_readv may be called (0 under a seccomp filter, which might kill the process for it): handlers
    /// then probe pages with it rather than through a pipe, and pmp_read_own_memory works.
    int memory_reads_allowed;
} pmp_capture_options;

/// Installs the capture handler and preallocates the slots. Returns 0, or a negative errno (-EBUSY when
/// another handler is installed and `force` is 0; -ELIBACC or -ELIBBAD when libunwind could not be loaded).
int pmp_capture_install(const pmp_capture_options *options);

/// Why libunwind could not be loaded (after pmp_capture_install returned -ELIBACC or -ELIBBAD).
const char *pmp_capture_load_error(void);

/// Brings the handler's map of loaded code up to date when images were loaded or unloaded since it was built.
/// Call outside signal context before signalling threads. Returns 1 when rebuilt, 0 when already current (or
/// when the local unwinder is in use), a negative errno when it could not be rebuilt (the old map stays).
int pmp_capture_refresh_images(void);

/// 1 when handlers unwind through swift-pmp's own libunwind address space, 0 when through libunwind's local
/// one (see pmp_capture_own_space_error).
int pmp_capture_uses_own_address_space(void);

/// Why handlers do not unwind through our own address space, as a negative errno: -ENOTSUP (asked for the
/// local unwinder, or another architecture), -ELIBACC/-ELIBBAD (no usable generic libunwind), another
/// (set-up failed); 0 when they do.
int pmp_capture_own_space_error(void);

/// 1 when a walk blocks every signal once and the generic libunwind's per-step mask calls are skipped, 0 when
/// libunwind makes its own (its sigprocmask slot could not be taken over safely).
int pmp_capture_masks_redirected(void);

/// libunwind mask calls that walks skipped so far (a diagnostic, summed once a walk).
uint64_t pmp_capture_masks_skipped(void);

/// The installed capture signal, or 0.
int pmp_capture_signal(void);

/// Arms a slot for a new generation; returns the generation, or 0 when the slot is still being written
/// by a late handler and cannot be reused yet.
uint64_t pmp_slot_arm(int slot);

/// Sends the capture signal to thread `tid` of this process, carrying (slot, generation).
/// Returns 0 or an errno (ESRCH: the thread exited; EAGAIN: its signal queue is full).
int pmp_signal_thread(pid_t tid, int slot, uint64_t generation);

/// The state of `slot` for `generation` (PMP_SLOT_IDLE when the slot moved on to another generation).
int pmp_slot_state(int slot, uint64_t generation);

/// Gives a slot up: REQUESTED -> IDLE. Returns the state it found (REQUESTED when given up).
int pmp_slot_abandon(int slot, uint64_t generation);

/// Copies a DONE slot's frames into `out` (up to `capacity`); returns the frame count, or -1 when the slot
/// is not DONE for `generation`. `truncated` is set when the stack was deeper than the slot. The signal is
/// thread-directed, so the thread that wrote the slot is the one it was sent to.
int pmp_slot_read(int slot, uint64_t generation, uint64_t *out, int capacity, int *truncated);

/// What a handler saw besides the frames.
typedef struct {
    /// The thread's CPU clock (CLOCK_THREAD_CPUTIME_ID) right after its stack was taken; 0 when unreadable.
    uint64_t cpu_ns;
    /// What the walk cost the thread in CPU (its clock after the walk less its clock before); 0 when unknown.
    uint64_t walk_cpu_ns;
    /// The first two system-call argument registers and the call-number register (x86_64: rdi, rsi, rax;
    /// aarch64: x0, x1, x8), as interrupted. Meaningful only when the thread was in a system call: when the
    /// kernel restarts the call after the handler, the number register holds the call's number.
    uint64_t arg0, arg1, number;
    /// The Swift task the thread was running (swift_task_getCurrent), or 0; and its async context register.
    uint64_t current_task, async_context;
} pmp_slot_context;

/// Copies a DONE slot's context into `out`; returns 0, or -1 when the slot is not DONE for `generation`.
int pmp_slot_read_context(int slot, uint64_t generation, pmp_slot_context *out);

/// Reads `length` bytes of this process's memory at `address` without faulting (process_vm_readv).
/// Returns 0, or a negative errno (-EPERM when the capture engine was installed without memory reads allowed,
/// or not yet, where the call is not tried). Not signal-safe.
int pmp_read_own_memory(uint64_t address, void *buffer, size_t length);

/// The system-call number of futex(2) on this architecture.
long pmp_futex_syscall_number(void);

/// Releases a DONE slot back to IDLE after it was read.
void pmp_slot_release(int slot, uint64_t generation);

/// Handlers that completed so far (monotonic). Used with pmp_wait_completions.
uint32_t pmp_completions(void);

/// Blocks until pmp_completions() reaches `target` or `timeout_ns` passes. Returns the current count.
uint32_t pmp_wait_completions(uint32_t target, int64_t timeout_ns);

/// Installs the trigger handler for `signo`: each signal adds 1 to the eventfd `fd` (which coalesces them).
/// Returns 0 or a negative errno.
int pmp_trigger_install(int signo, int fd);

/// Restores the action `signo` had before pmp_trigger_install.
int pmp_trigger_uninstall(int signo);

/// Signal mask helpers for the driver thread.
int pmp_block_signal(int signo);
int pmp_unblock_signal(int signo);

/// Blocks every asynchronous signal for the calling thread (faults stay deliverable).
int pmp_block_async_signals(void);

pid_t pmp_gettid(void);

/// glibc's counts of images loaded and unloaded so far (dl_iterate_phdr's dlpi_adds / dlpi_subs).
void pmp_loader_generation(uint64_t *adds, uint64_t *subs);

/// A non-blocking, close-on-exec eventfd, or -1.
int pmp_eventfd(void);

/// Sets the calling thread's kernel name (at most 15 bytes are kept).
int pmp_set_thread_name(const char *name);

/// SIGRTMIN/SIGRTMAX are functions in glibc; these are importable.
int pmp_sigrtmin(void);
int pmp_sigrtmax(void);

#ifdef __cplusplus
}
#endif

#endif
