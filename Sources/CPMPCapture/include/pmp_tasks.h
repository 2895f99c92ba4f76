#ifndef PMP_TASKS_H
#define PMP_TASKS_H

// Finding and decoding Swift concurrency tasks (AsyncTask objects) in raw memory.
//
// Every read of task memory goes through a pmp_memory_reader, which copies bytes with process_vm_readv: a task
// that completes and is freed while it is being read gives a failed or torn read, never a fault. The same
// decoder reads another process when the reader is given that process's pid.

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Reads `length` bytes at `address` of process `pid` (0: this process) into `buffer`. 0, or a negative errno.
typedef struct pmp_memory_reader {
    pid_t pid;
} pmp_memory_reader;

/// Not signal-safe (process_vm_readv is a plain system call, but callers of this run on the capture thread).
int pmp_memory_read(const pmp_memory_reader *reader, uint64_t address, void *buffer, size_t length);

/// What the Swift runtime in this process says of itself (`_swift_concurrency_debug_*`, through weak references
/// so that a -static-stdlib build reaches them too).
typedef struct {
    int present;                    ///< the concurrency runtime's debug symbols were found
    uint64_t task_metadata;         ///< the isa of every AsyncTask
    uint64_t task_size;             ///< sizeof(AsyncTask)
    uint32_t layout_version;        ///< _swift_concurrency_debug_internal_layout_version
    int supports_escalation;
    uint64_t future_adapter, non_future_adapter;
    uint64_t future_wait_resume_adapter, wait_throwing_resume_adapter;
    int has_registry;               ///< the runtime exports a task registry
} pmp_task_runtime;

void pmp_task_runtime_read(pmp_task_runtime *out);

/// Offsets of one runtime's AsyncTask, from the table of known runtimes.
typedef struct {
    uint64_t task_size;
    uint32_t layout_version;
    int supports_escalation;
    const char *arch;
    const char *runtime;            ///< e.g. "Swift 6.3"
    uint32_t status_flags, status_record, id_high, base_priority, dependency_record, fragments;
} pmp_task_layout;

/// The layout for this runtime and architecture, or NULL when it is not in the table.
const pmp_task_layout *pmp_task_layout_find(const pmp_task_runtime *runtime);

enum {
    PMP_REGION_SCAN = 1,  ///< anonymous read-write memory that may hold tasks
    PMP_REGION_CODE = 2,  ///< executable
};

typedef struct {
    uint64_t start, end;
    uint32_t kind;
} pmp_region;

/// Reads /proc/PID/maps (0: this process) with plain open/read into `regions`. Returns the count, or a negative
/// errno; `*truncated` is set when there were more regions than `capacity`.
int pmp_read_regions(pid_t pid, pmp_region *regions, int capacity, int *truncated);

/// Whether `address` lies in a PMP_REGION_CODE region of the sorted `regions`.
int pmp_regions_contain_code(const pmp_region *regions, int count, uint64_t address);

typedef struct {
    uint64_t bytes_scanned;     ///< resident bytes read and searched
    uint64_t bytes_skipped;     ///< bytes of scanned regions that were not resident
    uint64_t regions;
    uint64_t candidates;        ///< words equal to the isa
    uint64_t read_failures;     ///< reads that failed (memory unmapped meanwhile)
    uint64_t huge_regions;      ///< regions over PMP_SCAN_REGION_LIMIT left out (reservations: a sanitizer's shadow)
    uint64_t huge_bytes;        ///< their size
    int out_of_time;            ///< the deadline passed before the scan finished
    int out_of_room;            ///< more candidates than the buffer holds
} pmp_scan_stats;

/// A read-write anonymous region larger than this is a reservation, not a heap (AddressSanitizer's 14 TiB
/// shadow, a GC's or a WebAssembly runtime's address-space reservation): finding its few resident pages would
/// take a residency check per page of it, so it is left out and counted.
#define PMP_SCAN_REGION_LIMIT (64ULL << 30)

/// Scans the PMP_REGION_SCAN regions (none larger than PMP_SCAN_REGION_LIMIT) for 16-byte aligned words equal to `isa`, chunk by chunk through `reader`,
/// only resident pages when the reader is this process (mincore). `chunk` is a preallocated buffer whose own
/// region is left out, as is [skip_start, skip_end). Stops at `deadline_ns` (CLOCK_MONOTONIC). Returns the
/// number of candidate addresses written.
int pmp_tasks_scan(const pmp_memory_reader *reader, uint64_t isa, const pmp_region *regions, int region_count,
                   uint8_t *chunk, size_t chunk_size, uint64_t skip_start, uint64_t skip_end,
                   uint64_t *candidates, int capacity, uint64_t deadline_ns, pmp_scan_stats *stats);

enum {
    PMP_TASK_DECODED_FULL = 1,  ///< every field from the verified layout
    PMP_TASK_DECODED_ABI = 2,   ///< only the compiler-ABI fields (id low bits, flags, resume function, contexts)
};

enum {
    PMP_TASK_REJECTED = 0,      ///< not a task (or not one any more)
    PMP_TASK_LIVE = 1,
    PMP_TASK_COMPLETED = 2,     ///< a finished task still referenced (a Task handle)
};

/// One task, as read.
typedef struct {
    uint64_t address;
    uint64_t id;
    uint32_t job_flags;         ///< kind, priority, child / future / group child / async let bits
    uint32_t status_flags;      ///< ActiveTaskStatus flags (0 when decoded from the ABI only)
    uint64_t resume_function;   ///< ResumeTask
    uint64_t resume_context;
    uint64_t entry_function;    ///< for a task not started yet: its entry point; else 0
    uint64_t parent;            ///< the parent task (child tasks)
    uint64_t group;             ///< the task group (group children)
    uint64_t base_priority;
    uint32_t dependency_kind;   ///< 0 none, 1 task, 2 continuation, 3 task group, 4 enqueued on an executor
    uint64_t dependency_target; ///< the task, continuation context, group or executor identity
    uint64_t name_address;
    char name[96];
    int32_t frame_start;        ///< into the frame buffer
    int32_t frame_count;
    int32_t frames_truncated;
    int32_t changed;            ///< the task's header moved while it was being read
} pmp_task_record;

typedef struct {
    const pmp_memory_reader *reader;
    const pmp_task_layout *layout;      ///< NULL: decode the ABI fields only
    const pmp_task_runtime *runtime;
    const pmp_region *regions;
    int region_count;
    uint64_t *frames;                   ///< shared frame buffer
    int frame_capacity;
    int frame_used;
    int max_frames_per_task;
    uint64_t skip_function;             ///< a wait adapter without a debug symbol (task group), dropped from frames
} pmp_task_decoder;

/// Decodes the candidate at `address` into `out`. Returns PMP_TASK_REJECTED, _LIVE or _COMPLETED.
int pmp_task_decode(pmp_task_decoder *decoder, uint64_t address, pmp_task_record *out);

/// Walks an async context chain from `context` ({Parent, ResumeParent} at +0/+8) into `frames`: the resume
/// functions from the innermost out. Stops at `capacity`, a null or unreadable context, or a resume function
/// outside code. Returns the count.
int pmp_task_context_chain(const pmp_memory_reader *reader, const pmp_region *regions, int region_count,
                           uint64_t context, uint64_t *frames, int capacity);

/// The calling thread's current task (swift_task_getCurrent), or 0. Signal-safe: a thread-local read.
uint64_t pmp_task_current(void);

/// The interrupted thread's swift async context register (x86_64 r14, aarch64 x22). Signal-safe.
uint64_t pmp_task_async_context_register(const void *ucontext);

/// CLOCK_MONOTONIC in nanoseconds.
uint64_t pmp_monotonic_ns(void);

#ifdef __cplusplus
}
#endif

#endif
