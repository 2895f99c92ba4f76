// The only code of swift-pmp that runs in signal context.
//
// The capture handler unwinds the interrupted thread's own stack with libunwind, starting from the signal's
// ucontext, into a slot that the driver armed beforehand. It never allocates, never takes a lock it could
// wait on for long, and keeps errno. A slot carries a generation: a handler that arrives after the driver gave
// up (or for an older capture) finds another generation and leaves the slot alone.
//
// libunwind walks the stack through an address space of our own (see "Our own address space" below) when the
// generic libunwind is there, and through its local address space otherwise.

#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "pmp_capture.h"
#include "pmp_tasks.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define GENERATION_BITS 44
#define SLOT_BITS 20
#define GENERATION_MASK ((UINT64_C(1) << GENERATION_BITS) - 1)

typedef struct {
    _Atomic uint64_t word;  // (generation << 2) | state
    int32_t depth;
    int32_t truncated;
    pmp_slot_context context;
    uint64_t frames[];
} pmp_slot;

static unsigned char *slots_base;
static size_t slot_stride;
static int slot_count;
static int max_depth;
static int capture_signo;
static pid_t own_pid;
static uid_t own_uid;  // for the siginfo we queue: read once, not once per signalled thread

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

// MARK: - Walking the stack

typedef int (*cursor_step_function)(unw_cursor_t *);
typedef int (*cursor_get_reg_function)(unw_cursor_t *, unw_regnum_t, unw_word_t *);

static int record_frames(unw_cursor_t *cursor, cursor_get_reg_function get_reg, cursor_step_function step,
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

static int walk_with_local_space(void *context, uint64_t *frames, int *truncated) {
    unw_cursor_t cursor;
    if (unwind_init_local2(&cursor, (unw_context_t *)context, UNW_INIT_SIGNAL_FRAME) != 0) return 0;
    return record_frames(&cursor, unwind_get_reg, unwind_step, frames, max_depth, truncated);
}

// MARK: - Our own address space
//
// libunwind's local address space costs about 22 µs a stack, nearly all of it system calls on every step:
// sigprocmask around dl_iterate_phdr (loader lock, every image's program headers) and around its memory pool,
// and a mincore plus a pipe write and read to validate stack reads (x86_64's CONSERVATIVE_CHECKS).
// Registering the images with _U_dyn_register is no cure: libunwind 1.6 never frees the unwind info it
// allocates for an entry found that way (its put_unwind_info is a no-op), a leak on every step.
//
// So the handler walks through the generic libunwind ("remote" unwinding) with accessors of our own:
// - find_proc_info looks the ip up in a map of code ranges and .eh_frame_hdr tables built outside signal
//   context, and lets libunwind search that table: no dl_iterate_phdr, no loader lock in the handler.
// - access_mem reads directly once the page is known readable: one process_vm_readv per page and walk. Image
//   memory is checked too, so a stale map (an image unloaded since) can make a walk wrong, never fault.
// - libunwind's global cache of register rules is on; a hit skips the table search, the allocation and all
//   image reads. Its mutex is taken by our walks only, and nothing under it waits for anything (no loader
//   lock, no malloc): the deadlock that turned the local cache off came from dl_iterate_phdr under it.
// A map and its address space (whose cache holds that map's rules) make one unwinder. When the loader's
// counters change, a new one is published and the old one retired; a retired one is reused (cache flushed)
// only after no walk was seen in flight, since libunwind reads cache entries after dropping its mutex.

#if defined(__x86_64__)
#define PMP_OWN_SPACE_SUPPORTED 1
// libunwind's register numbers to the signal context's general registers.
static const int general_register_of[] = {
    [UNW_X86_64_RAX] = REG_RAX, [UNW_X86_64_RDX] = REG_RDX, [UNW_X86_64_RCX] = REG_RCX, [UNW_X86_64_RBX] = REG_RBX,
    [UNW_X86_64_RSI] = REG_RSI, [UNW_X86_64_RDI] = REG_RDI, [UNW_X86_64_RBP] = REG_RBP, [UNW_X86_64_RSP] = REG_RSP,
    [UNW_X86_64_R8] = REG_R8,   [UNW_X86_64_R9] = REG_R9,   [UNW_X86_64_R10] = REG_R10, [UNW_X86_64_R11] = REG_R11,
    [UNW_X86_64_R12] = REG_R12, [UNW_X86_64_R13] = REG_R13, [UNW_X86_64_R14] = REG_R14, [UNW_X86_64_R15] = REG_R15,
    [UNW_X86_64_RIP] = REG_RIP,
};
#else
#define PMP_OWN_SPACE_SUPPORTED 0
#endif

// Entries in each address space's cache of register rules (libunwind's default, 128, thrashes on a service
// whose stacks hold a few hundred distinct return addresses, and every miss is taken under the cache mutex).
#define PMP_RULE_CACHE_ENTRIES 4096
#define PMP_DEFAULT_RULE_CACHE_ENTRIES 128
// Unwinders alive at most; past that, a refresh waits for walks to drain rather than allocate another.
#define PMP_MAX_UNWINDERS 8
// Pages remembered as readable during one walk.
#define PMP_WALK_KNOWN_PAGES 16

typedef struct {
    uintptr_t start, end;      // an executable PT_LOAD segment
    uintptr_t eh_frame_hdr;    // base of the table's data-relative offsets
    uintptr_t table;           // the binary-search table inside .eh_frame_hdr
    unw_word_t table_words;    // its length in words, as libunwind counts it
    unw_word_t gp;             // DT_PLTGOT, as libunwind's own lookup sets it
} pmp_code_range;

typedef struct {
    uint64_t loader_adds, loader_subs;  // the loader's counters when the map was built
    size_t count;
    pmp_code_range ranges[];            // sorted by start
} pmp_image_map;

typedef struct pmp_unwinder {
    unw_addr_space_t space;
    pmp_image_map *images;
    struct pmp_unwinder *next_retired;
} pmp_unwinder;

typedef struct {
    const ucontext_t *context;
    const pmp_image_map *images;
    uintptr_t known_pages[PMP_WALK_KNOWN_PAGES];
    unsigned known_count, next_known;
} pmp_walk;

typedef int (*init_remote_function)(unw_cursor_t *, unw_addr_space_t, void *);
typedef unw_addr_space_t (*create_addr_space_function)(unw_accessors_t *, int);
typedef int (*search_unwind_table_function)(unw_addr_space_t, unw_word_t, unw_dyn_info_t *, unw_proc_info_t *, int,
                                            void *);
typedef int (*set_caching_policy_function)(unw_addr_space_t, unw_caching_policy_t);
typedef int (*set_cache_size_function)(unw_addr_space_t, size_t, int);
typedef void (*flush_cache_function)(unw_addr_space_t, unw_word_t, unw_word_t);

static struct {
    init_remote_function init_remote;
    cursor_step_function step;
    cursor_get_reg_function get_reg;
    create_addr_space_function create_addr_space;
    search_unwind_table_function search_unwind_table;
    set_caching_policy_function set_caching_policy;
    set_cache_size_function set_cache_size;
    flush_cache_function flush_cache;
} generic;

static int own_space_ready;
static size_t page_size;
static int probe_pipe[2] = {-1, -1};  // used when process_vm_readv is not allowed
static int probe_with_pipe;
static _Atomic(pmp_unwinder *) current_unwinder;
static _Atomic int walks_in_flight;
static pmp_unwinder *retired_unwinders;  // below: touched under refresh_lock only
static int unwinder_count;
static pthread_mutex_t refresh_lock = PTHREAD_MUTEX_INITIALIZER;

// Whether `page` can be read now, asked of the kernel: a fault there would kill the process.
static int page_is_readable(uintptr_t page) {
    char byte;
    if (!probe_with_pipe) {
        struct iovec local = {&byte, 1};
        struct iovec remote = {(void *)page, 1};
        return syscall(SYS_process_vm_readv, own_pid, &local, 1UL, &remote, 1UL, 0UL) == 1;
    }
    // write() copies from the page, and fails with EFAULT rather than faulting. Drained at once: never full.
    if (write(probe_pipe[1], (const void *)page, 1) != 1) return 0;
    ssize_t ignored = read(probe_pipe[0], &byte, 1);
    (void)ignored;
    return 1;
}

static int walk_knows_readable(pmp_walk *walk, uintptr_t page) {
    for (unsigned i = 0; i < walk->known_count; i++) {
        if (walk->known_pages[i] == page) return 1;
    }
    if (!page_is_readable(page)) return 0;
    walk->known_pages[walk->next_known] = page;
    walk->next_known = (walk->next_known + 1) % PMP_WALK_KNOWN_PAGES;
    if (walk->known_count < PMP_WALK_KNOWN_PAGES) walk->known_count++;
    return 1;
}

static int read_memory(unw_addr_space_t space, unw_word_t address, unw_word_t *value, int write, void *arg) {
    (void)space;
    pmp_walk *walk = arg;
    if (write) return -UNW_EINVAL;
    uintptr_t first = (uintptr_t)address & ~(page_size - 1);
    uintptr_t last = ((uintptr_t)address + sizeof *value - 1) & ~(page_size - 1);
    if (!walk_knows_readable(walk, first) || (last != first && !walk_knows_readable(walk, last))) return -UNW_EINVAL;
    memcpy(value, (const void *)(uintptr_t)address, sizeof *value);
    return 0;
}

static int read_register(unw_addr_space_t space, unw_regnum_t reg, unw_word_t *value, int write, void *arg) {
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

static int read_float_register(unw_addr_space_t space, unw_regnum_t reg, unw_fpreg_t *value, int write, void *arg) {
    (void)space, (void)reg, (void)value, (void)write, (void)arg;
    return -UNW_EBADREG;
}

static const pmp_code_range *code_range_containing(const pmp_image_map *images, uintptr_t ip) {
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
static int find_proc_info(unw_addr_space_t space, unw_word_t ip, unw_proc_info_t *info, int need_unwind_info,
                          void *arg) {
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
    return generic.search_unwind_table(space, ip, &table, info, need_unwind_info, arg);
}

// Only unwind info found through the dynamic list comes back here; libunwind frees the rest itself.
static void put_unwind_info(unw_addr_space_t space, unw_proc_info_t *info, void *arg) {
    (void)space, (void)info, (void)arg;
}

// No dynamic list: libunwind would calloc while searching one.
static int get_dyn_info_list_addr(unw_addr_space_t space, unw_word_t *address, void *arg) {
    (void)space, (void)address, (void)arg;
    return -UNW_ENOINFO;
}

static int resume(unw_addr_space_t space, unw_cursor_t *cursor, void *arg) {
    (void)space, (void)cursor, (void)arg;
    return -UNW_EINVAL;
}

static int get_proc_name(unw_addr_space_t space, unw_word_t ip, char *buffer, size_t length, unw_word_t *offset,
                         void *arg) {
    (void)space, (void)ip, (void)buffer, (void)length, (void)offset, (void)arg;
    return -UNW_ENOINFO;
}

static int walk_through(pmp_unwinder *unwinder, const ucontext_t *context, uint64_t *frames, int limit,
                        int *truncated) {
    pmp_walk walk;
    walk.context = context;
    walk.images = unwinder->images;
    walk.known_count = 0;
    walk.next_known = 0;
    unw_cursor_t cursor;
    // init_remote starts at the exact ip, as unw_init_local2(UNW_INIT_SIGNAL_FRAME) does.
    if (generic.init_remote(&cursor, unwinder->space, &walk) != 0) return 0;
    return record_frames(&cursor, generic.get_reg, generic.step, frames, limit, truncated);
}

static int walk_with_own_space(void *context, uint64_t *frames, int *truncated) {
    // Counted in flight before the unwinder is loaded: a refresh that then sees no walk in flight knows that
    // no handler still holds an unwinder it retired.
    atomic_fetch_add_explicit(&walks_in_flight, 1, memory_order_seq_cst);
    pmp_unwinder *unwinder = atomic_load_explicit(&current_unwinder, memory_order_seq_cst);
    int depth = walk_through(unwinder, context, frames, max_depth, truncated);
    atomic_fetch_sub_explicit(&walks_in_flight, 1, memory_order_seq_cst);
    return depth;
}

// MARK: Building the map (outside signal context)

typedef struct {
    pmp_image_map *map;  // NULL: count only
    size_t capacity;
    size_t needed;
    uint64_t adds, subs;
    int counters_seen;
} map_build;

static size_t encoded_value_size(unsigned char encoding) {
    switch (encoding & 0x0f) {
    case 0x00: return sizeof(uintptr_t);  // absptr
    case 0x02: case 0x0a: return 2;
    case 0x03: case 0x0b: return 4;
    case 0x04: case 0x0c: return 8;
    default: return 0;  // LEB128 or unknown: not found in .eh_frame_hdr
    }
}

static int read_count(const unsigned char *at, unsigned char encoding, uint64_t *count) {
    switch (encoding) {  // a count is absolute: no application bits
    case 0x00: case 0x04: case 0x0c: memcpy(count, at, 8); return 1;
    case 0x03: { uint32_t value; memcpy(&value, at, 4); *count = value; return 1; }
    case 0x0b: { int32_t value; memcpy(&value, at, 4); if (value < 0) return 0; *count = (uint64_t)value; return 1; }
    default: return 0;
    }
}

// Runs under the loader lock, so the image cannot be unmapped while its headers are read.
static int collect_image(struct dl_phdr_info *info, size_t size, void *data) {
    map_build *build = data;
    if (!build->counters_seen) {
        build->adds = info->dlpi_adds;
        build->subs = info->dlpi_subs;
        build->counters_seen = 1;
    }
    if (size < offsetof(struct dl_phdr_info, dlpi_phnum) + sizeof info->dlpi_phnum) return 0;
    const ElfW(Phdr) *eh_frame_hdr = NULL, *dynamic = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        if (info->dlpi_phdr[i].p_type == PT_GNU_EH_FRAME) eh_frame_hdr = &info->dlpi_phdr[i];
        else if (info->dlpi_phdr[i].p_type == PT_DYNAMIC) dynamic = &info->dlpi_phdr[i];
    }
    if (eh_frame_hdr == NULL) return 0;  // no binary-search table: libunwind's fallback handles its frames
    const unsigned char *header = (const unsigned char *)(info->dlpi_addr + eh_frame_hdr->p_vaddr);
    // version, eh_frame_ptr encoding, fde_count encoding, table encoding (datarel|sdata4 is all libunwind
    // searches), then eh_frame_ptr and fde_count.
    if (header[0] != 1 || header[3] != 0x3b) return 0;
    size_t pointer_size = header[1] == 0xff ? 0 : encoded_value_size(header[1]);
    if (header[1] != 0xff && pointer_size == 0) return 0;
    uint64_t fde_count;
    if (!read_count(header + 4 + pointer_size, header[2], &fde_count)) return 0;
    uintptr_t table = (uintptr_t)(header + 4 + pointer_size + encoded_value_size(header[2]));
    unw_word_t gp = 0;
    if (dynamic != NULL) {
        for (const ElfW(Dyn) *entry = (const ElfW(Dyn) *)(info->dlpi_addr + dynamic->p_vaddr); entry->d_tag != DT_NULL;
             entry++) {
            if (entry->d_tag == DT_PLTGOT) {
                gp = (unw_word_t)entry->d_un.d_ptr;
                break;
            }
        }
    }
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        if (segment->p_type != PT_LOAD || !(segment->p_flags & PF_X)) continue;
        if (build->map != NULL && build->map->count < build->capacity) {
            pmp_code_range *range = &build->map->ranges[build->map->count++];
            range->start = info->dlpi_addr + segment->p_vaddr;
            range->end = range->start + segment->p_memsz;
            range->eh_frame_hdr = (uintptr_t)header;
            range->table = table;
            range->table_words = (unw_word_t)(fde_count * 2 * sizeof(int32_t) / sizeof(unw_word_t));
            range->gp = gp;
        }
        build->needed++;
    }
    return 0;
}

static int compare_code_ranges(const void *left, const void *right) {
    const pmp_code_range *a = left, *b = right;
    return a->start < b->start ? -1 : a->start > b->start;
}

static pmp_image_map *build_image_map(void) {
    map_build build = {0};
    dl_iterate_phdr(collect_image, &build);  // count
    for (int attempt = 0; attempt < 8; attempt++) {
        size_t capacity = build.needed + 16;  // images may come between the two passes
        pmp_image_map *map = malloc(sizeof *map + capacity * sizeof map->ranges[0]);
        if (map == NULL) return NULL;
        map->count = 0;
        build = (map_build){.map = map, .capacity = capacity};
        dl_iterate_phdr(collect_image, &build);
        if (build.needed <= capacity) {
            map->loader_adds = build.adds;
            map->loader_subs = build.subs;
            qsort(map->ranges, map->count, sizeof map->ranges[0], compare_code_ranges);
            return map;
        }
        free(map);
    }
    return NULL;
}

// MARK: Unwinders (outside signal context, under refresh_lock)

// After a failed allocation of a rule cache's tables, every address space gets libunwind's default cache,
// whose tables live inside the space and are never allocated.
static int small_rule_caches;

// A walk of the calling thread through `unwinder`: libunwind initialises itself, and resets a flushed cache,
// here rather than in a handler. Returns the frames walked, or -1 when the unwinder must never be used.
//
// libunwind 1.6 allocates a rule cache's tables on the first step after a flush (get_rs_cache), and when that
// allocation fails (address space exhausted: ulimit -v) it returns without releasing the cache's lock, leaving
// every signal blocked as its lock_acquire does. The next step through that space, here or in a handler, then
// waits for ever on a lock its own thread may hold. So the first step is taken alone, and the signal mask
// tells whether the lock was left held: SIGSEGV, unblocked here, is blocked only by lock_acquire.
static int warm_up(pmp_unwinder *unwinder) {
    sigset_t probe, before, after;
    sigemptyset(&probe);
    sigaddset(&probe, SIGSEGV);
    pthread_sigmask(SIG_UNBLOCK, &probe, &before);
    ucontext_t context;
    uint64_t frames[8];
    int truncated = 0;
    if (getcontext(&context) == 0) walk_through(unwinder, &context, frames, 1, &truncated);
    pthread_sigmask(SIG_SETMASK, &before, &after);
    if (sigismember(&after, SIGSEGV)) return -1;
    if (getcontext(&context) != 0) return 0;
    return walk_through(unwinder, &context, frames, 8, &truncated);
}

static pmp_unwinder *new_unwinder(void) {
    if (unwinder_count >= PMP_MAX_UNWINDERS) return NULL;
    unw_accessors_t accessors;
    memset(&accessors, 0, sizeof accessors);
    accessors.find_proc_info = find_proc_info;
    accessors.put_unwind_info = put_unwind_info;
    accessors.get_dyn_info_list_addr = get_dyn_info_list_addr;
    accessors.access_mem = read_memory;
    accessors.access_reg = read_register;
    accessors.access_fpreg = read_float_register;
    accessors.resume = resume;
    accessors.get_proc_name = get_proc_name;
    unw_addr_space_t space = generic.create_addr_space(&accessors, 0);
    if (space == NULL) return NULL;
    pmp_unwinder *unwinder = calloc(1, sizeof *unwinder);
    if (unwinder == NULL) return NULL;  // the address space stays: libunwind cannot free its cache
    unwinder->space = space;
    generic.set_caching_policy(space, UNW_CACHE_GLOBAL);
    // Twice: the first call only sets the cache up at its default size. When the second cannot allocate the
    // tables, the default size (no allocation) for this space and every later one.
    generic.set_cache_size(space, PMP_RULE_CACHE_ENTRIES, 0);
    if (small_rule_caches || generic.set_cache_size(space, PMP_RULE_CACHE_ENTRIES, 0) != 0) {
        small_rule_caches = 1;
        generic.set_cache_size(space, PMP_DEFAULT_RULE_CACHE_ENTRIES, 0);
    }
    unwinder_count++;
    return unwinder;
}

// A retired unwinder no walk can still be using, or NULL.
static pmp_unwinder *take_quiet_unwinder(void) {
    if (retired_unwinders == NULL || atomic_load_explicit(&walks_in_flight, memory_order_seq_cst) != 0) return NULL;
    pmp_unwinder *unwinder = retired_unwinders;
    retired_unwinders = unwinder->next_retired;
    unwinder->next_retired = NULL;
    return unwinder;
}

static uint64_t current_map_adds = UINT64_MAX, current_map_subs = UINT64_MAX;

static int refresh_unwinder_locked(void) {
    uint64_t adds, subs;
    pmp_loader_generation(&adds, &subs);
    if (adds == current_map_adds && subs == current_map_subs) return 0;
    pmp_image_map *map = build_image_map();
    if (map == NULL) return -ENOMEM;
    pmp_unwinder *unwinder = take_quiet_unwinder();
    if (unwinder != NULL) {
        free(unwinder->images);  // quiet: no walk reads it
        unwinder->images = NULL;
        generic.flush_cache(unwinder->space, 0, 0);  // rules of the old map; reset by the warm-up below
    } else {
        unwinder = new_unwinder();
        if (unwinder == NULL) {  // too many still in use: keep the current one, stale but safe, and retry later
            free(map);
            return -EAGAIN;
        }
    }
    unwinder->images = map;
    warm_up(unwinder);
    pmp_unwinder *previous = atomic_exchange_explicit(&current_unwinder, unwinder, memory_order_seq_cst);
    if (previous != NULL) {
        previous->next_retired = retired_unwinders;
        retired_unwinders = previous;
    }
    current_map_adds = map->loader_adds;
    current_map_subs = map->loader_subs;
    return 1;
}

int pmp_capture_refresh_images(void) {
    if (!own_space_ready) return 0;
    pthread_mutex_lock(&refresh_lock);
    int result = refresh_unwinder_locked();
    pthread_mutex_unlock(&refresh_lock);
    return result;
}

int pmp_capture_uses_own_address_space(void) { return own_space_ready; }

// Whether a seccomp filter is on: it may kill the process for a system call it does not expect.
static int seccomp_filtered(void) {
    FILE *status = fopen("/proc/self/status", "re");
    if (status == NULL) return 1;
    char line[128];
    int filtered = 1;
    while (fgets(line, sizeof line, status) != NULL) {
        if (strncmp(line, "Seccomp:", 8) == 0) {
            filtered = strtol(line + 8, NULL, 10) != 0;
            break;
        }
    }
    fclose(status);
    return filtered;
}

static int choose_readability_probe(void) {
    if (!seccomp_filtered()) {
        char source = 1, target = 0;
        struct iovec local = {&target, 1};
        struct iovec remote = {&source, 1};
        if (syscall(SYS_process_vm_readv, getpid(), &local, 1UL, &remote, 1UL, 0UL) == 1 && target == 1) {
            probe_with_pipe = 0;
            return 0;
        }
    }
    // Under a filter (which might kill for process_vm_readv), or where it fails: a pipe, as libunwind's own
    // validation uses, with two calls per page.
    if (pipe2(probe_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return -errno;
    probe_with_pipe = 1;
    return 0;
}

// Loads the generic libunwind and sets the first unwinder up; on any failure the local space stays in use.
static int prepare_own_space(void) {
    if (own_space_ready) return 0;
    if (!PMP_OWN_SPACE_SUPPORTED) return -ENOTSUP;
    if (getenv("PMP_LOCAL_UNWIND") != NULL) return -ENOTSUP;  // for comparisons and as an escape hatch
    void *handle = dlopen("libunwind-" PMP_STRINGIFY(UNW_TARGET) ".so.8", RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) return -ELIBACC;
    generic.init_remote = (init_remote_function)dlsym(handle, PMP_STRINGIFY(UNW_ARCH_OBJ(init_remote)));
    generic.step = (cursor_step_function)dlsym(handle, PMP_STRINGIFY(UNW_ARCH_OBJ(step)));
    generic.get_reg = (cursor_get_reg_function)dlsym(handle, PMP_STRINGIFY(UNW_ARCH_OBJ(get_reg)));
    generic.create_addr_space =
        (create_addr_space_function)dlsym(handle, PMP_STRINGIFY(UNW_ARCH_OBJ(create_addr_space)));
    generic.search_unwind_table =
        (search_unwind_table_function)dlsym(handle, PMP_STRINGIFY(UNW_ARCH_OBJ(dwarf_search_unwind_table)));
    generic.set_caching_policy =
        (set_caching_policy_function)dlsym(handle, PMP_STRINGIFY(UNW_ARCH_OBJ(set_caching_policy)));
    generic.set_cache_size = (set_cache_size_function)dlsym(handle, PMP_STRINGIFY(UNW_ARCH_OBJ(set_cache_size)));
    generic.flush_cache = (flush_cache_function)dlsym(handle, PMP_STRINGIFY(UNW_ARCH_OBJ(flush_cache)));
    if (!generic.init_remote || !generic.step || !generic.get_reg || !generic.create_addr_space ||
        !generic.search_unwind_table || !generic.set_caching_policy || !generic.set_cache_size || !generic.flush_cache) {
        return -ELIBBAD;
    }
    long size = sysconf(_SC_PAGESIZE);
    page_size = size > 0 ? (size_t)size : 4096;
    int probe = choose_readability_probe();
    if (probe != 0) return probe;
    pthread_mutex_lock(&refresh_lock);
    int result = refresh_unwinder_locked();
    pthread_mutex_unlock(&refresh_lock);
    if (result < 0) return result;
    // A walk of this thread must get past this function, or something above is wrong: keep the local space.
    return warm_up(atomic_load(&current_unwinder)) >= 2 ? 0 : -ELIBBAD;
}

// MARK: - The handler and its slots

static _Atomic uint32_t wake_target;

static pmp_slot *slot_at(int index) { return (pmp_slot *)(slots_base + (size_t)index * slot_stride); }

static uint64_t make_word(uint64_t generation, int state) { return (generation << 2) | (uint64_t)state; }

// Signal-safe: reads registers from the ucontext and calls clock_gettime (async-signal-safe). The clock is read
// after the walk, so that the walk's own cost does not count as the thread's progress since its stack.
static void record_context(pmp_slot_context *out, const void *context) {
    struct timespec cpu;
    out->cpu_ns = clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0
                      ? (uint64_t)cpu.tv_sec * 1000000000u + (uint64_t)cpu.tv_nsec : 0;
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

    int truncated = 0;
    int depth = own_space_ready ? walk_with_own_space(context, slot->frames, &truncated)
                                : walk_with_local_space(context, slot->frames, &truncated);
    slot->depth = depth;
    slot->truncated = truncated;
    record_context(&slot->context, context);
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
    own_pid = getpid();
    own_uid = getuid();
    int loaded = open_libunwind();
    if (loaded != 0) return loaded;
    own_space_ready = prepare_own_space() == 0;

    size_t stride = sizeof(pmp_slot) + sizeof(uint64_t) * (size_t)depth;
    stride = (stride + 63) & ~(size_t)63;
    // mmap: pages are committed only as slots get used.
    void *memory = mmap(NULL, stride * (size_t)count, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return -errno;

    slot_stride = stride;
    slot_count = count;
    max_depth = depth;
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
    info.si_uid = own_uid;
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

int pmp_slot_read(int index, uint64_t generation, uint64_t *out, int capacity, int *truncated) {
    if (index < 0 || index >= slot_count) return -1;
    pmp_slot *slot = slot_at(index);
    uint64_t word = atomic_load_explicit(&slot->word, memory_order_acquire);
    if (word != make_word(generation, PMP_SLOT_DONE)) return -1;
    int depth = slot->depth;
    if (depth > capacity) depth = capacity;
    memcpy(out, slot->frames, sizeof(uint64_t) * (size_t)depth);
    if (truncated) *truncated = slot->truncated || depth < slot->depth;
    return depth;
}

int pmp_slot_read_context(int index, uint64_t generation, pmp_slot_context *out) {
    if (index < 0 || index >= slot_count) return -1;
    pmp_slot *slot = slot_at(index);
    if (atomic_load_explicit(&slot->word, memory_order_acquire) != make_word(generation, PMP_SLOT_DONE)) return -1;
    *out = slot->context;
    return 0;
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

static _Atomic int own_memory_readable = -1;  // unknown, then whether process_vm_readv may be tried

int pmp_read_own_memory(uint64_t address, void *buffer, size_t length) {
    int readable = atomic_load_explicit(&own_memory_readable, memory_order_relaxed);
    if (readable < 0) {
        readable = !seccomp_filtered();  // a filter might kill the process for a call it does not expect
        atomic_store_explicit(&own_memory_readable, readable, memory_order_relaxed);
    }
    if (!readable) return -EPERM;
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
