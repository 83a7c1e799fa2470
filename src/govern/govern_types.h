/* The vocabulary every governance engine shares (policy, audit, quota,
 * scheduler, health): actions, principals and the description of a device
 * that rules are matched against. Kept small on purpose: an engine's own
 * types live in its own header. */
#ifndef KILN_GOVERN_TYPES_H
#define KILN_GOVERN_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <kiln/common.h>
#include <kiln/device.h>

/* What a principal asks to do. The text names are those of the policy file
 * and the audit log (govern_action_name). */
typedef enum govern_action {
    GOVERN_ACTION_DEVICE_USE = 0, /* "device.use" */
    GOVERN_ACTION_PROGRAM_BUILD,  /* "program.build" */
    GOVERN_ACTION_BUFFER_ALLOC,   /* "buffer.alloc" */
    GOVERN_ACTION_BUFFER_COPY,    /* "buffer.copy" */
    GOVERN_ACTION_KERNEL_LAUNCH,  /* "kernel.launch" */
    GOVERN_ACTION_QUEUE_PRIORITY, /* "queue.priority" */
    GOVERN_ACTION_P2P,            /* "p2p" */
    GOVERN_ACTION_COLLECTIVE,     /* "collective" */
    GOVERN_ACTION_ADMIN,          /* "admin.<name>", the name from govern_admin_names */
    GOVERN_ACTION_SESSION_OPEN,   /* "session.open" */
    GOVERN_ACTION_COUNT
} govern_action;

/* "kernel.launch", ...; "admin.*" for GOVERN_ACTION_ADMIN; "unknown" otherwise. */
const char *govern_action_name(govern_action action);

/* Parses an action name. For "admin.<name>" *admin is set to the known admin
 * name (a string with static storage) or to "*" for "admin.*"; otherwise
 * *admin is NULL. False for an unknown name (admin may be NULL). */
bool govern_action_parse(const char *text, govern_action *out, const char **admin);

/* The admin sub-actions that exist ("reload", "audit", ...), NULL-terminated.
 * A fixed list so that a typo in a policy is an error, never a rule that
 * silently matches nothing. */
extern const char *const govern_admin_names[];

/* Longest principal or role name in bytes, and most roles per principal. */
#define GOVERN_NAME_MAX 256
#define GOVERN_ROLES_MAX 16

/* Who asks. name and roles are UTF-8 without control characters
 * (govern_principal_check); the strings belong to the caller. */
typedef struct govern_principal {
    const char *name;
    const char *roles[GOVERN_ROLES_MAX];
    uint32_t role_count;
} govern_principal;

/* KILN_OK if name is usable as a principal or role name: 1 to
 * GOVERN_NAME_MAX bytes of valid UTF-8 with no control character (C0, DEL,
 * C1). Otherwise KILN_ERR_INVALID_ARG with the reason and the byte offset. */
kiln_status govern_name_check(const char *name);

/* Checks the name and every role of a principal the same way. */
kiln_status govern_principal_check(const govern_principal *principal);

/* The hardware class a device selector "class:gpu" names. UNKNOWN (a device
 * described from text alone) matches no class selector. */
typedef enum govern_device_class {
    GOVERN_CLASS_UNKNOWN = 0,
    GOVERN_CLASS_CPU,
    GOVERN_CLASS_GPU,
    GOVERN_CLASS_ACCELERATOR,
    GOVERN_CLASS_OTHER
} govern_device_class;

/* The class of a kiln_device_kind. */
govern_device_class govern_class_of_kind(kiln_device_kind kind);
/* "cpu", "gpu", "accelerator", "other", "unknown". */
const char *govern_class_name(govern_device_class cls);

/* The backend named by the length bytes at text ("cpu", "cuda", ... as
 * kiln_backend_name spells them); false for another word. */
bool govern_backend_parse(const char *text, size_t length, kiln_backend *out);

/* Marks an index that is not known (a device described from text alone). */
#define GOVERN_INDEX_UNKNOWN UINT32_MAX

/* A device as the rules see it. backend 0 means unknown. */
typedef struct govern_device_desc {
    uint32_t index;         /* in the context (kiln_device_get), or GOVERN_INDEX_UNKNOWN */
    kiln_backend backend;   /* 0 when unknown */
    uint32_t backend_index; /* among its backend's devices, or GOVERN_INDEX_UNKNOWN */
    const char *name;       /* the device's name, "" when unknown; never NULL */
    govern_device_class device_class;
} govern_device_desc;

/* ---- helpers the engines share ---- */

/* clock_gettime(clock) in nanoseconds. */
uint64_t govern_clock_ns(clockid_t clock);

/* Length (1..4) of the valid UTF-8 sequence at p, of which avail bytes may
 * be read, and its code point in *code; 0 when the bytes there are not one
 * (overlong, surrogate, past U+10FFFF, cut short, stray continuation). */
size_t govern_utf8_sequence(const unsigned char *p, size_t avail, uint32_t *code);

/* FNV-1a (http://www.isthe.com/chongo/tech/comp/fnv/) of n bytes, chained
 * from h (GOVERN_FNV_OFFSET to start). For hash tables of names that come
 * from the administrator or the caller: nothing is gained by collisions. */
#define GOVERN_FNV_OFFSET 14695981039346656037ull
uint64_t govern_fnv1a(uint64_t h, const void *data, size_t n);

#endif
