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
    /* Governance (docs/security.md). A policy file turns it on: every build,
     * allocation, copy and launch is then authorized by it. NULL = $KILN_POLICY;
     * with neither, the local user runs freely, as before. */
    const char *policy;
    /* The audit log (JSON Lines, hash-chained); needs a policy. NULL = $KILN_AUDIT_LOG. */
    const char *audit_log;
    /* The secret key that signs the log's checkpoints (`kiln audit keygen`).
     * NULL = $KILN_AUDIT_KEY; with neither the log is hash-chained, unsigned. */
    const char *audit_key;
} kiln_context_options;
/* A caller built against 0.1.0 passes that release's smaller size (up to
 * `backends`) and gets the defaults for the fields added since. */

#define KILN_BACKEND_BIT(backend) (1u << (unsigned)(backend))

/* Opens every backend present. opts may be NULL (defaults). A backend that
 * fails to load is recorded and skipped; the CPU backend is always there. */
KILN_API kiln_status kiln_context_create(kiln_context **out, const kiln_context_options *opts);

/* Reads the policy file again (path, or the one in use when NULL) and
 * swaps it in at once: operations in flight finish under the old one. An
 * invalid file keeps the old policy (KILN_ERR_POLICY says why). The reload
 * is recorded in the audit log. KILN_ERR_INVALID_ARG when the context has
 * no policy (governance is off). */
KILN_API kiln_status kiln_context_policy_reload(kiln_context *ctx, const char *path);

/* What governs a context; the strings live as long as the context. */
typedef struct kiln_governance_info {
    int enabled;            /* 0: no policy; the local user runs freely */
    const char *principal;  /* the local user the context acts for */
    const char *policy;     /* policy file, or "" */
    char policy_sha256[65]; /* hex SHA-256 of the policy file in force, or "" */
    const char *audit_log;  /* "" when none */
} kiln_governance_info;

KILN_API kiln_status kiln_context_get_governance(kiln_context *ctx, kiln_governance_info *out);

/* Releases the context. Every object made from it must be released first;
 * NULL is accepted. */
KILN_API void kiln_context_destroy(kiln_context *ctx);

#ifdef __cplusplus
}
#endif

#endif
