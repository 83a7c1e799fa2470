/* The compile port: turns translated source into a loadable module.
 * The input is already in the adapter's dialect (src/lang translated it). */
#ifndef KILN_COMPILE_PORT_H
#define KILN_COMPILE_PORT_H

#include "port_types.h"

typedef struct port_compile_input {
    const char *source;      /* translated source, NUL-terminated */
    size_t source_length;
    const char *source_name; /* the .kc file name the #line directives use */
} port_compile_input;

typedef struct port_compile {
    /* Compiles source for dev. On failure fills log with the native
     * compiler's output and returns KILN_ERR_COMPILE (or KILN_ERR_NO_COMPILER
     * when the compiler itself is missing). */
    kiln_status (*compile)(port_device *dev, const port_compile_input *in, port_module **out,
                           port_log *log);
    /* Serializes a module so it can be stored in the kernel cache. *bytes is
     * malloc'd and owned by the caller. */
    kiln_status (*module_binary)(port_module *m, void **bytes, size_t *size);
    /* Loads a module from what module_binary produced. */
    kiln_status (*module_load)(port_device *dev, const void *bytes, size_t size, port_module **out);
    void (*module_release)(port_module *m);
    /* Looks up an entry point; the function lives as long as its module. */
    kiln_status (*get_function)(port_module *m, const char *entry, port_function **out);
    /* The largest work-group this function can be launched with (registers
     * and local memory can make it smaller than the device's limit); 0 when
     * the backend has no per-function limit. Optional: NULL = none. */
    uint32_t (*function_max_group)(port_function *f);
    /* Writes what identifies the compiled code for dev into buf: architecture,
     * driver and compiler version. Part of the kernel cache key. */
    kiln_status (*cache_identity)(port_device *dev, char *buf, size_t size);
} port_compile;

#endif
