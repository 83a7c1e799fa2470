/* kiln — the context: the devices of every backend present, and the
 * kernel cache. A context is safe to use from many threads. */
#ifndef KILN_CONTEXT_H
#define KILN_CONTEXT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_context kiln_context;

typedef enum kiln_log_level {
    KILN_LOG_DEBUG = 0,
    KILN_LOG_INFO = 1,
    KILN_LOG_WARNING = 2,
    KILN_LOG_ERROR = 3
} kiln_log_level;

typedef void (*kiln_log_fn)(kiln_log_level level, const char *message, void *user);

/* Bits of kiln_context_options.flags. */
#define KILN_CONTEXT_NO_DISK_CACHE 0x1u  /* keep compiled kernels in memory only */
#define KILN_CONTEXT_NO_CACHE 0x2u       /* never reuse a compiled kernel */

typedef struct kiln_context_options {
    /* sizeof(kiln_context_options); lets the struct grow compatibly. */
    uint32_t size;
    uint32_t flags;
    /* Cache directory; NULL = $KILN_CACHE_DIR, else $XDG_CACHE_HOME/kiln,
     * else ~/.cache/kiln. */
    const char *cache_dir;
    /* Receives warnings and debug messages; NULL = kiln stays silent. */
    kiln_log_fn log;
    void *log_user;
    /* Which backends to open: KILN_BACKEND_BIT(KILN_BACKEND_CPU) | ...;
     * 0 = $KILN_BACKENDS ("cpu,opencl") if set, else every backend. A backend
     * left out costs nothing: an OpenCL ICD, for one, can add tens of MB. */
    uint32_t backends;
} kiln_context_options;

#define KILN_BACKEND_BIT(backend) (1u << (unsigned)(backend))

/* Opens every backend present. opts may be NULL (defaults). A backend that
 * fails to load is recorded and skipped; the CPU backend is always there. */
KILN_API kiln_status kiln_context_create(kiln_context **out, const kiln_context_options *opts);

/* Releases the context. Every object made from it must be released first;
 * NULL is accepted. */
KILN_API void kiln_context_destroy(kiln_context *ctx);

#ifdef __cplusplus
}
#endif

#endif
