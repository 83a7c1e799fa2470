/* kiln — events: completion and timing of queued work. */
#ifndef KILN_EVENT_H
#define KILN_EVENT_H

#include "queue.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_event kiln_event;

/* An event that completes when all work submitted to q before it is done. */
KILN_API kiln_status kiln_queue_marker(kiln_queue *q, kiln_event **out);

/* Waits until the work the event marks is done. */
KILN_API kiln_status kiln_event_wait(kiln_event *ev);

/* Nanoseconds from the start of the work start marks to the end of the work
 * end marks, measured on the device. kiln_event_elapsed_ns(e, e, &ns) is the
 * run time of one launch. Waits for both events. */
KILN_API kiln_status kiln_event_elapsed_ns(kiln_event *start, kiln_event *end, uint64_t *ns);

/* Where the work an event marks ran: for a launch on a
 * KILN_QUEUE_CPU_FALLBACK queue whose device faulted, the CPU. */
typedef struct kiln_event_info {
    uint32_t size; /* set by the caller: sizeof(kiln_event_info) */
    kiln_backend backend;
    uint32_t backend_index;
} kiln_event_info;

KILN_API kiln_status kiln_event_get_info(const kiln_event *ev, kiln_event_info *out);

KILN_API void kiln_event_release(kiln_event *ev);

#ifdef __cplusplus
}
#endif

#endif
