#ifndef PMP_DEMANGLE_H
#define PMP_DEMANGLE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// From libswiftCore: returns a malloc'd, NUL-terminated demangled name when output_buffer is NULL,
/// or NULL when `mangled_name` is not a Swift symbol.
char *swift_demangle(const char *mangled_name, size_t mangled_name_length, char *output_buffer,
                     size_t *output_buffer_size, uint32_t flags);

/// From libstdc++ (Itanium C++ ABI): returns a malloc'd demangled name, or NULL with *status != 0.
char *__cxa_demangle(const char *mangled_name, char *output_buffer, size_t *length, int *status);

#ifdef __cplusplus
}
#endif

#endif
