// Finding and decoding Swift concurrency tasks in raw memory, in this process or another.
//
// Swift 6.3's runtime keeps no list of its tasks. They are found by scanning resident anonymous read-write
// memory for the AsyncTask isa, and each candidate is validated (job kind, resume function inside code) and
// decoded with the offsets of a table of known runtimes. Every byte goes through process_vm_readv: memory that
// another thread frees or unmaps meanwhile makes a read fail, never the process fault. Nothing here allocates;
// the caller hands in every buffer.

#define _GNU_SOURCE
#include "pmp_tasks.h"
#include "pmp_capture.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <dlfcn.h>

// MARK: - The runtime's debug symbols

// Weak: a program without Swift concurrency has none, and with -static-stdlib they are not exported (dlsym
// does not see them) but a link-time reference does.
extern const void *const _swift_concurrency_debug_asyncTaskMetadata __attribute__((weak));
extern const size_t _swift_concurrency_debug_asyncTaskSize __attribute__((weak));
extern const unsigned _swift_concurrency_debug_internal_layout_version __attribute__((weak));
extern const bool _swift_concurrency_debug_supportsPriorityEscalation __attribute__((weak));
extern const void *const _swift_concurrency_debug_future_adapter __attribute__((weak));
extern const void *const _swift_concurrency_debug_non_future_adapter __attribute__((weak));
extern const void *const _swift_concurrency_debug_task_future_wait_resume_adapter __attribute__((weak));
extern const void *const _swift_concurrency_debug_task_wait_throwing_resume_adapter __attribute__((weak));
extern void *swift_task_getCurrent(void) __attribute__((weak));

void pmp_task_runtime_read(pmp_task_runtime *out) {
    memset(out, 0, sizeof *out);
    if (&_swift_concurrency_debug_asyncTaskMetadata == NULL || &_swift_concurrency_debug_asyncTaskSize == NULL) return;
    out->present = 1;
    out->task_metadata = (uint64_t)(uintptr_t)_swift_concurrency_debug_asyncTaskMetadata;
    out->task_size = (uint64_t)_swift_concurrency_debug_asyncTaskSize;
    out->layout_version = &_swift_concurrency_debug_internal_layout_version != NULL
                              ? _swift_concurrency_debug_internal_layout_version : 0;
    out->supports_escalation = &_swift_concurrency_debug_supportsPriorityEscalation != NULL
                                   ? _swift_concurrency_debug_supportsPriorityEscalation : 0;
#define PMP_READ_ADAPTER(field, symbol) \
    out->field = &symbol != NULL ? (uint64_t)(uintptr_t)symbol : 0;
    PMP_READ_ADAPTER(future_adapter, _swift_concurrency_debug_future_adapter)
    PMP_READ_ADAPTER(non_future_adapter, _swift_concurrency_debug_non_future_adapter)
    PMP_READ_ADAPTER(future_wait_resume_adapter, _swift_concurrency_debug_task_future_wait_resume_adapter)
    PMP_READ_ADAPTER(wait_throwing_resume_adapter, _swift_concurrency_debug_task_wait_throwing_resume_adapter)
#undef PMP_READ_ADAPTER
    // Runtimes after 6.4 keep a registry of their tasks; its layout is not in the table yet, so it is only noted.
    out->has_registry = dlsym(RTLD_DEFAULT, "_swift_concurrency_task_registry") != NULL
                        || dlsym(RTLD_DEFAULT, "_swift_concurrency_debug_task_registryWalk") != NULL;
}

// MARK: - Known layouts

// Measured on Swift 6.3.1, x86_64 (include/swift/ABI/Task.h and TaskPrivate.h of that release): the Job header
// (+32 flags, +36 id, +56 ResumeTask, +64 ResumeContext) is pinned by the ABI; the rest is private and changes
// between releases, hence the key (size, layout version, escalation, architecture) and the probe at install.
static const pmp_task_layout known_layouts[] = {
    {.task_size = 208, .layout_version = 1, .supports_escalation = 0, .arch = "x86_64", .runtime = "Swift 6.3",
     .status_flags = 96, .status_record = 104, .id_high = 144, .base_priority = 152, .dependency_record = 160,
     .fragments = 208},
};

#if defined(__x86_64__)
static const char *const own_arch = "x86_64";
#elif defined(__aarch64__)
static const char *const own_arch = "aarch64";
#else
static const char *const own_arch = "unknown";
#endif

const pmp_task_layout *pmp_task_layout_find(const pmp_task_runtime *runtime) {
    if (!runtime->present) return NULL;
    for (size_t i = 0; i < sizeof known_layouts / sizeof known_layouts[0]; i++) {
        const pmp_task_layout *layout = &known_layouts[i];
        if (layout->task_size == runtime->task_size && layout->layout_version == runtime->layout_version
            && layout->supports_escalation == runtime->supports_escalation && strcmp(layout->arch, own_arch) == 0) {
            return layout;
        }
    }
    return NULL;
}

// MARK: - Reading memory

int pmp_memory_read(const pmp_memory_reader *reader, uint64_t address, void *buffer, size_t length) {
    if (length == 0) return 0;
    if (address < 4096) return -EFAULT;
    if (reader->pid == 0) return pmp_read_own_memory(address, buffer, length);
    struct iovec local = {buffer, length};
    struct iovec remote = {(void *)(uintptr_t)address, length};
    ssize_t read = syscall(SYS_process_vm_readv, reader->pid, &local, 1UL, &remote, 1UL, 0UL);
    if (read < 0) return -errno;
    return (size_t)read == length ? 0 : -EFAULT;
}

static int read_word(const pmp_memory_reader *reader, uint64_t address, uint64_t *value) {
    return pmp_memory_read(reader, address, value, sizeof *value);
}

uint64_t pmp_monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

// MARK: - Regions

static uint64_t parse_hex(const char **cursor, const char *end) {
    uint64_t value = 0;
    const char *p = *cursor;
    while (p < end) {
        char c = *p;
        int digit = c >= '0' && c <= '9' ? c - '0' : (c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1);
        if (digit < 0) break;
        value = value << 4 | (uint64_t)digit;
        p++;
    }
    *cursor = p;
    return value;
}

static const char *skip_field(const char *p, const char *end) {
    while (p < end && *p != ' ') p++;
    while (p < end && *p == ' ') p++;
    return p;
}

// One line of /proc/PID/maps: "start-end perms offset dev inode   path".
static int parse_region(const char *line, const char *end, pmp_region *out) {
    const char *p = line;
    out->start = parse_hex(&p, end);
    if (p >= end || *p != '-') return 0;
    p++;
    out->end = parse_hex(&p, end);
    if (p >= end || *p != ' ' || end - p < 5) return 0;
    p++;
    const char *perms = p;
    p = skip_field(p, end);  // perms
    p = skip_field(p, end);  // offset
    p = skip_field(p, end);  // dev
    const char *inode = p;
    p = skip_field(p, end);
    int anonymous_inode = inode < end && inode[0] == '0' && (inode + 1 == end || inode[1] == ' ' || inode[1] == '\n');
    size_t path_length = (size_t)(end - p);
    out->kind = 0;
    if (perms[2] == 'x') out->kind |= PMP_REGION_CODE;
    if (perms[0] == 'r' && perms[1] == 'w' && perms[3] == 'p' && anonymous_inode) {
        int scannable = path_length == 0 || (path_length >= 6 && memcmp(p, "[heap]", 6) == 0)
                        || (path_length >= 6 && memcmp(p, "[anon:", 6) == 0);
        if (scannable) out->kind |= PMP_REGION_SCAN;
    }
    return out->end > out->start;
}

int pmp_read_regions(pid_t pid, pmp_region *regions, int capacity, int *truncated) {
    char path[64];
    if (pid == 0) {
        memcpy(path, "/proc/self/maps", 16);
    } else {
        // No snprintf: keep to calls that neither allocate nor lock.
        char digits[16];
        int n = 0;
        for (unsigned value = (unsigned)pid; value > 0 && n < 15; value /= 10) digits[n++] = (char)('0' + value % 10);
        size_t at = 0;
        memcpy(path, "/proc/", 6);
        at = 6;
        while (n > 0) path[at++] = digits[--n];
        memcpy(path + at, "/maps", 6);
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    *truncated = 0;
    char buffer[16384];
    size_t kept = 0;  // bytes of an unfinished line at the start of buffer
    int count = 0;
    for (;;) {
        ssize_t got = read(fd, buffer + kept, sizeof buffer - kept);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            int error = errno;
            close(fd);
            return -error;
        }
        size_t filled = kept + (size_t)got;
        size_t line_start = 0;
        for (size_t i = 0; i < filled; i++) {
            if (buffer[i] != '\n') continue;
            if (count < capacity) {
                if (parse_region(buffer + line_start, buffer + i, &regions[count])) count++;
            } else {
                *truncated = 1;
            }
            line_start = i + 1;
        }
        kept = filled - line_start;
        if (kept == sizeof buffer) kept = 0;  // a line longer than the buffer: dropped
        memmove(buffer, buffer + line_start, kept);
        if (got == 0) break;
    }
    close(fd);
    return count;
}

static const pmp_region *region_containing(const pmp_region *regions, int count, uint64_t address) {
    int low = 0, high = count - 1;
    while (low <= high) {
        int middle = low + (high - low) / 2;
        if (address < regions[middle].start) {
            high = middle - 1;
        } else if (address >= regions[middle].end) {
            low = middle + 1;
        } else {
            return &regions[middle];
        }
    }
    return NULL;
}

int pmp_regions_contain_code(const pmp_region *regions, int count, uint64_t address) {
    const pmp_region *region = region_containing(regions, count, address);
    return region != NULL && (region->kind & PMP_REGION_CODE) != 0;
}

// MARK: - Scan

typedef struct {
    const pmp_memory_reader *reader;
    uint64_t isa;
    uint8_t *chunk;
    size_t chunk_size;
    uint64_t *candidates;
    int capacity;
    int count;
    uint64_t deadline_ns;
    size_t page;
    pmp_scan_stats *stats;
} scan_state;

static void search(scan_state *state, uint64_t address, size_t length) {
    const uint64_t *words = (const uint64_t *)(void *)state->chunk;
    size_t count = length / 8;
    uint64_t isa = state->isa;
    for (size_t i = 0; i < count; i += 2) {
        if (words[i] != isa) continue;
        state->stats->candidates++;
        if (state->count >= state->capacity) {
            state->stats->out_of_room = 1;
            continue;
        }
        state->candidates[state->count++] = address + i * 8;
    }
}

// Reads [address, address+length) and searches it. Returns 0, or -1 to stop (out of time).
static int scan_piece(scan_state *state, uint64_t address, size_t length) {
    if (pmp_memory_read(state->reader, address, state->chunk, length) != 0) {
        state->stats->read_failures++;
        return 0;
    }
    state->stats->bytes_scanned += length;
    search(state, address, length);
    return 0;
}

static int scan_range(scan_state *state, uint64_t start, uint64_t end) {
    unsigned char resident[1024];
    size_t max_chunk = state->chunk_size < sizeof resident * state->page ? state->chunk_size : sizeof resident * state->page;
    max_chunk -= max_chunk % state->page;
    if (max_chunk == 0) return 0;
    for (uint64_t at = start; at < end;) {
        if (pmp_monotonic_ns() >= state->deadline_ns) {
            state->stats->out_of_time = 1;
            return -1;
        }
        size_t length = (size_t)(end - at) < max_chunk ? (size_t)(end - at) : max_chunk;
        if (state->reader->pid != 0) {
            scan_piece(state, at, length);
            at += length;
            continue;
        }
        // Only resident pages: untouched memory (a large BSS, a reserved arena) holds no task, and reading it
        // would cost time and fault zero pages in.
        size_t pages = (length + state->page - 1) / state->page;
        if (mincore((void *)(uintptr_t)at, length, resident) != 0) {
            state->stats->bytes_skipped += length;  // unmapped meanwhile
            at += length;
            continue;
        }
        size_t run_start = 0;
        while (run_start < pages) {
            while (run_start < pages && !(resident[run_start] & 1)) {
                state->stats->bytes_skipped += state->page;
                run_start++;
            }
            size_t run_end = run_start;
            while (run_end < pages && (resident[run_end] & 1)) run_end++;
            if (run_end > run_start) {
                uint64_t piece = at + run_start * state->page;
                uint64_t piece_end = at + run_end * state->page;
                if (piece_end > at + length) piece_end = at + length;
                scan_piece(state, piece, (size_t)(piece_end - piece));
            }
            run_start = run_end;
        }
        at += length;
    }
    return 0;
}

// Scans [start, end) minus the excluded ranges (sorted, disjoint).
static int scan_excluding(scan_state *state, uint64_t start, uint64_t end, const uint64_t (*excluded)[2], int count) {
    uint64_t at = start;
    for (int i = 0; i < count && at < end; i++) {
        uint64_t low = excluded[i][0], high = excluded[i][1];
        if (high <= at || low >= end) continue;
        if (low > at && scan_range(state, at, low) != 0) return -1;
        at = high;
    }
    if (at < end) return scan_range(state, at, end);
    return 0;
}

int pmp_tasks_scan(const pmp_memory_reader *reader, uint64_t isa, const pmp_region *regions, int region_count,
                   uint8_t *chunk, size_t chunk_size, uint64_t skip_start, uint64_t skip_end,
                   uint64_t *candidates, int capacity, uint64_t deadline_ns, pmp_scan_stats *stats) {
    memset(stats, 0, sizeof *stats);
    if (isa == 0 || chunk == NULL || chunk_size < 4096) return 0;
    long page = sysconf(_SC_PAGESIZE);
    scan_state state = {reader, isa, chunk, chunk_size, candidates, capacity, 0, deadline_ns,
                        page > 0 ? (size_t)page : 4096, stats};
    // The scan's own buffers hold copies of what they read: never scan them (only meaningful in this process).
    uint64_t excluded[2][2] = {{(uint64_t)(uintptr_t)chunk, (uint64_t)(uintptr_t)chunk + chunk_size},
                               {skip_start, skip_end}};
    if (excluded[1][0] < excluded[0][0]) {
        uint64_t low = excluded[0][0], high = excluded[0][1];
        excluded[0][0] = excluded[1][0];
        excluded[0][1] = excluded[1][1];
        excluded[1][0] = low;
        excluded[1][1] = high;
    }
    int excluded_count = reader->pid == 0 ? 2 : 0;
    for (int i = 0; i < region_count; i++) {
        if (!(regions[i].kind & PMP_REGION_SCAN)) continue;
        if (regions[i].end - regions[i].start > PMP_SCAN_REGION_LIMIT) {
            stats->huge_regions++;
            stats->huge_bytes += regions[i].end - regions[i].start;
            continue;
        }
        stats->regions++;
        if (scan_excluding(&state, regions[i].start, regions[i].end, (const uint64_t(*)[2])excluded, excluded_count) != 0) break;
    }
    return state.count;
}

// MARK: - Decode

int pmp_task_context_chain(const pmp_memory_reader *reader, const pmp_region *regions, int region_count,
                           uint64_t context, uint64_t *frames, int capacity) {
    int count = 0;
    for (int hops = 0; context != 0 && count < capacity && hops < 4096; hops++) {
        uint64_t pair[2];  // Parent, ResumeParent: compiler ABI
        if (pmp_memory_read(reader, context, pair, sizeof pair) != 0) break;
        if (pair[1] == 0 || !pmp_regions_contain_code(regions, region_count, pair[1])) break;
        frames[count++] = pair[1];
        if (pair[0] == context) break;
        context = pair[0];
    }
    return count;
}

enum {
    JOB_KIND_MASK = 0xff,
    JOB_IS_CHILD = 1u << 24,
    JOB_IS_FUTURE = 1u << 25,
    JOB_IS_GROUP_CHILD = 1u << 26,
    STATUS_RUNNING = 0x800,
    STATUS_COMPLETE = 0x2000,
    STATUS_HAS_DEPENDENCY = 0x4000,
    RECORD_TASK_NAME = 6,
};

static void read_name(const pmp_memory_reader *reader, uint64_t address, char *out, size_t capacity) {
    out[0] = 0;
    if (address == 0) return;
    // The whole buffer at once, else 8 bytes at a time (the string may end just before an unmapped page).
    if (pmp_memory_read(reader, address, out, capacity - 1) == 0) {
        out[capacity - 1] = 0;
        return;
    }
    size_t at = 0;
    while (at + 8 < capacity) {
        if (pmp_memory_read(reader, address + at, out + at, 8) != 0) break;
        if (memchr(out + at, 0, 8) != NULL) return;
        at += 8;
    }
    out[at] = 0;
}

static int is_adapter(const pmp_task_decoder *decoder, uint64_t function) {
    const pmp_task_runtime *runtime = decoder->runtime;
    return function != 0 && (function == runtime->future_wait_resume_adapter
                             || function == runtime->wait_throwing_resume_adapter
                             || function == decoder->skip_function);
}

static void add_frame(pmp_task_decoder *decoder, pmp_task_record *out, uint64_t function) {
    if (function == 0 || is_adapter(decoder, function)) return;
    if (out->frame_count >= decoder->max_frames_per_task || decoder->frame_used >= decoder->frame_capacity) {
        out->frames_truncated = 1;
        return;
    }
    decoder->frames[decoder->frame_used++] = function;
    out->frame_count++;
}

static int decode_task(pmp_task_decoder *decoder, uint64_t address, pmp_task_record *out, uint64_t words[32]);

int pmp_task_decode(pmp_task_decoder *decoder, uint64_t address, pmp_task_record *out) {
    // The copy of the task's header must not outlive the decode: left on this thread's stack (or in a
    // sanitizer's heap-allocated frame), it is resident anonymous memory holding the task class pointer, and the
    // next search would list it as a second copy of the task, at the wrong address.
    uint64_t words[32];
    int result = decode_task(decoder, address, out, words);
    explicit_bzero(words, sizeof(uint64_t[32]));
    return result;
}

static int decode_task(pmp_task_decoder *decoder, uint64_t address, pmp_task_record *out, uint64_t words[32]) {
    memset(out, 0, sizeof *out);
    const pmp_memory_reader *reader = decoder->reader;
    const pmp_task_layout *layout = decoder->layout;
    size_t header = layout != NULL ? layout->fragments : 72;
    if (header > sizeof(uint64_t[32])) header = sizeof(uint64_t[32]);
    if ((address & 15) != 0 || pmp_memory_read(reader, address, words, header) != 0) return PMP_TASK_REJECTED;
    if (words[0] != decoder->runtime->task_metadata) return PMP_TASK_REJECTED;
    uint32_t job_flags = (uint32_t)(words[4] & 0xffffffffu);
    if ((job_flags & JOB_KIND_MASK) != 0) return PMP_TASK_REJECTED;  // kind 0 = Task
    uint64_t resume = words[7], context = words[8];
    if (context == 0 || !pmp_regions_contain_code(decoder->regions, decoder->region_count, resume)) {
        return PMP_TASK_REJECTED;
    }
    out->address = address;
    out->job_flags = job_flags;
    out->id = (uint32_t)(words[4] >> 32);
    out->resume_function = resume;
    out->resume_context = context;
    out->frame_start = decoder->frame_used;

    uint32_t status = 0;
    if (layout != NULL) {
        status = (uint32_t)(words[layout->status_flags / 8] & 0xffffffffu);
        out->status_flags = status;
        if (status & STATUS_COMPLETE) return PMP_TASK_COMPLETED;
        out->id |= (uint64_t)(uint32_t)words[layout->id_high / 8] << 32;
        out->base_priority = words[layout->base_priority / 8] & 0xff;

        uint64_t fragments[4] = {0, 0, 0, 0};
        if (job_flags & (JOB_IS_CHILD | JOB_IS_GROUP_CHILD)) {
            if (pmp_memory_read(reader, address + layout->fragments, fragments, sizeof fragments) != 0) {
                return PMP_TASK_REJECTED;
            }
            int at = 0;
            if (job_flags & JOB_IS_CHILD) {
                out->parent = fragments[0];
                at = 2;
            }
            if (job_flags & JOB_IS_GROUP_CHILD) out->group = fragments[at];
        }

        // Status records, innermost first: the task's name is one of them.
        uint64_t record = words[layout->status_record / 8];
        for (int hops = 0; record != 0 && hops < 64; hops++) {
            uint64_t fields[3];  // Flags, Parent, first payload word
            if (pmp_memory_read(reader, record, fields, sizeof fields) != 0) break;
            if ((fields[0] & 0xff) == RECORD_TASK_NAME && out->name_address == 0) out->name_address = fields[2];
            record = fields[1];
        }
        read_name(reader, out->name_address, out->name, sizeof out->name);

        uint64_t dependency = words[layout->dependency_record / 8];
        if (dependency != 0 && (status & STATUS_HAS_DEPENDENCY)) {
            uint64_t fields[5];  // Flags, Parent, DependentOn (16-byte union), DependencyKind
            if (pmp_memory_read(reader, dependency, fields, sizeof fields) == 0) {
                uint32_t kind = (uint32_t)(fields[4] & 0xff);
                if (kind >= 1 && kind <= 4) {
                    out->dependency_kind = kind;
                    out->dependency_target = fields[2];
                }
            }
        }
    }

    const pmp_task_runtime *runtime = decoder->runtime;
    if (resume != 0 && (resume == runtime->future_adapter || resume == runtime->non_future_adapter)) {
        // Not started: the entry point sits in the initial context's prefix.
        uint64_t entry = 0;
        if (read_word(reader, context - 24, &entry) == 0
            && pmp_regions_contain_code(decoder->regions, decoder->region_count, entry)) {
            out->entry_function = entry;
            add_frame(decoder, out, entry);
        }
    } else if (!(status & STATUS_RUNNING)) {
        // Suspended (or enqueued to resume): the function it resumes in, then the chain of its callers.
        add_frame(decoder, out, resume);
        uint64_t chain[64];
        int remaining = decoder->max_frames_per_task;
        int hops = 0;
        uint64_t at = context;
        while (at != 0 && remaining > 0 && hops < 1024) {
            int want = remaining < 64 ? remaining : 64;
            int got = 0;
            uint64_t next = at;
            for (; got < want && next != 0; got++) {
                uint64_t pair[2];
                if (pmp_memory_read(reader, next, pair, sizeof pair) != 0) break;
                if (pair[1] == 0 || !pmp_regions_contain_code(decoder->regions, decoder->region_count, pair[1])) {
                    next = 0;
                    break;
                }
                chain[got] = pair[1];
                next = pair[0] == next ? 0 : pair[0];
            }
            for (int i = 0; i < got; i++) {
                // A continuation's context resumes the function ResumeTask already names.
                if (hops == 0 && i == 0 && chain[0] == resume) continue;
                add_frame(decoder, out, chain[i]);
            }
            hops += got;
            remaining -= got;
            if (got < want) break;
            at = next;
        }
        if (at != 0 && remaining <= 0) out->frames_truncated = 1;
    }

    // Read the header again: a task that ran meanwhile is marked, its fields may mix two moments.
    uint64_t again[3];
    if (pmp_memory_read(reader, address + 56, again, sizeof again) != 0 || again[0] != resume || again[1] != context) {
        out->changed = 1;
    }
    if (layout != NULL) {
        uint32_t status_again = 0;
        if (pmp_memory_read(reader, address + layout->status_flags, &status_again, sizeof status_again) != 0
            || status_again != status) {
            out->changed = 1;
        }
        if (status_again & STATUS_COMPLETE) return PMP_TASK_COMPLETED;
    }
    return PMP_TASK_LIVE;
}

// MARK: - Signal context

// Signal-safe: swift_task_getCurrent reads a thread-local variable of the runtime.
uint64_t pmp_task_current(void) {
    if (swift_task_getCurrent == NULL) return 0;
    return (uint64_t)(uintptr_t)swift_task_getCurrent();
}

// Signal-safe: reads one register of the ucontext.
uint64_t pmp_task_async_context_register(const void *context) {
    const ucontext_t *ucontext = context;
#if defined(__x86_64__)
    return (uint64_t)ucontext->uc_mcontext.gregs[REG_R14];
#elif defined(__aarch64__)
    return ucontext->uc_mcontext.regs[22];
#else
    (void)ucontext;
    return 0;
#endif
}
