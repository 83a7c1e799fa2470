/* The execution port: streams, launches, events, health. */
#ifndef KILN_EXECUTION_PORT_H
#define KILN_EXECUTION_PORT_H

#include "port_types.h"

/* One launch argument as the adapter receives it: either a buffer (mem) or
 * a value of size bytes. */
typedef struct port_arg {
    port_mem *mem;     /* non-NULL for a buffer parameter */
    const void *value; /* the value's bytes for a by-value parameter */
    size_t size;       /* bytes of the value */
} port_arg;

typedef struct port_launch {
    uint32_t dims;       /* 1..3 */
    size_t groups[3];    /* number of work-groups per dimension (>= 1) */
    size_t local[3];     /* work-group size per dimension (>= 1) */
    const port_arg *args;
    uint32_t nargs;
} port_launch;

typedef struct port_execution {
    /* priority: kiln_priority, mapped onto the backend's stream priorities. */
    kiln_status (*stream_create)(port_device *dev, int priority, port_stream **out);
    void (*stream_destroy)(port_stream *s);
    /* Queues the launch. If begin/end are non-NULL they receive events that
     * mark the start and the end of the kernel. A kernel that faults returns
     * KILN_ERR_DEVICE_FAULT here or at the next synchronize. */
    kiln_status (*launch)(port_stream *s, port_function *f, const port_launch *launch,
                          port_event **begin, port_event **end);
    kiln_status (*synchronize)(port_stream *s);
    /* An event at the current end of the stream. */
    kiln_status (*event_record)(port_stream *s, port_event **out);
    kiln_status (*event_wait)(port_event *e);
    /* Device time from a to b in nanoseconds; waits for both. */
    kiln_status (*event_elapsed_ns)(port_event *a, port_event *b, uint64_t *ns);
    void (*event_release)(port_event *e);
    kiln_status (*health)(port_device *dev, kiln_health *out);
} port_execution;

#endif
