/* kiln — queues: ordered streams of work on one device. */
#ifndef KILN_QUEUE_H
#define KILN_QUEUE_H

#include "device.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_queue kiln_queue;

/* Priority classes; backends with stream priorities map them there. */
typedef enum kiln_priority {
    KILN_PRIORITY_LOW = -1,
    KILN_PRIORITY_NORMAL = 0,
    KILN_PRIORITY_HIGH = 1
} kiln_priority;

/* A queue on dev with the given priority and no flags. */
KILN_API kiln_status kiln_queue_create(kiln_device *dev, kiln_priority priority, kiln_queue **out);

/* Bits of kiln_queue_options.flags. */
/* When the device faults (an operation on the queue returns
 * KILN_ERR_DEVICE_FAULT or KILN_ERR_DEVICE_LOST), the queue moves to the
 * context's CPU device, re-runs there what it did since its last
 * synchronization point and returns KILN_OK. Costs and limits: see
 * docs/security.md, "Graceful degradation":
 * - synchronization points are kiln_queue_finish and kiln_buffer_read that
 *   return KILN_OK; the queue keeps a journal of everything since the last
 *   one: launches (kernel, range, a copy of the arguments), writes (a copy of
 *   the data), copies and fills;
 * - the first time a buffer appears in the journal after a synchronization
 *   point, the queue reads it back to the host before the operation (one
 *   device-to-host read of the whole buffer per buffer per interval; none
 *   when the operation is a write or fill of the whole buffer);
 * - on the fault, every buffer in the journal moves to the CPU device (the
 *   caller's kiln_buffer handles keep working and now belong to the CPU:
 *   other queues of the failed device can no longer use them), each
 *   journaled kernel is rebuilt for the CPU from its source and options
 *   (programs built on devices other than the CPU keep a copy of their
 *   source for this), and the journal is replayed in order;
 * - later work on the queue runs on the CPU (kernels are mapped to their CPU
 *   builds; buffers must be ones the queue moved or CPU buffers);
 * - the fallback is logged through the context's log callback and, when
 *   governed with an audit log, recorded as "queue.fallback";
 * - kiln_queue_get_info and kiln_event_get_info tell where work ran.
 * Refused (the fault is returned): a context without a CPU device, a buffer
 * in the unsynchronized journal of another fallback queue
 * (KILN_ERR_UNSUPPORTED at the operation that would share it), a read of a
 * buffer the queue had not used since its last synchronization point (its
 * contents were on the failed device). On a CPU device the flag is accepted
 * and does nothing (there is nowhere to fall back to). */
#define KILN_QUEUE_CPU_FALLBACK 0x1u

typedef struct kiln_queue_options {
    uint32_t size;          /* sizeof(kiln_queue_options) */
    kiln_priority priority; /* as kiln_queue_create's */
    uint32_t flags;         /* KILN_QUEUE_CPU_FALLBACK or 0 */
} kiln_queue_options;

/* A queue on dev as opts say. An unknown flag or a wrong size is
 * KILN_ERR_INVALID_ARG. */
KILN_API kiln_status kiln_queue_create_with(kiln_device *dev, const kiln_queue_options *opts,
                                            kiln_queue **out);

/* Where a queue's work runs and, for a KILN_QUEUE_CPU_FALLBACK queue, how
 * much ran where (zero counts on other queues). */
typedef struct kiln_queue_info {
    uint32_t size;               /* set by the caller: sizeof(kiln_queue_info) */
    kiln_backend backend;        /* where its work runs now */
    uint32_t backend_index;
    uint64_t launches_on_device; /* launches the first device ran and kept */
    uint64_t launches_on_cpu;    /* launches run on the CPU after a fallback, re-runs included */
    uint32_t fallbacks;          /* times the queue moved to the CPU (0 or 1) */
} kiln_queue_info;

KILN_API kiln_status kiln_queue_get_info(kiln_queue *q, kiln_queue_info *out);

/* Waits until every command submitted to the queue has finished. A
 * synchronization point for KILN_QUEUE_CPU_FALLBACK. In a governed context
 * it returns the first error among the launches that completed since the
 * previous finish, copy or marker on the queue. */
KILN_API kiln_status kiln_queue_finish(kiln_queue *q);

/* Finishes outstanding work, then releases the queue. NULL is accepted. */
KILN_API void kiln_queue_destroy(kiln_queue *q);

#ifdef __cplusplus
}
#endif

#endif
