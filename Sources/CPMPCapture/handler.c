// SIGNAL CONTEXT ONLY: the capture handler and everything it calls.
//
// The handler unwinds the interrupted thread's own stack with libunwind, starting from the signal's ucontext,
// into a slot that the driver armed beforehand. It never allocates, never takes a lock it could wait on for
// long, and keeps errno. A slot carries a generation: a handler that arrives after the driver gave up (or for
// an older capture) finds another generation and leaves the slot alone.
//
// What a function here may call is listed at PMP_SIGNAL_SAFE (internal.h); every function here carries it.
//
// Our own address space (set up by unwinder.c): libunwind's local address space costs about 22 µs a stack,
// nearly all of it system calls on every step: sigprocmask around dl_iterate_phdr (loader lock, every image's
// program headers) and around its memory pool, and a mincore plus a pipe write and read to validate stack
// reads (x86_64's CONSERVATIVE_CHECKS). So the handler walks through the generic libunwind ("remote"
// unwinding) with the accessors below:
// - find_proc_info looks the ip up in a map of code ranges and .eh_frame_hdr tables built outside signal
//   context, and lets libunwind search that table: no dl_iterate_phdr, no loader lock in the handler.
// - access_mem reads directly once the page is known readable: one probe per page and walk (rt_sigprocmask while
//   the walk holds every signal blocked, see libunwind_masks.c; else process_vm_readv or the pipe). Image
//   memory is checked too, so a stale map (an image unloaded since) can make a walk wrong, never fault.
// - libunwind's cache of register rules is on; a hit skips the table search, the allocation and all image
//   reads.

#include "internal.h"
#include "pmp_tasks.h"

#include <errno.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

// Pages remembered as readable during one walk.
#define PMP_WALK_KNOWN_PAGES 16

typedef struct {
    const ucontext_t *context;
    const pmp_image_map *images;
    uintptr_t known_pages[PMP_WALK_KNOWN_PAGES];
    unsigned known_count, next_known;
} pmp_walk;

#if PMP_OWN_SPACE_SUPPORTED
// libunwind's register numbers to the signal context's general registers.
static const int general_register_of[] = {
    [UNW_X86_64_RAX] = REG_RAX, [UNW_X86_64_RDX] = REG_RDX, [UNW_X86_64_RCX] = REG_RCX, [UNW_X86_64_RBX] = REG_RBX,
    [UNW_X86_64_RSI] = REG_RSI, [UNW_X86_64_RDI] = REG_RDI, [UNW_X86_64_RBP] = REG_RBP, [UNW_X86_64_RSP] = REG_RSP,
    [UNW_X86_64_R8] = REG_R8,   [UNW_X86_64_R9] = REG_R9,   [UNW_X86_64_R10] = REG_R10, [UNW_X86_64_R11] = REG_R11,
    [UNW_X86_64_R12] = REG_R12, [UNW_X86_64_R13] = REG_R13, [UNW_X86_64_R14] = REG_R14, [UNW_X86_64_R15] = REG_R15,
    [UNW_X86_64_RIP] = REG_RIP,
};
#endif

// MARK: - Walking

PMP_SIGNAL_SAFE static int record_frames(unw_cursor_t *cursor, pmp_get_reg_function get_reg, pmp_step_function step,
                                         uint64_t *frames, int limit, int *truncated) {
    int depth = 0;
    for (;;) {
        unw_word_t ip = 0;
        if (get_reg(cursor, UNW_REG_IP, &ip) < 0 || ip == 0) break;
        if (depth == limit) {
            *truncated = 1;
            break;
        }
        frames[depth++] = (uint64_t)ip;
        if (step(cursor) <= 0) break;
    }
    return depth;
}

PMP_SIGNAL_SAFE static int walk_with_local_space(void *context, uint64_t *frames, int limit, int *truncated) {
    unw_cursor_t cursor;
    if (local_libunwind.init_local2(&cursor, (unw_context_t *)context, UNW_INIT_SIGNAL_FRAME) != 0) return 0;
    return record_frames(&cursor, local_libunwind.get_reg, local_libunwind.step, frames, limit, truncated);
}

PMP_SIGNAL_SAFE int pmp_walk_through(pmp_unwinder *unwinder, const ucontext_t *context, uint64_t *frames, int limit,
                                     int *truncated) {
    pmp_walk walk;
    walk.context = context;
    walk.images = unwinder->images;
    walk.known_count = 0;
    walk.next_known = 0;
    unw_cursor_t cursor;
    // init_remote starts at the exact ip, as unw_init_local2(UNW_INIT_SIGNAL_FRAME) does.
    if (remote_libunwind.init_remote(&cursor, unwinder->space, &walk) != 0) return 0;
    return record_frames(&cursor, remote_libunwind.get_reg, remote_libunwind.step, frames, limit, truncated);
}

PMP_SIGNAL_SAFE static int walk_with_own_space(void *context, uint64_t *frames, int limit, int *truncated) {
    // Counted in flight before the unwinder is loaded: a refresh that then sees no walk in flight knows that
    // no handler still holds an unwinder it retired.
    atomic_fetch_add_explicit(&own_space.walks_in_flight, 1, memory_order_seq_cst);
    pmp_unwinder *unwinder = atomic_load_explicit(&own_space.current, memory_order_seq_cst);
    sigset_t before;
    int masks_set = pmp_walk_masks_begin(&before);
    int depth = pmp_walk_through(unwinder, context, frames, limit, truncated);
    if (masks_set) pmp_walk_masks_end(&before);
    atomic_fetch_sub_explicit(&own_space.walks_in_flight, 1, memory_order_seq_cst);
    return depth;
}

// MARK: - The accessors of our own address space

// Whether `page` can be read now, asked of the kernel: a fault there would kill the process.
PMP_SIGNAL_SAFE static int page_is_readable(uintptr_t page) {
    char byte;
    // The first page is never mapped (mmap_min_addr), and to the probes below it would be a null pointer.
    if (page == 0) return 0;
    // With every signal blocked already, adding the 8 bytes at `page` to the blocked set changes nothing, and
    // the kernel copies them with a fault check: EFAULT when unreadable. A fifth of process_vm_readv's cost,
    // which looks the process up and pins the page. (pmp_walk_masks_end sets the mask back as it was.)
    if (pmp_masks_already_full) return syscall(SYS_rt_sigprocmask, SIG_BLOCK, (const void *)page, NULL, 8UL) == 0;
    if (!own_space.probe_with_pipe) {
        struct iovec local = {&byte, 1};
        struct iovec remote = {(void *)page, 1};
        return syscall(SYS_process_vm_readv, pmp_slots.own_pid, &local, 1UL, &remote, 1UL, 0UL) == 1;
    }
    // write() copies from the page, and fails with EFAULT rather than faulting. Drained at once: never full.
    if (write(own_space.probe_pipe[1], (const void *)page, 1) != 1) return 0;
    ssize_t ignored = read(own_space.probe_pipe[0], &byte, 1);
    (void)ignored;
    return 1;
}

PMP_SIGNAL_SAFE static int walk_knows_readable(pmp_walk *walk, uintptr_t page) {
    for (unsigned i = 0; i < walk->known_count; i++) {
        if (walk->known_pages[i] == page) return 1;
    }
    if (!page_is_readable(page)) return 0;
    walk->known_pages[walk->next_known] = page;
    walk->next_known = (walk->next_known + 1) % PMP_WALK_KNOWN_PAGES;
    if (walk->known_count < PMP_WALK_KNOWN_PAGES) walk->known_count++;
    return 1;
}

PMP_SIGNAL_SAFE static int read_memory(unw_addr_space_t space, unw_word_t address, unw_word_t *value, int write,
                                       void *arg) {
    (void)space;
    pmp_walk *walk = arg;
    if (write) return -UNW_EINVAL;
    size_t page_size = own_space.page_size;
    uintptr_t first = (uintptr_t)address & ~(page_size - 1);
    uintptr_t last = ((uintptr_t)address + sizeof *value - 1) & ~(page_size - 1);
    if (!walk_knows_readable(walk, first) || (last != first && !walk_knows_readable(walk, last))) return -UNW_EINVAL;
    memcpy(value, (const void *)(uintptr_t)address, sizeof *value);
    return 0;
}

PMP_SIGNAL_SAFE static int read_register(unw_addr_space_t space, unw_regnum_t reg, unw_word_t *value, int write,
                                         void *arg) {
    (void)space;
#if PMP_OWN_SPACE_SUPPORTED
    pmp_walk *walk = arg;
    if (write) return -UNW_EREADONLYREG;
    if (reg < 0 || (size_t)reg >= sizeof general_register_of / sizeof general_register_of[0]) return -UNW_EBADREG;
    *value = (unw_word_t)walk->context->uc_mcontext.gregs[general_register_of[reg]];
    return 0;
#else
    (void)reg, (void)value, (void)write, (void)arg;
    return -UNW_EBADREG;
#endif
}

PMP_SIGNAL_SAFE static int read_float_register(unw_addr_space_t space, unw_regnum_t reg, unw_fpreg_t *value,
                                               int write, void *arg) {
    (void)space, (void)reg, (void)value, (void)write, (void)arg;
    return -UNW_EBADREG;
}

PMP_SIGNAL_SAFE static const pmp_code_range *code_range_containing(const pmp_image_map *images, uintptr_t ip) {
    size_t low = 0, high = images->count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (images->ranges[middle].start <= ip) low = middle + 1;
        else high = middle;
    }
    if (low == 0 || ip >= images->ranges[low - 1].end) return NULL;
    return &images->ranges[low - 1];
}

// What libunwind's own dl_iterate_phdr callback hands to dwarf_search_unwind_table, from our map instead.
PMP_SIGNAL_SAFE static int find_proc_info(unw_addr_space_t space, unw_word_t ip, unw_proc_info_t *info,
                                          int need_unwind_info, void *arg) {
    pmp_walk *walk = arg;
    const pmp_code_range *range = code_range_containing(walk->images, (uintptr_t)ip);
    if (range == NULL) return -UNW_ENOINFO;
    unw_dyn_info_t table;
    memset(&table, 0, sizeof table);
    table.start_ip = range->start;
    table.end_ip = range->end;
    table.gp = range->gp;
    table.format = UNW_INFO_FORMAT_REMOTE_TABLE;
    table.u.rti.segbase = range->eh_frame_hdr;
    table.u.rti.table_data = range->table;
    table.u.rti.table_len = range->table_words;
    info->gp = range->gp;
    return remote_libunwind.search_unwind_table(space, ip, &table, info, need_unwind_info, arg);
}

// Only unwind info found through the dynamic list comes back here; libunwind frees the rest itself.
PMP_SIGNAL_SAFE static void put_unwind_info(unw_addr_space_t space, unw_proc_info_t *info, void *arg) {
    (void)space, (void)info, (void)arg;
}

// No dynamic list: libunwind would calloc while searching one.
PMP_SIGNAL_SAFE static int get_dyn_info_list_addr(unw_addr_space_t space, unw_word_t *address, void *arg) {
    (void)space, (void)address, (void)arg;
    return -UNW_ENOINFO;
}

PMP_SIGNAL_SAFE static int resume(unw_addr_space_t space, unw_cursor_t *cursor, void *arg) {
    (void)space, (void)cursor, (void)arg;
    return -UNW_EINVAL;
}

PMP_SIGNAL_SAFE static int get_proc_name(unw_addr_space_t space, unw_word_t ip, char *buffer, size_t length,
                                         unw_word_t *offset, void *arg) {
    (void)space, (void)ip, (void)buffer, (void)length, (void)offset, (void)arg;
    return -UNW_ENOINFO;
}

// Called outside signal context, when an address space is created; the functions it hands out run in handlers.
void pmp_fill_accessors(unw_accessors_t *accessors) {
    memset(accessors, 0, sizeof *accessors);
    accessors->find_proc_info = find_proc_info;
    accessors->put_unwind_info = put_unwind_info;
    accessors->get_dyn_info_list_addr = get_dyn_info_list_addr;
    accessors->access_mem = read_memory;
    accessors->access_reg = read_register;
    accessors->access_fpreg = read_float_register;
    accessors->resume = resume;
    accessors->get_proc_name = get_proc_name;
}

// MARK: - The handler

// Reads registers from the ucontext and the thread's CPU clock, after the walk: with the clock read before it,
// the walk's own cost, which blocked-time tracking must not take for the thread's progress.
PMP_SIGNAL_SAFE static uint64_t thread_cpu_ns(void) {
    struct timespec cpu;
    return clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0
               ? (uint64_t)cpu.tv_sec * 1000000000u + (uint64_t)cpu.tv_nsec : 0;
}

PMP_SIGNAL_SAFE static void record_context(pmp_slot_context *out, const void *context, uint64_t cpu_before_walk) {
    out->cpu_ns = thread_cpu_ns();
    out->walk_cpu_ns = cpu_before_walk != 0 && out->cpu_ns >= cpu_before_walk ? out->cpu_ns - cpu_before_walk : 0;
    const ucontext_t *ucontext = context;
    out->current_task = pmp_task_current();
    out->async_context = pmp_task_async_context_register(context);
#if defined(__x86_64__)
    out->arg0 = (uint64_t)ucontext->uc_mcontext.gregs[REG_RDI];
    out->arg1 = (uint64_t)ucontext->uc_mcontext.gregs[REG_RSI];
    out->number = (uint64_t)ucontext->uc_mcontext.gregs[REG_RAX];
#elif defined(__aarch64__)
    out->arg0 = ucontext->uc_mcontext.regs[0];
    out->arg1 = ucontext->uc_mcontext.regs[1];
    out->number = ucontext->uc_mcontext.regs[8];
#else
    (void)ucontext;
    out->arg0 = out->arg1 = out->number = 0;
#endif
}

PMP_SIGNAL_SAFE void pmp_capture_handler(int signo, siginfo_t *info, void *context) {
    (void)signo;
    int saved_errno = errno;
    unsigned char *base = atomic_load_explicit(&pmp_slots.base, memory_order_acquire);
    // Only our own queued requests: not `kill` from a shell, not another process's sigqueue.
    if (info == NULL || info->si_code != SI_QUEUE || info->si_pid != pmp_slots.own_pid || base == NULL) {
        errno = saved_errno;
        return;
    }
    uint64_t value = (uint64_t)(uintptr_t)info->si_value.sival_ptr;
    uint64_t index = value & ((UINT64_C(1) << PMP_SLOT_BITS) - 1);
    uint64_t generation = value >> PMP_SLOT_BITS;
    if (index >= (uint64_t)pmp_slots.count) {
        errno = saved_errno;
        return;
    }
    pmp_slot *slot = pmp_slot_in(base, (int)index);
    uint64_t expected = pmp_slot_word(generation, PMP_SLOT_REQUESTED);
    if (!atomic_compare_exchange_strong_explicit(&slot->word, &expected, pmp_slot_word(generation, PMP_SLOT_WRITING),
                                                 memory_order_acq_rel, memory_order_relaxed)) {
        errno = saved_errno;  // late, or for another capture: not ours to write
        return;
    }

    int truncated = 0;
    // Read before and after: blocked-time tracking must not take the walk's own cost for the thread's progress.
    uint64_t cpu_before_walk = thread_cpu_ns();
    int depth = own_space.ready ? walk_with_own_space(context, slot->frames, pmp_slots.max_depth, &truncated)
                                : walk_with_local_space(context, slot->frames, pmp_slots.max_depth, &truncated);
    slot->depth = depth;
    slot->truncated = truncated;
    record_context(&slot->context, context, cpu_before_walk);
    atomic_store_explicit(&slot->word, pmp_slot_word(generation, PMP_SLOT_DONE), memory_order_release);

    // Only the answer that reaches the driver's target, with the driver asleep, makes a system call: not the
    // answers that come in while it is still signalling.
    uint32_t done = atomic_fetch_add_explicit(&pmp_slots.completions, 1, memory_order_seq_cst) + 1;
    if ((int32_t)(done - atomic_load_explicit(&pmp_slots.wake_target, memory_order_seq_cst)) >= 0 &&
        atomic_load_explicit(&pmp_slots.driver_asleep, memory_order_seq_cst) == 1 &&
        atomic_exchange_explicit(&pmp_slots.driver_asleep, 0, memory_order_seq_cst) == 1) {
        syscall(SYS_futex, &pmp_slots.driver_asleep, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
    errno = saved_errno;
}
