// The only code of swift-pmp that runs in signal context.
//
// The capture handler unwinds the interrupted thread's own stack with libunwind, starting from the signal's
// ucontext, into a slot that the driver armed beforehand. It never allocates, never takes a lock it could
// wait on for long, and keeps errno. A slot carries a generation: a handler that arrives after the driver gave
// up (or for an older capture) finds another generation and leaves the slot alone.

#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "pmp_capture.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define GENERATION_BITS 44
#define SLOT_BITS 20
#define GENERATION_MASK ((UINT64_C(1) << GENERATION_BITS) - 1)

typedef struct {
    _Atomic uint64_t word;  // (generation << 2) | state
    int32_t tid;
    int32_t depth;
    int32_t truncated;
    int32_t reserved;
    uint64_t frames[];
} pmp_slot;

static unsigned char *slots_base;
static size_t slot_stride;
static int slot_count;
static int max_depth;
static int capture_signo;
static pid_t own_pid;

static _Atomic uint32_t completions;

// libunwind is opened with RTLD_LOCAL rather than linked: its _Unwind_* and backtrace() would otherwise
// interpose the process's own (libgcc_s, glibc). The arch-specific names come from libunwind's own macros.
#define PMP_STRINGIFY_(x) #x
#define PMP_STRINGIFY(x) PMP_STRINGIFY_(x)
typedef int (*init_local2_function)(unw_cursor_t *, unw_context_t *, int);
typedef int (*step_function)(unw_cursor_t *);
typedef int (*get_reg_function)(unw_cursor_t *, unw_regnum_t, unw_word_t *);
static init_local2_function unwind_init_local2;
static step_function unwind_step;
static get_reg_function unwind_get_reg;
static char unwind_error[256];

static int open_libunwind(void) {
    if (unwind_init_local2 != NULL) return 0;
    const char *names[] = {"libunwind.so.8", "libunwind.so"};
    void *handle = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && handle == NULL; i++) {
        handle = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    }
    if (handle == NULL) {
        const char *message = dlerror();
        snprintf(unwind_error, sizeof unwind_error, "%s", message ? message : "libunwind.so.8 not found");
        return -ELIBACC;
    }
    unwind_init_local2 = (init_local2_function)dlsym(handle, PMP_STRINGIFY(unw_init_local2));
    unwind_step = (step_function)dlsym(handle, PMP_STRINGIFY(unw_step));
    unwind_get_reg = (get_reg_function)dlsym(handle, PMP_STRINGIFY(unw_get_reg));
    typedef int (*set_caching_policy_function)(unw_addr_space_t, unw_caching_policy_t);
    set_caching_policy_function set_caching_policy =
        (set_caching_policy_function)dlsym(handle, PMP_STRINGIFY(unw_set_caching_policy));
    unw_addr_space_t *local_space = (unw_addr_space_t *)dlsym(handle, PMP_STRINGIFY(unw_local_addr_space));
    if (unwind_init_local2 == NULL || unwind_step == NULL || unwind_get_reg == NULL || set_caching_policy == NULL ||
        local_space == NULL) {
        snprintf(unwind_error, sizeof unwind_error, "libunwind lacks %s (version 1.3 or later is needed)",
                 PMP_STRINGIFY(unw_init_local2));
        unwind_init_local2 = NULL;
        return -ELIBBAD;
    }
    // No cache: libunwind's global cache takes a mutex in unw_step. A thread interrupted while it holds the
    // loader lock (dlopen/dlclose) would wait for that mutex in its handler, while the mutex's holder waits
    // for the loader lock in dl_iterate_phdr: a deadlock. Without the cache, unw_step takes no lock of its own.
    set_caching_policy(*local_space, UNW_CACHE_NONE);
    // libunwind initialises itself (under a lock) on first use: do that here, outside signal context.
    ucontext_t context;
    if (getcontext(&context) == 0) {
        unw_cursor_t cursor;
        if (unwind_init_local2(&cursor, (unw_context_t *)&context, 0) == 0) {
            for (int i = 0; i < 4 && unwind_step(&cursor) > 0; i++) {
            }
        }
    }
    return 0;
}

const char *pmp_capture_load_error(void) { return unwind_error; }
static _Atomic uint32_t wake_target;

static pmp_slot *slot_at(int index) { return (pmp_slot *)(slots_base + (size_t)index * slot_stride); }

static uint64_t make_word(uint64_t generation, int state) { return (generation << 2) | (uint64_t)state; }

static void capture_handler(int signo, siginfo_t *info, void *context) {
    (void)signo;
    int saved_errno = errno;
    // Only our own queued requests: not `kill` from a shell, not another process's sigqueue.
    if (info == NULL || info->si_code != SI_QUEUE || info->si_pid != own_pid || slots_base == NULL) {
        errno = saved_errno;
        return;
    }
    uint64_t value = (uint64_t)(uintptr_t)info->si_value.sival_ptr;
    uint64_t index = value & ((UINT64_C(1) << SLOT_BITS) - 1);
    uint64_t generation = value >> SLOT_BITS;
    if (index >= (uint64_t)slot_count) {
        errno = saved_errno;
        return;
    }
    pmp_slot *slot = slot_at((int)index);
    uint64_t expected = make_word(generation, PMP_SLOT_REQUESTED);
    if (!atomic_compare_exchange_strong_explicit(&slot->word, &expected, make_word(generation, PMP_SLOT_WRITING),
                                                 memory_order_acq_rel, memory_order_relaxed)) {
        errno = saved_errno;  // late, or for another capture: not ours to write
        return;
    }

    slot->tid = (int32_t)syscall(SYS_gettid);
    int depth = 0;
    int truncated = 0;
    unw_cursor_t cursor;
    if (unwind_init_local2(&cursor, (unw_context_t *)context, UNW_INIT_SIGNAL_FRAME) == 0) {
        for (;;) {
            unw_word_t ip = 0;
            if (unwind_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0) break;
            if (depth == max_depth) {
                truncated = 1;
                break;
            }
            slot->frames[depth++] = (uint64_t)ip;
            if (unwind_step(&cursor) <= 0) break;
        }
    }
    slot->depth = depth;
    slot->truncated = truncated;
    atomic_store_explicit(&slot->word, make_word(generation, PMP_SLOT_DONE), memory_order_release);

    uint32_t done = atomic_fetch_add_explicit(&completions, 1, memory_order_acq_rel) + 1;
    if ((int32_t)(done - atomic_load_explicit(&wake_target, memory_order_acquire)) >= 0) {
        syscall(SYS_futex, &completions, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
    errno = saved_errno;
}

int pmp_capture_install(int signo, int count, int depth, int force) {
    if (slots_base != NULL) return capture_signo == signo ? 0 : -EALREADY;
    if (count <= 0 || count > (1 << SLOT_BITS) || depth <= 0 || depth > 65536) return -EINVAL;

    struct sigaction current;
    if (sigaction(signo, NULL, &current) != 0) return -errno;
    int has_handler = (current.sa_flags & SA_SIGINFO) ? current.sa_sigaction != NULL
                                                       : (current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN);
    if (has_handler && !force) return -EBUSY;
    int loaded = open_libunwind();
    if (loaded != 0) return loaded;

    size_t stride = sizeof(pmp_slot) + sizeof(uint64_t) * (size_t)depth;
    stride = (stride + 63) & ~(size_t)63;
    // mmap: pages are committed only as slots get used.
    void *memory = mmap(NULL, stride * (size_t)count, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return -errno;

    slot_stride = stride;
    slot_count = count;
    max_depth = depth;
    own_pid = getpid();
    capture_signo = signo;
    atomic_store_explicit((_Atomic(unsigned char *) *)&slots_base, (unsigned char *)memory, memory_order_release);

    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = capture_handler;
    action.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    if (sigaction(signo, &action, NULL) != 0) return -errno;
    return 0;
}

int pmp_capture_signal(void) { return capture_signo; }
int pmp_capture_slot_count(void) { return slot_count; }
int pmp_capture_max_depth(void) { return max_depth; }

uint64_t pmp_slot_arm(int index) {
    if (index < 0 || index >= slot_count) return 0;
    pmp_slot *slot = slot_at(index);
    uint64_t word = atomic_load_explicit(&slot->word, memory_order_acquire);
    for (;;) {
        int state = (int)(word & 3);
        if (state == PMP_SLOT_WRITING) return 0;
        uint64_t generation = ((word >> 2) + 1) & GENERATION_MASK;
        if (generation == 0) generation = 1;
        if (atomic_compare_exchange_weak_explicit(&slot->word, &word, make_word(generation, PMP_SLOT_REQUESTED),
                                                  memory_order_acq_rel, memory_order_acquire)) {
            slot->tid = 0;
            slot->depth = 0;
            slot->truncated = 0;
            return generation;
        }
    }
}

int pmp_signal_thread(pid_t tid, int index, uint64_t generation) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = capture_signo;
    info.si_code = SI_QUEUE;
    info.si_pid = own_pid;
    info.si_uid = getuid();
    info.si_value.sival_ptr = (void *)(uintptr_t)((generation << SLOT_BITS) | (uint64_t)index);
    if (syscall(SYS_rt_tgsigqueueinfo, own_pid, tid, capture_signo, &info) != 0) return errno;
    return 0;
}

int pmp_slot_state(int index, uint64_t generation) {
    if (index < 0 || index >= slot_count) return PMP_SLOT_IDLE;
    uint64_t word = atomic_load_explicit(&slot_at(index)->word, memory_order_acquire);
    if ((word >> 2) != generation) return PMP_SLOT_IDLE;
    return (int)(word & 3);
}

int pmp_slot_abandon(int index, uint64_t generation) {
    if (index < 0 || index >= slot_count) return PMP_SLOT_IDLE;
    pmp_slot *slot = slot_at(index);
    uint64_t expected = make_word(generation, PMP_SLOT_REQUESTED);
    if (atomic_compare_exchange_strong_explicit(&slot->word, &expected, make_word(generation, PMP_SLOT_IDLE),
                                                memory_order_acq_rel, memory_order_acquire)) {
        return PMP_SLOT_REQUESTED;
    }
    if ((expected >> 2) != generation) return PMP_SLOT_IDLE;
    return (int)(expected & 3);
}

int pmp_slot_read(int index, uint64_t generation, uint64_t *out, int capacity, int *truncated,
                  int32_t *answered_tid) {
    if (index < 0 || index >= slot_count) return -1;
    pmp_slot *slot = slot_at(index);
    uint64_t word = atomic_load_explicit(&slot->word, memory_order_acquire);
    if (word != make_word(generation, PMP_SLOT_DONE)) return -1;
    int depth = slot->depth;
    if (depth > capacity) depth = capacity;
    memcpy(out, slot->frames, sizeof(uint64_t) * (size_t)depth);
    if (truncated) *truncated = slot->truncated || depth < slot->depth;
    if (answered_tid) *answered_tid = slot->tid;
    return depth;
}

void pmp_slot_release(int index, uint64_t generation) {
    if (index < 0 || index >= slot_count) return;
    uint64_t expected = make_word(generation, PMP_SLOT_DONE);
    atomic_compare_exchange_strong_explicit(&slot_at(index)->word, &expected, make_word(generation, PMP_SLOT_IDLE),
                                            memory_order_acq_rel, memory_order_relaxed);
}

uint32_t pmp_completions(void) { return atomic_load_explicit(&completions, memory_order_acquire); }

uint32_t pmp_wait_completions(uint32_t target, int64_t timeout_ns) {
    atomic_store_explicit(&wake_target, target, memory_order_release);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        uint32_t current = atomic_load_explicit(&completions, memory_order_acquire);
        if ((int32_t)(current - target) >= 0) return current;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t elapsed = (int64_t)(now.tv_sec - start.tv_sec) * 1000000000 + (now.tv_nsec - start.tv_nsec);
        int64_t remaining = timeout_ns - elapsed;
        if (remaining <= 0) return current;
        struct timespec wait = {.tv_sec = remaining / 1000000000, .tv_nsec = remaining % 1000000000};
        syscall(SYS_futex, &completions, FUTEX_WAIT_PRIVATE, current, &wait, NULL, 0);
    }
}

// MARK: - Trigger

static _Atomic int trigger_fd = -1;
static struct sigaction trigger_previous;
static int trigger_signo;

static void trigger_handler(int signo) {
    (void)signo;
    int saved_errno = errno;
    int fd = atomic_load_explicit(&trigger_fd, memory_order_acquire);
    if (fd >= 0) {
        uint64_t one = 1;
        ssize_t ignored = write(fd, &one, sizeof one);  // an eventfd: signals coalesce into its counter
        (void)ignored;
    }
    errno = saved_errno;
}

int pmp_trigger_install(int signo, int fd) {
    if (trigger_signo != 0) return -EALREADY;
    atomic_store_explicit(&trigger_fd, fd, memory_order_release);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = trigger_handler;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sigaction(signo, &action, &trigger_previous) != 0) return -errno;
    trigger_signo = signo;
    return 0;
}

int pmp_trigger_uninstall(int signo) {
    if (trigger_signo != signo) return -EINVAL;
    if (sigaction(signo, &trigger_previous, NULL) != 0) return -errno;
    trigger_signo = 0;
    atomic_store_explicit(&trigger_fd, -1, memory_order_release);
    return 0;
}

// MARK: - Small helpers Swift cannot call directly

int pmp_block_signal(int signo) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo);
    return pthread_sigmask(SIG_BLOCK, &set, NULL);
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

int pmp_unblock_signal(int signo) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo);
    return pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

int pmp_signal_is_blocked(int signo) {
    sigset_t set;
    pthread_sigmask(SIG_BLOCK, NULL, &set);
    return sigismember(&set, signo);
}

pid_t pmp_gettid(void) { return (pid_t)syscall(SYS_gettid); }
int pmp_sigrtmin(void) { return SIGRTMIN; }
int pmp_sigrtmax(void) { return SIGRTMAX; }

int pmp_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

int pmp_set_thread_name(const char *name) {
    char truncated[16];
    strncpy(truncated, name, sizeof truncated - 1);
    truncated[sizeof truncated - 1] = 0;
    return pthread_setname_np(pthread_self(), truncated);
}

static int loader_generation_callback(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    uint64_t *out = data;
    out[0] = info->dlpi_adds;
    out[1] = info->dlpi_subs;
    return 1;  // the counters are the same in every entry
}

void pmp_loader_generation(uint64_t *adds, uint64_t *subs) {
    uint64_t counters[2] = {0, 0};
    dl_iterate_phdr(loader_generation_callback, counters);
    *adds = counters[0];
    *subs = counters[1];
}
