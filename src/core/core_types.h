/* The structs behind the public opaque handles. Private to src/core. */
#ifndef KILN_CORE_TYPES_H
#define KILN_CORE_TYPES_H

#include <pthread.h>
#include <stdatomic.h>

#include "../govern/audit.h"
#include "../govern/policy.h"
#include "../govern/quota.h"
#include "../govern/sched.h"
#include "../lang/lang.h"
#include "../ports/backend_port.h"
#include "cache.h"
#include "governance.h"
#include "health.h"

/* Every handle starts with a magic word naming its type. A handle whose word
 * is wrong (a forged pointer, a handle of another type, or one already
 * released: release overwrites the word) is refused with
 * KILN_ERR_INVALID_HANDLE instead of being used. */
enum core_magic {
    CORE_MAGIC_CONTEXT = 0x4b43545au,
    CORE_MAGIC_DEVICE = 0x4b444556u,
    CORE_MAGIC_QUEUE = 0x4b515545u,
    CORE_MAGIC_BUFFER = 0x4b425546u,
    CORE_MAGIC_PROGRAM = 0x4b50524fu,
    CORE_MAGIC_KERNEL = 0x4b4b524eu,
    CORE_MAGIC_EVENT = 0x4b45564eu,
    CORE_MAGIC_HOST_BUFFER = 0x4b484246u,
    CORE_MAGIC_SESSION = 0x4b534553u,
    CORE_MAGIC_RELEASED = 0xdeadbeefu
};

/* One backend the context tried to open. */
typedef struct core_backend {
    const port_backend_ops *ops;
    port_backend *port;      /* NULL when it failed to open */
    kiln_status open_status;
    char reason[256];        /* why it is unavailable */
} core_backend;

#define CORE_MAX_BACKENDS 8

struct kiln_context {
    uint32_t magic;
    uint32_t flags;
    kiln_log_fn log;
    void *log_user;
    core_backend backends[CORE_MAX_BACKENDS];
    size_t backend_count;
    struct kiln_device **devices;
    uint32_t device_count;
    core_cache *cache;
    core_governance *gov; /* NULL: no policy configured (the local user runs freely) */
    struct core_session_registry *sessions; /* the open sessions (session.h) */
};

/* A device's view of the policy: the rules that select it for its
 * principal (the local user, or a session's), refreshed when the policy
 * generation changes. */
typedef struct core_device_policy {
    pthread_mutex_t lock;
    policy *current;        /* reference held; NULL until the first decision */
    policy_binding binding;
    govern_device_desc desc;
} core_device_policy;

struct kiln_device {
    uint32_t magic;
    kiln_context *ctx;
    /* The context's device this handle acts on: itself for the context's own
     * devices; the shared one for a session's view of it. What belongs to
     * the hardware (health, scheduler, port objects) lives there. */
    struct kiln_device *base;
    const port_backend_ops *ops;
    port_device *port;
    kiln_device_info info;
    lang_caps caps;
    /* Architecture, driver and compiler version: part of the cache key. */
    char cache_identity[512];
    atomic_int health; /* kiln_health; read through base (a view's own is unused) */
    core_breaker breaker; /* when an unhealthy device is probed (health.h); base only */
    uint32_t index;    /* in the context */
    core_device_policy policy;
    /* The session this view acts for; NULL for the context's own devices. */
    struct kiln_session *session;
    /* On the base device only: the stream that zeroes new buffers of a
     * governed context (hygiene.h), made on first use. */
    pthread_mutex_t hygiene_lock;
    port_stream *hygiene_stream;
    /* Governed contexts: the scheduler of this (base) device, made with its
     * first queue (launch_sched.h); NULL until then and when ungoverned. */
    _Atomic(struct core_sched_device *) sched;
};

struct kiln_queue {
    uint32_t magic;
    kiln_device *dev;
    port_stream *stream;
    kiln_priority priority;
    /* Streams are not required to be thread-safe; the queue serializes. */
    pthread_mutex_t lock;
    /* KILN_QUEUE_CPU_FALLBACK: its journal and counts (fallback.h); NULL
     * for a plain queue, which then pays one branch per operation. */
    struct fallback_queue *fallback;
    /* Governed contexts: the queue's place in the device's scheduler, which
     * its launches go through; NULL: launches go straight to the stream. */
    sched_queue *scheduled;
};

/* What the reserve stage of the launch path took (pipeline.h), handed back
 * to release. */
typedef struct core_reservation {
    quota_reservation quota;
} core_reservation;

struct kiln_buffer {
    uint32_t magic;
    kiln_device *dev;
    port_mem *mem;
    size_t bytes;
    uint32_t flags;
    core_reservation reservation; /* its quota, held until release */
    /* The fallback queue whose journal holds it since that queue's last
     * synchronization point (NULL: none), and its place in that journal's
     * buffer table. Guarded by that queue's fallback lock. */
    struct kiln_queue *journal_owner;
    uint32_t journal_index;
    /* Scheduled launches that use it and have not completed (one per
     * argument); release waits for zero. */
    atomic_uint pending_launches;
};

struct kiln_program {
    uint32_t magic;
    kiln_device *dev;
    core_module *module; /* shared with the memory cache; reference held */
    kiln_build_origin origin;
    /* What it was built from, kept for a rebuild on the CPU (rebuild.h);
     * NULL on the CPU itself. Shared with its kernels. */
    struct core_source *source;
};

struct kiln_kernel {
    uint32_t magic;
    kiln_device *dev;
    core_module *module; /* reference held: a kernel outlives its program */
    const lang_kernel *signature;
    port_function *function;
    /* The largest work-group it may run with on dev: the device's limit,
     * lowered by the function's own (registers, local memory). Asked once
     * here rather than on every launch. */
    size_t max_group;
    /* Its launch counter in the audit log, found on first use. */
    _Atomic(audit_slot *) audit_slot;
    /* Its program's source (reference held) and, once a fallback queue used
     * it, its CPU rebuild (rebuild.h). */
    struct core_source *source;
    _Atomic(struct rebuild_twin *) twin;
};

struct kiln_event {
    uint32_t magic;
    kiln_queue *queue;
    /* The device its port events belong to: the queue's when it was made (a
     * fallback queue moves to the CPU, its earlier events do not). */
    kiln_device *dev;
    port_event *begin;
    port_event *end;
    /* A scheduled launch's event refers to its record (launch_sched.c),
     * which owns begin and end; NULL for every other event. */
    struct launch_record *launch;
};

#endif
