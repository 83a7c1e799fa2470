/* The Kiln C front end as the core sees it: translate a .kc source for one
 * dialect and describe its kernels. Everything else in src/lang is private
 * to the front end. */
#ifndef KILN_LANG_H
#define KILN_LANG_H

#include <stddef.h>
#include <stdint.h>

#include "../ports/cpu_kernel_abi.h"
#include "../ports/port_types.h"

/* Device capabilities the emitter must honour: using a construct the device
 * lacks is a translation error naming the capability, never wrong code. */
typedef struct lang_caps {
    int has_double;
    int has_float_atomics;  /* atomic_add / atomic_xchg on float */
    int has_int64_atomics;
    int has_subgroups;
} lang_caps;

/* How an argument must be passed for one kernel parameter. */
typedef enum lang_param_class {
    LANG_PARAM_BUFFER = 1, /* global T * or global const T * */
    LANG_PARAM_SCALAR,     /* bool, char .. double */
    LANG_PARAM_BYTES       /* struct or vector by value */
} lang_param_class;

/* Scalar types of the language, in the order of kiln_arg_kind's scalars. */
typedef enum lang_scalar {
    LANG_SCALAR_NONE = 0,
    LANG_SCALAR_BOOL,
    LANG_SCALAR_CHAR,
    LANG_SCALAR_UCHAR,
    LANG_SCALAR_SHORT,
    LANG_SCALAR_USHORT,
    LANG_SCALAR_INT,
    LANG_SCALAR_UINT,
    LANG_SCALAR_LONG,
    LANG_SCALAR_ULONG,
    LANG_SCALAR_FLOAT,
    LANG_SCALAR_DOUBLE
} lang_scalar;

typedef struct lang_param {
    const char *name;       /* as declared */
    const char *type_text;  /* as a user reads it: "uint", "global const float *" */
    lang_param_class param_class;
    lang_scalar scalar;     /* for SCALAR; for BUFFER the pointee if scalar */
    size_t size;            /* bytes of a SCALAR or BYTES value; 0 for BUFFER */
    int is_const;           /* BUFFER declared global const */
} lang_param;

typedef struct lang_kernel {
    const char *name;         /* the kernel's name in the source */
    const char *entry_symbol; /* what the compile port looks up */
    uint32_t param_count;
    const lang_param *params;
    int uses_barrier;
    size_t shared_bytes;      /* static shared memory of one work-group */
} lang_kernel;

/* PORT_DIALECT_C: a kernel with barrier() or shared memory keeps per-work-
 * item copies of its variables in arrays of this many items, so the CPU
 * backend must not launch it with a larger work-group (the entry returns
 * without running anything if it is). Kernels without either have no limit. */
#define LANG_CPU_MAX_GROUP_ITEMS KILN_CPU_MAX_GROUP_ITEMS

typedef struct lang_unit lang_unit;

typedef struct lang_request {
    const char *source;      /* Kiln C text; need not be NUL-terminated */
    size_t source_length;
    const char *source_name; /* for diagnostics and #line; NULL = "<source>" */
    const char *defines;     /* "-DNAME=value -DOTHER", NULL = none */
    port_dialect dialect;
    lang_caps caps;
} lang_request;

/* Translates. On success *out holds the emitted source and the kernels.
 * On a source error returns KILN_ERR_COMPILE and *diagnostics (malloc'd,
 * caller frees) holds "name:line:col: error: message" lines, each followed
 * by the offending source line and a caret. Other failures:
 * KILN_ERR_OUT_OF_HOST_MEMORY, KILN_ERR_INVALID_ARG. Never crashes on any
 * input; bounded time and memory for any input. */
kiln_status lang_translate(const lang_request *req, lang_unit **out, char **diagnostics);

const char *lang_unit_source(const lang_unit *u);
size_t lang_unit_source_length(const lang_unit *u);
uint32_t lang_unit_kernel_count(const lang_unit *u);
const lang_kernel *lang_unit_kernel(const lang_unit *u, uint32_t index);
/* NULL if the unit has no kernel of that name. */
const lang_kernel *lang_unit_find_kernel(const lang_unit *u, const char *name);
void lang_unit_free(lang_unit *u);

/* PORT_DIALECT_C: bytes that kiln_entry_NAME of kernel `index` keeps on
 * the stack of the thread running a group (shared memory and per-work-item
 * copies of variables that cross a barrier; locals of a work-item come on
 * top). The CPU backend sizes its thread stacks from it. 0 for other
 * dialects and for kernels without barrier() or shared memory. */
size_t lang_unit_cpu_frame_bytes(const lang_unit *u, uint32_t index);

#endif
