/* kiln — programs (compiled Kiln C source) and the kernels in them. */
#ifndef KILN_PROGRAM_H
#define KILN_PROGRAM_H

#include "device.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_program kiln_program;
typedef struct kiln_kernel kiln_kernel;

typedef struct kiln_build_options {
    /* sizeof(kiln_build_options); lets the struct grow compatibly. */
    uint32_t size;
    /* Preprocessor definitions, "-DNAME=value -DOTHER"; NULL = none. */
    const char *defines;
    /* Name used in diagnostics and #line ("saxpy.kc"); NULL = "<source>". */
    const char *source_name;
} kiln_build_options;

/* Where a build came from; kiln_program_build_source tells. */
typedef enum kiln_build_origin {
    KILN_BUILD_COMPILED = 0,     /* the backend's compiler ran */
    KILN_BUILD_DISK_CACHE = 1,   /* loaded from the on-disk kernel cache */
    KILN_BUILD_MEMORY_CACHE = 2  /* reused from this context's memory */
} kiln_build_origin;

/* Translates the Kiln C source for the device and compiles it. On a syntax,
 * type or rule error returns KILN_ERR_COMPILE with "file:line:col: error:"
 * diagnostics in kiln_last_error(). opts may be NULL. */
KILN_API kiln_status kiln_program_build(kiln_device *dev, const char *source,
                                        const kiln_build_options *opts, kiln_program **out);

KILN_API void kiln_program_release(kiln_program *prog);

KILN_API kiln_build_origin kiln_program_origin(const kiln_program *prog);

/* Looks up a kernel function of the program; KILN_ERR_NOT_FOUND if none. */
KILN_API kiln_status kiln_kernel_get(kiln_program *prog, const char *name, kiln_kernel **out);

KILN_API void kiln_kernel_release(kiln_kernel *k);

/* Number of kernels in the program, and their names (stable while the
 * program lives). */
KILN_API uint32_t kiln_program_kernel_count(const kiln_program *prog);
KILN_API const char *kiln_program_kernel_name(const kiln_program *prog, uint32_t index);

/* The kernel's parameters as the source declares them. */
KILN_API uint32_t kiln_kernel_param_count(const kiln_kernel *k);
/* Parameter name and type as written ("n", "uint"; "x", "global const float *").
 * Returns KILN_ERR_INVALID_ARG for an index out of range. */
KILN_API kiln_status kiln_kernel_param(const kiln_kernel *k, uint32_t index, const char **name,
                                       const char **type);

/* Translates Kiln C source for a backend without compiling it, as kiln's
 * front end does inside kiln_program_build. On success *text (free it with
 * kiln_free) holds the emitted source. On a source error returns
 * KILN_ERR_COMPILE with the diagnostics in kiln_last_error(). opts may be
 * NULL. Capabilities are assumed present (doubles, atomics, subgroups). */
KILN_API kiln_status kiln_translate(const char *source, const kiln_build_options *opts,
                                    kiln_backend target, char **text);

/* Frees memory kiln handed to the caller (kiln_translate's text). */
KILN_API void kiln_free(void *p);

#ifdef __cplusplus
}
#endif

#endif
