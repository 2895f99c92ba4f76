// The map of loaded code that handlers search instead of calling dl_iterate_phdr (capture thread, outside
// signal context): every executable PT_LOAD segment with its image's .eh_frame_hdr binary-search table.

#include "internal.h"

#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    pmp_image_map *map;  // NULL: count only
    size_t capacity;
    size_t needed;
    uint64_t adds, subs;
    int counters_seen;
} map_build;

// The size of a fixed-size DW_EH_PE value; 0 for LEB128 or unknown forms (not found in .eh_frame_hdr).
static size_t encoded_value_size(unsigned char encoding) {
    switch (encoding & 0x0f) {
    case DW_EH_PE_absptr: return sizeof(uintptr_t);
    case DW_EH_PE_udata2: case DW_EH_PE_sdata2: return 2;
    case DW_EH_PE_udata4: case DW_EH_PE_sdata4: return 4;
    case DW_EH_PE_udata8: case DW_EH_PE_sdata8: return 8;
    default: return 0;
    }
}

static int read_count(const unsigned char *at, unsigned char encoding, uint64_t *count) {
    switch (encoding) {  // a count is absolute: no application bits
    case DW_EH_PE_absptr: case DW_EH_PE_udata8: case DW_EH_PE_sdata8: memcpy(count, at, 8); return 1;
    case DW_EH_PE_udata4: { uint32_t value; memcpy(&value, at, 4); *count = value; return 1; }
    case DW_EH_PE_sdata4: {
        int32_t value;
        memcpy(&value, at, 4);
        if (value < 0) return 0;
        *count = (uint64_t)value;
        return 1;
    }
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
    if (header[0] != 1 || header[3] != (DW_EH_PE_datarel | DW_EH_PE_sdata4)) return 0;
    size_t pointer_size = header[1] == DW_EH_PE_omit ? 0 : encoded_value_size(header[1]);
    if (header[1] != DW_EH_PE_omit && pointer_size == 0) return 0;
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

pmp_image_map *pmp_build_image_map(void) {
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
