// The signal masks of libunwind's locks, set once a walk instead of twice a step.
//
// The generic libunwind takes its rule cache's mutex with every signal blocked: sigprocmask(SIG_SETMASK,
// full) before, the saved mask after, on every step — about a dozen system calls a stack, a fifth of a
// 1 000-thread capture. A handler's walk blocks every signal once at its start instead, and marks the thread;
// libunwind's own calls, made while every signal is already blocked, would change nothing, so they return at
// once. libunwind calls sigprocmask through its PLT, so its one GOT slot for it is pointed here (set-up, not
// signal context), and only when that slot is plainly where a writable, non-RELRO segment keeps it; when it
// is not, libunwind keeps its own calls and the walk costs what it did. Calls from other threads, or from
// outside a walk (the warm-up), go on to the function the slot held before.

#include "internal.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

static int (*previous_sigprocmask)(int, const sigset_t *, sigset_t *);
static sigset_t every_signal;
static _Atomic int redirected;  // set once, after the fields above

_Thread_local int pmp_masks_already_full __attribute__((tls_model("initial-exec")));
// libunwind's calls a walk skipped, for the tests: added once a walk, never per call.
static _Thread_local unsigned masks_skipped_in_walk __attribute__((tls_model("initial-exec")));
static _Atomic uint64_t masks_skipped_total;

// libunwind's sigprocmask while redirected.
PMP_SIGNAL_SAFE static int sigprocmask_for_libunwind(int how, const sigset_t *set, sigset_t *old) {
    if (pmp_masks_already_full && how == SIG_SETMASK &&
        (set == NULL || memcmp(set, &every_signal, sizeof every_signal) == 0)) {
        if (old != NULL) memcpy(old, &every_signal, sizeof every_signal);
        masks_skipped_in_walk++;
        return 0;
    }
    return previous_sigprocmask(how, set, old);
}

PMP_SIGNAL_SAFE int pmp_walk_masks_begin(sigset_t *before) {
    if (!atomic_load_explicit(&redirected, memory_order_acquire)) return 0;
    if (pthread_sigmask(SIG_SETMASK, &every_signal, before) != 0) return 0;
    masks_skipped_in_walk = 0;
    pmp_masks_already_full = 1;
    return 1;
}

PMP_SIGNAL_SAFE void pmp_walk_masks_end(const sigset_t *before) {
    pmp_masks_already_full = 0;
    atomic_fetch_add_explicit(&masks_skipped_total, masks_skipped_in_walk, memory_order_relaxed);
    pthread_sigmask(SIG_SETMASK, before, NULL);
}

uint64_t pmp_capture_masks_skipped(void) { return atomic_load_explicit(&masks_skipped_total, memory_order_relaxed); }

int pmp_capture_masks_redirected(void) { return atomic_load_explicit(&redirected, memory_order_acquire); }

// MARK: - Finding the slot (set-up only)

typedef struct {
    ElfW(Addr) base;
    uintptr_t slot;
    uintptr_t page_size;
    int writable;  // inside a PF_W PT_LOAD and outside PT_GNU_RELRO
} pmp_slot_search;

static int check_slot_segment(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    pmp_slot_search *search = data;
    if (info->dlpi_addr != search->base) return 0;
    int in_writable_load = 0, in_relro = 0;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *header = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + header->p_vaddr;
        int covers = search->slot >= start && search->slot + sizeof(void *) <= start + header->p_memsz;
        if (header->p_type == PT_LOAD && (header->p_flags & PF_W) && covers) in_writable_load = 1;
        if (header->p_type == PT_GNU_RELRO) {
            // ld.so makes the pages that hold RELRO read-only, rounded out to whole pages.
            uintptr_t page_mask = ~(search->page_size - 1);
            uintptr_t relro_end = (start + header->p_memsz + search->page_size - 1) & page_mask;
            if (search->slot >= (start & page_mask) && search->slot < relro_end) in_relro = 1;
        }
    }
    search->writable = in_writable_load && !in_relro;
    return 1;
}

// A dynamic entry's address: ld.so relocates some in place, others not.
static uintptr_t dynamic_address(const struct link_map *map, ElfW(Addr) value) {
    return value >= map->l_addr ? (uintptr_t)value : (uintptr_t)(map->l_addr + value);
}

// The GOT slot through which `map` calls `name`, or 0.
static uintptr_t jump_slot_of(const struct link_map *map, const char *name) {
    const ElfW(Rela) *relocations = NULL;
    const ElfW(Sym) *symbols = NULL;
    const char *strings = NULL;
    size_t relocation_bytes = 0, string_bytes = 0;
    int rela = 0;
    for (const ElfW(Dyn) *entry = map->l_ld; entry != NULL && entry->d_tag != DT_NULL; entry++) {
        switch (entry->d_tag) {
        case DT_JMPREL: relocations = (const ElfW(Rela) *)dynamic_address(map, entry->d_un.d_ptr); break;
        case DT_PLTRELSZ: relocation_bytes = entry->d_un.d_val; break;
        case DT_PLTREL: rela = entry->d_un.d_val == DT_RELA; break;
        case DT_SYMTAB: symbols = (const ElfW(Sym) *)dynamic_address(map, entry->d_un.d_ptr); break;
        case DT_STRTAB: strings = (const char *)dynamic_address(map, entry->d_un.d_ptr); break;
        case DT_STRSZ: string_bytes = entry->d_un.d_val; break;
        default: break;
        }
    }
    if (!rela || relocations == NULL || symbols == NULL || strings == NULL || string_bytes == 0) return 0;
    size_t name_length = strlen(name);
    for (size_t i = 0; i < relocation_bytes / sizeof *relocations; i++) {
        const ElfW(Rela) *relocation = &relocations[i];
#if defined(__x86_64__)
        if (ELF64_R_TYPE(relocation->r_info) != R_X86_64_JUMP_SLOT) continue;
#else
        continue;
#endif
        ElfW(Word) name_offset = symbols[ELF64_R_SYM(relocation->r_info)].st_name;
        if (name_offset >= string_bytes || string_bytes - name_offset <= name_length) continue;
        if (memcmp(strings + name_offset, name, name_length + 1) == 0) return map->l_addr + relocation->r_offset;
    }
    return 0;
}

int pmp_redirect_libunwind_masks(void *libunwind_handle) {
    if (atomic_load_explicit(&redirected, memory_order_acquire)) return 1;
    struct link_map *map = NULL;
    if (dlinfo(libunwind_handle, RTLD_DI_LINKMAP, &map) != 0 || map == NULL) return 0;
    uintptr_t slot = jump_slot_of(map, "sigprocmask");
    if (slot == 0 || slot % sizeof(void *) != 0) return 0;
    long page_size = sysconf(_SC_PAGESIZE);
    pmp_slot_search search = {
        .base = map->l_addr, .slot = slot, .page_size = page_size > 0 ? (uintptr_t)page_size : 4096, .writable = 0};
    dl_iterate_phdr(check_slot_segment, &search);
    if (!search.writable) return 0;
    // Only a slot that is bound already (RTLD_NOW) and to the function everyone else calls is taken over.
    void *bound = __atomic_load_n((void **)slot, __ATOMIC_ACQUIRE);
    if (bound == NULL || bound != dlsym(RTLD_DEFAULT, "sigprocmask")) return 0;
    *(void **)&previous_sigprocmask = bound;
    sigfillset(&every_signal);
    __atomic_store_n((void **)slot, (void *)sigprocmask_for_libunwind, __ATOMIC_RELEASE);
    atomic_store_explicit(&redirected, 1, memory_order_release);
    return 1;
}
