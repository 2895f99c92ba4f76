// Installing the capture handler, and the driver's side of the slot protocol (capture thread, never in signal
// context): arm a slot for a generation, signal the thread, wait for completions, read the slot, release it.

#include "internal.h"

#include <errno.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

pmp_slot_table pmp_slots;

static pmp_slot *slot_at(int index) {
    return pmp_slot_in(atomic_load_explicit(&pmp_slots.base, memory_order_acquire), index);
}

static int slot_index_valid(int index) {
    return index >= 0 && index < pmp_slots.count && atomic_load_explicit(&pmp_slots.base, memory_order_acquire) != NULL;
}

int pmp_capture_install(const pmp_capture_options *options) {
    int signo = options->signo, count = options->slot_count, depth = options->max_depth;
    if (atomic_load_explicit(&pmp_slots.base, memory_order_acquire) != NULL) {
        return pmp_slots.signo == signo ? 0 : -EALREADY;
    }
    if (count <= 0 || count > (1 << PMP_SLOT_BITS) || depth <= 0 || depth > 65536) return -EINVAL;

    struct sigaction current;
    if (sigaction(signo, NULL, &current) != 0) return -errno;
    int has_handler = (current.sa_flags & SA_SIGINFO) ? current.sa_sigaction != NULL
                                                       : (current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN);
    if (has_handler && !options->force) return -EBUSY;
    pmp_slots.own_pid = getpid();
    pmp_slots.own_uid = getuid();
    int loaded = pmp_prepare_unwinding(options->local_unwind, options->memory_reads_allowed);
    if (loaded != 0) return loaded;

    size_t stride = sizeof(pmp_slot) + sizeof(uint64_t) * (size_t)depth;
    stride = (stride + 63) & ~(size_t)63;
    // mmap: pages are committed only as slots get used.
    void *memory = mmap(NULL, stride * (size_t)count, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return -errno;
    pmp_slots.stride = stride;
    pmp_slots.count = count;
    pmp_slots.max_depth = depth;
    pmp_slots.signo = signo;

    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = pmp_capture_handler;
    action.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    if (sigaction(signo, &action, NULL) != 0) {
        int error = errno;
        munmap(memory, stride * (size_t)count);
        return -error;
    }
    // Published last: the install is done only once the handler is in place (it ignores signals until then).
    atomic_store_explicit(&pmp_slots.base, (unsigned char *)memory, memory_order_release);
    return 0;
}

int pmp_capture_signal(void) {
    return atomic_load_explicit(&pmp_slots.base, memory_order_acquire) != NULL ? pmp_slots.signo : 0;
}

uint64_t pmp_slot_arm(int index) {
    if (!slot_index_valid(index)) return 0;
    pmp_slot *slot = slot_at(index);
    uint64_t word = atomic_load_explicit(&slot->word, memory_order_acquire);
    for (;;) {
        int state = (int)(word & 3);
        if (state == PMP_SLOT_WRITING) return 0;
        uint64_t generation = ((word >> 2) + 1) & PMP_GENERATION_MASK;
        if (generation == 0) generation = 1;
        if (atomic_compare_exchange_weak_explicit(&slot->word, &word, pmp_slot_word(generation, PMP_SLOT_REQUESTED),
                                                  memory_order_acq_rel, memory_order_acquire)) {
            slot->depth = 0;
            slot->truncated = 0;
            return generation;
        }
    }
}

int pmp_signal_thread(pid_t tid, int index, uint64_t generation) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = pmp_slots.signo;
    info.si_code = SI_QUEUE;
    info.si_pid = pmp_slots.own_pid;
    info.si_uid = pmp_slots.own_uid;
    info.si_value.sival_ptr = (void *)(uintptr_t)((generation << PMP_SLOT_BITS) | (uint64_t)index);
    if (syscall(SYS_rt_tgsigqueueinfo, pmp_slots.own_pid, tid, pmp_slots.signo, &info) != 0) return errno;
    return 0;
}

int pmp_slot_state(int index, uint64_t generation) {
    if (!slot_index_valid(index)) return PMP_SLOT_IDLE;
    uint64_t word = atomic_load_explicit(&slot_at(index)->word, memory_order_acquire);
    if ((word >> 2) != generation) return PMP_SLOT_IDLE;
    return (int)(word & 3);
}

int pmp_slot_abandon(int index, uint64_t generation) {
    if (!slot_index_valid(index)) return PMP_SLOT_IDLE;
    pmp_slot *slot = slot_at(index);
    uint64_t expected = pmp_slot_word(generation, PMP_SLOT_REQUESTED);
    if (atomic_compare_exchange_strong_explicit(&slot->word, &expected, pmp_slot_word(generation, PMP_SLOT_IDLE),
                                                memory_order_acq_rel, memory_order_acquire)) {
        return PMP_SLOT_REQUESTED;
    }
    if ((expected >> 2) != generation) return PMP_SLOT_IDLE;
    return (int)(expected & 3);
}

int pmp_slot_read(int index, uint64_t generation, uint64_t *out, int capacity, int *truncated) {
    if (!slot_index_valid(index)) return -1;
    pmp_slot *slot = slot_at(index);
    uint64_t word = atomic_load_explicit(&slot->word, memory_order_acquire);
    if (word != pmp_slot_word(generation, PMP_SLOT_DONE)) return -1;
    int depth = slot->depth;
    if (depth > capacity) depth = capacity;
    memcpy(out, slot->frames, sizeof(uint64_t) * (size_t)depth);
    if (truncated) *truncated = slot->truncated || depth < slot->depth;
    return depth;
}

int pmp_slot_read_context(int index, uint64_t generation, pmp_slot_context *out) {
    if (!slot_index_valid(index)) return -1;
    pmp_slot *slot = slot_at(index);
    if (atomic_load_explicit(&slot->word, memory_order_acquire) != pmp_slot_word(generation, PMP_SLOT_DONE)) return -1;
    *out = slot->context;
    return 0;
}

void pmp_slot_release(int index, uint64_t generation) {
    if (!slot_index_valid(index)) return;
    uint64_t expected = pmp_slot_word(generation, PMP_SLOT_DONE);
    atomic_compare_exchange_strong_explicit(&slot_at(index)->word, &expected, pmp_slot_word(generation, PMP_SLOT_IDLE),
                                            memory_order_acq_rel, memory_order_relaxed);
}

uint32_t pmp_completions(void) { return atomic_load_explicit(&pmp_slots.completions, memory_order_acquire); }

uint32_t pmp_wait_completions(uint32_t target, int64_t timeout_ns) {
    // Target, then "asleep", then the count: a handler whose answer the count below misses comes later in
    // that order, so it sees both and wakes us (seq_cst throughout).
    atomic_store_explicit(&pmp_slots.wake_target, target, memory_order_seq_cst);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        atomic_store_explicit(&pmp_slots.driver_asleep, 1, memory_order_seq_cst);
        uint32_t current = atomic_load_explicit(&pmp_slots.completions, memory_order_seq_cst);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t elapsed = (int64_t)(now.tv_sec - start.tv_sec) * 1000000000 + (now.tv_nsec - start.tv_nsec);
        int64_t remaining = timeout_ns - elapsed;
        if ((int32_t)(current - target) >= 0 || remaining <= 0) {
            atomic_store_explicit(&pmp_slots.driver_asleep, 0, memory_order_seq_cst);
            return current;
        }
        struct timespec wait = {.tv_sec = remaining / 1000000000, .tv_nsec = remaining % 1000000000};
        syscall(SYS_futex, &pmp_slots.driver_asleep, FUTEX_WAIT_PRIVATE, 1, &wait, NULL, 0);
    }
}
