// What the files of the capture target share; not part of its interface.
//
// Files by role:
//   handler.c    the capture handler and everything it calls (signal context only)
//   slots.c      installing the handler, and the driver's side of the slot protocol
//   libunwind_masks.c  libunwind's lock masks, set once a walk (redirected at set-up, called by the handler)
//   unwinder.c   loading libunwind, our own address spaces, refreshing and warming them (capture thread)
//   image_map.c  the map of loaded code and its .eh_frame_hdr tables (capture thread, under the loader lock)
//   trigger.c    the dump trigger's handler and its installation
//   shims.c      the few calls Swift cannot make directly
#ifndef PMP_CAPTURE_INTERNAL_H
#define PMP_CAPTURE_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "pmp_capture.h"

#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <ucontext.h>

/// Marks a function that runs in signal context: a handler calls it, directly or not. Such a function may
/// call only atomics, syscall(SYS_futex), process_vm_readv, write/read on the probe pipe, clock_gettime,
/// pthread_sigmask/rt_sigprocmask and libunwind's stepping through our own accessors (or its local address
/// space); it never allocates, never takes a lock it could wait on for long, and leaves errno as it found it
/// (the handlers restore it).
#define PMP_SIGNAL_SAFE

#define PMP_STRINGIFY_(x) #x
#define PMP_STRINGIFY(x) PMP_STRINGIFY_(x)

#if defined(__x86_64__)
#define PMP_OWN_SPACE_SUPPORTED 1
#else
#define PMP_OWN_SPACE_SUPPORTED 0
#endif

// MARK: - Slots (owned by slots.c, written by the handler)

#define PMP_GENERATION_BITS 44
#define PMP_SLOT_BITS 20
#define PMP_GENERATION_MASK ((UINT64_C(1) << PMP_GENERATION_BITS) - 1)

typedef struct {
    _Atomic uint64_t word;  // (generation << 2) | state
    int32_t depth;
    int32_t truncated;
    pmp_slot_context context;
    uint64_t frames[];
} pmp_slot;

typedef struct {
    _Atomic(unsigned char *) base;  // NULL until the handler is installed
    size_t stride;
    int count;
    int max_depth;
    int signo;
    pid_t own_pid;
    uid_t own_uid;  // for the siginfo we queue: read once, not once per signalled thread
    _Atomic uint32_t completions;  // handlers that completed so far
    _Atomic uint32_t wake_target;  // the completion count the driver waits for
    // 1 while the driver is (about to be) asleep on it, waiting for wake_target: the futex word. Not the
    // count itself, which every handler changes, so that a wait would end at once with EAGAIN over and over.
    _Atomic uint32_t driver_asleep;
} pmp_slot_table;

extern pmp_slot_table pmp_slots;

PMP_SIGNAL_SAFE static inline pmp_slot *pmp_slot_in(unsigned char *base, int index) {
    return (pmp_slot *)(base + (size_t)index * pmp_slots.stride);
}

PMP_SIGNAL_SAFE static inline uint64_t pmp_slot_word(uint64_t generation, int state) {
    return (generation << 2) | (uint64_t)state;
}

/// The capture handler (handler.c).
PMP_SIGNAL_SAFE void pmp_capture_handler(int signo, siginfo_t *info, void *context);

// MARK: - libunwind (owned by unwinder.c, used by the handler)

typedef int (*pmp_step_function)(unw_cursor_t *);
typedef int (*pmp_get_reg_function)(unw_cursor_t *, unw_regnum_t, unw_word_t *);

/// libunwind's local address space, the fallback: libunwind.so.8.
typedef struct {
    int (*init_local2)(unw_cursor_t *, unw_context_t *, int);
    pmp_step_function step;
    pmp_get_reg_function get_reg;
} pmp_local_libunwind_functions;

/// The generic ("remote") libunwind: libunwind-ARCH.so.8, stepping through address spaces of our own.
typedef struct {
    int (*init_remote)(unw_cursor_t *, unw_addr_space_t, void *);
    pmp_step_function step;
    pmp_get_reg_function get_reg;
    unw_addr_space_t (*create_addr_space)(unw_accessors_t *, int);
    int (*search_unwind_table)(unw_addr_space_t, unw_word_t, unw_dyn_info_t *, unw_proc_info_t *, int, void *);
    int (*set_caching_policy)(unw_addr_space_t, unw_caching_policy_t);
    int (*set_cache_size)(unw_addr_space_t, size_t, int);
    void (*flush_cache)(unw_addr_space_t, unw_word_t, unw_word_t);
} pmp_remote_libunwind_functions;

extern pmp_local_libunwind_functions local_libunwind;
extern pmp_remote_libunwind_functions remote_libunwind;

// MARK: - The map of loaded code (built by image_map.c, searched by the handler)

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

/// A new map of every loaded image's executable segments (malloc'ed), or NULL. Outside signal context.
pmp_image_map *pmp_build_image_map(void);

// MARK: - Our own address spaces (owned by unwinder.c, used by the handler)

/// A map and its address space (whose rule cache holds that map's rules).
typedef struct pmp_unwinder {
    unw_addr_space_t space;
    pmp_image_map *images;
    struct pmp_unwinder *next_retired;
} pmp_unwinder;

typedef struct {
    int ready;                       // handlers walk through `current` (else through the local space)
    int setup_error;                 // why not, as a negative errno (0 when ready)
    size_t page_size;
    int probe_with_pipe;             // 1: process_vm_readv is not allowed, probe pages through probe_pipe
    int probe_pipe[2];
    _Atomic(pmp_unwinder *) current;
    _Atomic int walks_in_flight;     // handlers between loading `current` and their last step
} pmp_own_space_state;

extern pmp_own_space_state own_space;

/// Loads libunwind (local space, required) and, unless `local_unwind`, sets our own address space up
/// (failures there only leave the local space in use; own_space.setup_error says why). Outside signal context.
int pmp_prepare_unwinding(int local_unwind, int memory_reads_allowed);

/// The accessors a handler's walk goes through (handler.c).
void pmp_fill_accessors(unw_accessors_t *accessors);

/// Walks the stack of `context` through `unwinder` into `frames` (handler.c). Called by handlers, and by the
/// warm-up of a new unwinder outside signal context.
PMP_SIGNAL_SAFE int pmp_walk_through(pmp_unwinder *unwinder, const ucontext_t *context, uint64_t *frames, int limit,
                                     int *truncated);

/// Points the generic libunwind's sigprocmask at ours, when its GOT slot can be found and written safely;
/// 1 when redirected. Outside signal context (libunwind_masks.c).
int pmp_redirect_libunwind_masks(void *libunwind_handle);

/// Blocks every signal for a walk and lets libunwind's own mask calls return at once; 1 when done (then
/// pmp_walk_masks_end restores `before`), 0 when libunwind keeps its own calls.
PMP_SIGNAL_SAFE int pmp_walk_masks_begin(sigset_t *before);
/// 1 between pmp_walk_masks_begin and pmp_walk_masks_end on this thread: every signal is blocked. Initial-exec,
/// so that reading it in signal context never allocates.
extern _Thread_local int pmp_masks_already_full __attribute__((tls_model("initial-exec")));
PMP_SIGNAL_SAFE void pmp_walk_masks_end(const sigset_t *before);

/// Whether process_vm_readv may be called (set at install from the caller's configuration).
extern _Atomic int pmp_memory_reads_allowed;

#endif
