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

/// libswiftCore's backtracer demangler, which formats with the simplified options (runtime SPI). A weak
/// reference: NULL on a runtime without it, and still found in a `--static-swift-stdlib` build, whose runtime
/// symbols are local to the executable and out of dlsym's reach.
char *_swift_backtrace_demangle(const char *mangled_name, size_t mangled_name_length, char *output_buffer,
                                size_t *output_buffer_size) __attribute__((weak));

/// The address of `_swift_backtrace_demangle`, or NULL (Swift cannot test a weak function for NULL itself).
static inline void *pmp_backtrace_demangle_address(void) { return (void *)&_swift_backtrace_demangle; }

/// From libstdc++ (Itanium C++ ABI): returns a malloc'd demangled name, or NULL with *status != 0.
char *__cxa_demangle(const char *mangled_name, char *output_buffer, size_t *length, int *status);

#ifdef __cplusplus
}
#endif

#endif
