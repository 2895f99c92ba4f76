// Loading libunwind, and the unwinders handlers walk through (outside signal context: the installing thread,
// then the capture thread).
//
// libunwind is opened with RTLD_LOCAL rather than linked: its _Unwind_* and backtrace() would otherwise
// interpose the process's own (libgcc_s, glibc). The arch-specific names come from libunwind's own macros.
//
// Registering the images with _U_dyn_register is no cure for the local address space's cost (handler.c):
// libunwind 1.6 never frees the unwind info it allocates for an entry found that way (its put_unwind_info is
// a no-op), a leak on every step. So handlers walk through address spaces of our own.
//
// An unwinder is a map of loaded code and an address space whose rule cache holds that map's rules. When the
// loader's counters change, a new one is published and the old one retired; a retired one is reused (cache
// flushed) only after no walk was seen in flight, since libunwind reads cache entries after dropping its
// mutex. The cache's mutex is taken by our walks only, and nothing under it waits for anything (no loader
// lock, no malloc): the deadlock that turned the local space's cache off came from dl_iterate_phdr under it.

#include "internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

// Entries in each address space's cache of register rules (libunwind's default, 128, thrashes on a service
// whose stacks hold a few hundred distinct return addresses, and every miss is taken under the cache mutex).
#define PMP_RULE_CACHE_ENTRIES 4096
#define PMP_DEFAULT_RULE_CACHE_ENTRIES 128
// Unwinders alive at most; past that, a refresh waits for walks to drain rather than allocate another.
#define PMP_MAX_UNWINDERS 8

pmp_local_libunwind_functions local_libunwind;
pmp_remote_libunwind_functions remote_libunwind;
pmp_own_space_state own_space = {.probe_pipe = {-1, -1}};
_Atomic int pmp_memory_reads_allowed;

static char load_error[256];

// Touched under refresh_lock only.
static pthread_mutex_t refresh_lock = PTHREAD_MUTEX_INITIALIZER;
static pmp_unwinder *retired_unwinders;
static int unwinder_count;
static uint64_t current_map_adds = UINT64_MAX, current_map_subs = UINT64_MAX;
// After a failed allocation of a rule cache's tables, every address space gets libunwind's default cache,
// whose tables live inside the space and are never allocated.
static int small_rule_caches;

const char *pmp_capture_load_error(void) { return load_error; }

int pmp_capture_uses_own_address_space(void) { return own_space.ready; }

int pmp_capture_own_space_error(void) { return own_space.setup_error; }

// MARK: - The local address space

static int open_local_libunwind(void) {
    if (local_libunwind.init_local2 != NULL) return 0;
    const char *names[] = {"libunwind.so.8", "libunwind.so"};
    void *handle = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && handle == NULL; i++) {
        handle = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    }
    if (handle == NULL) {
        const char *message = dlerror();
        snprintf(load_error, sizeof load_error, "%s", message ? message : "libunwind.so.8 not found");
        return -ELIBACC;
    }
    pmp_local_libunwind_functions loaded;
    loaded.init_local2 = (int (*)(unw_cursor_t *, unw_context_t *, int))dlsym(handle, PMP_STRINGIFY(unw_init_local2));
    loaded.step = (pmp_step_function)dlsym(handle, PMP_STRINGIFY(unw_step));
    loaded.get_reg = (pmp_get_reg_function)dlsym(handle, PMP_STRINGIFY(unw_get_reg));
    int (*set_caching_policy)(unw_addr_space_t, unw_caching_policy_t) =
        (int (*)(unw_addr_space_t, unw_caching_policy_t))dlsym(handle, PMP_STRINGIFY(unw_set_caching_policy));
    unw_addr_space_t *local_space = (unw_addr_space_t *)dlsym(handle, PMP_STRINGIFY(unw_local_addr_space));
    if (loaded.init_local2 == NULL || loaded.step == NULL || loaded.get_reg == NULL || set_caching_policy == NULL ||
        local_space == NULL) {
        snprintf(load_error, sizeof load_error, "libunwind lacks %s (version 1.3 or later is needed)",
                 PMP_STRINGIFY(unw_init_local2));
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
        if (loaded.init_local2(&cursor, (unw_context_t *)&context, 0) == 0) {
            for (int i = 0; i < 4 && loaded.step(&cursor) > 0; i++) {
            }
        }
    }
    local_libunwind = loaded;
    return 0;
}

// MARK: - Unwinders (under refresh_lock)

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
    if (getcontext(&context) == 0) pmp_walk_through(unwinder, &context, frames, 1, &truncated);
    pthread_sigmask(SIG_SETMASK, &before, &after);
    if (sigismember(&after, SIGSEGV)) return -1;
    if (getcontext(&context) != 0) return 0;
    return pmp_walk_through(unwinder, &context, frames, 8, &truncated);
}

static pmp_unwinder *new_unwinder(void) {
    if (unwinder_count >= PMP_MAX_UNWINDERS) return NULL;
    unw_accessors_t accessors;
    pmp_fill_accessors(&accessors);
    unw_addr_space_t space = remote_libunwind.create_addr_space(&accessors, 0);
    if (space == NULL) return NULL;
    pmp_unwinder *unwinder = calloc(1, sizeof *unwinder);
    if (unwinder == NULL) return NULL;  // the address space stays: libunwind cannot free its cache
    unwinder->space = space;
    remote_libunwind.set_caching_policy(space, UNW_CACHE_GLOBAL);
    // Twice: the first call only sets the cache up at its default size. When the second cannot allocate the
    // tables, the default size (no allocation) for this space and every later one.
    remote_libunwind.set_cache_size(space, PMP_RULE_CACHE_ENTRIES, 0);
    if (small_rule_caches || remote_libunwind.set_cache_size(space, PMP_RULE_CACHE_ENTRIES, 0) != 0) {
        small_rule_caches = 1;
        remote_libunwind.set_cache_size(space, PMP_DEFAULT_RULE_CACHE_ENTRIES, 0);
    }
    unwinder_count++;
    return unwinder;
}

// A retired unwinder no walk can still be using, or NULL.
static pmp_unwinder *take_quiet_unwinder(void) {
    if (retired_unwinders == NULL || atomic_load_explicit(&own_space.walks_in_flight, memory_order_seq_cst) != 0) {
        return NULL;
    }
    pmp_unwinder *unwinder = retired_unwinders;
    retired_unwinders = unwinder->next_retired;
    unwinder->next_retired = NULL;
    return unwinder;
}

static int refresh_unwinder_locked(void) {
    uint64_t adds, subs;
    pmp_loader_generation(&adds, &subs);
    if (adds == current_map_adds && subs == current_map_subs) return 0;
    pmp_image_map *map = pmp_build_image_map();
    if (map == NULL) return -ENOMEM;
    pmp_unwinder *unwinder = take_quiet_unwinder();
    if (unwinder != NULL) {
        free(unwinder->images);  // quiet: no walk reads it
        unwinder->images = NULL;
        remote_libunwind.flush_cache(unwinder->space, 0, 0);  // rules of the old map; reset by the warm-up below
    } else {
        unwinder = new_unwinder();
        if (unwinder == NULL) {  // too many still in use: keep the current one, stale but safe, and retry later
            free(map);
            return -EAGAIN;
        }
    }
    unwinder->images = map;
    warm_up(unwinder);
    pmp_unwinder *previous = atomic_exchange_explicit(&own_space.current, unwinder, memory_order_seq_cst);
    if (previous != NULL) {
        previous->next_retired = retired_unwinders;
        retired_unwinders = previous;
    }
    current_map_adds = map->loader_adds;
    current_map_subs = map->loader_subs;
    return 1;
}

int pmp_capture_refresh_images(void) {
    if (!own_space.ready) return 0;
    pthread_mutex_lock(&refresh_lock);
    int result = refresh_unwinder_locked();
    pthread_mutex_unlock(&refresh_lock);
    return result;
}

// MARK: - Setting our own address space up

// How handlers ask whether a page is readable: process_vm_readv when the caller allows it (no seccomp filter,
// which might kill the process for a call it does not expect) and it works, else a pipe, as libunwind's own
// validation uses, with two calls per page.
static int choose_readability_probe(int memory_reads_allowed) {
    if (memory_reads_allowed) {
        char source = 1, target = 0;
        struct iovec local = {&target, 1};
        struct iovec remote = {&source, 1};
        if (syscall(SYS_process_vm_readv, getpid(), &local, 1UL, &remote, 1UL, 0UL) == 1 && target == 1) {
            own_space.probe_with_pipe = 0;
            return 0;
        }
    }
    if (pipe2(own_space.probe_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return -errno;
    own_space.probe_with_pipe = 1;
    return 0;
}

static int open_remote_libunwind(void) {
    void *handle = dlopen("libunwind-" PMP_STRINGIFY(UNW_TARGET) ".so.8", RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) return -ELIBACC;
    pmp_remote_libunwind_functions *f = &remote_libunwind;
    *(void **)&f->init_remote = dlsym(handle, PMP_STRINGIFY(UNW_ARCH_OBJ(init_remote)));
    *(void **)&f->step = dlsym(handle, PMP_STRINGIFY(UNW_ARCH_OBJ(step)));
    *(void **)&f->get_reg = dlsym(handle, PMP_STRINGIFY(UNW_ARCH_OBJ(get_reg)));
    *(void **)&f->create_addr_space = dlsym(handle, PMP_STRINGIFY(UNW_ARCH_OBJ(create_addr_space)));
    *(void **)&f->search_unwind_table = dlsym(handle, PMP_STRINGIFY(UNW_ARCH_OBJ(dwarf_search_unwind_table)));
    *(void **)&f->set_caching_policy = dlsym(handle, PMP_STRINGIFY(UNW_ARCH_OBJ(set_caching_policy)));
    *(void **)&f->set_cache_size = dlsym(handle, PMP_STRINGIFY(UNW_ARCH_OBJ(set_cache_size)));
    *(void **)&f->flush_cache = dlsym(handle, PMP_STRINGIFY(UNW_ARCH_OBJ(flush_cache)));
    if (!f->init_remote || !f->step || !f->get_reg || !f->create_addr_space || !f->search_unwind_table ||
        !f->set_caching_policy || !f->set_cache_size || !f->flush_cache) {
        return -ELIBBAD;
    }
    pmp_redirect_libunwind_masks(handle);
    return 0;
}

// Loads the generic libunwind and sets the first unwinder up; on any failure the local space stays in use.
static int prepare_own_space(int memory_reads_allowed) {
    if (!PMP_OWN_SPACE_SUPPORTED) return -ENOTSUP;
    int opened = open_remote_libunwind();
    if (opened != 0) return opened;
    long size = sysconf(_SC_PAGESIZE);
    own_space.page_size = size > 0 ? (size_t)size : 4096;
    int probe = choose_readability_probe(memory_reads_allowed);
    if (probe != 0) return probe;
    pthread_mutex_lock(&refresh_lock);
    int result = refresh_unwinder_locked();
    pthread_mutex_unlock(&refresh_lock);
    if (result < 0) return result;
    // A walk of this thread must get past this function, or something above is wrong: keep the local space.
    return warm_up(atomic_load(&own_space.current)) >= 2 ? 0 : -ELIBBAD;
}

int pmp_prepare_unwinding(int local_unwind, int memory_reads_allowed) {
    atomic_store_explicit(&pmp_memory_reads_allowed, memory_reads_allowed != 0, memory_order_relaxed);
    int loaded = open_local_libunwind();
    if (loaded != 0) return loaded;
    if (own_space.ready) return 0;
    own_space.setup_error = local_unwind ? -ENOTSUP : prepare_own_space(memory_reads_allowed);
    own_space.ready = own_space.setup_error == 0;
    return 0;
}
