/* Rebuilding kernels on the CPU for a fallback queue (fallback.h). A program
 * built on a device other than the CPU keeps a copy of its source, defines
 * and source name (memory cost: their lengths, once per program, shared by
 * its kernels and the journals that name them); the CPU build of one of its
 * kernels is made on first need and kept until the source is dropped. */
#ifndef KILN_CORE_REBUILD_H
#define KILN_CORE_REBUILD_H

#include "core_types.h"

/* A kernel's CPU build: one per (source, kernel name). */
typedef struct rebuild_twin {
    struct rebuild_twin *next;
    char *name;
    kiln_program *program; /* NULL until built */
    kiln_kernel *kernel;
} rebuild_twin;

typedef struct core_source {
    atomic_uint refs;
    pthread_mutex_t lock; /* guards twins and their builds */
    char *text;
    char *defines;
    char *name;
    rebuild_twin *twins;
} core_source;

/* Keeps what prog was built from (*out stays NULL on a CPU device, where
 * nothing falls back). KILN_ERR_OUT_OF_HOST_MEMORY when it cannot. */
kiln_status rebuild_keep(const kiln_device *dev, const char *source, const char *defines,
                         const char *name, core_source **out);
/* Takes a reference; NULL is passed through. */
core_source *rebuild_retain(core_source *s);
/* Drops a reference; the last one releases the CPU builds. NULL accepted. */
void rebuild_release(core_source *s);

/* The twin slot of kernel k (found once, then cached on k).
 * KILN_ERR_UNSUPPORTED when k has no kept source (built on the CPU). */
kiln_status rebuild_twin_of(kiln_kernel *k, rebuild_twin **out);

/* The CPU build of the twin's kernel on cpu, built on first use. */
kiln_status rebuild_on_cpu(core_source *s, rebuild_twin *t, kiln_device *cpu, kiln_kernel **out);

#endif
