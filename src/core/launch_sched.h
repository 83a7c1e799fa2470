/* The schedule stage of a governed context (DESIGN.md section 3): every
 * queue's launches go through the scheduler of its base device
 * (src/govern/sched.h) instead of straight to the stream. A launch becomes
 * a heap record that owns everything the launch needs until it completes
 * (its arguments, its quota reservation, the begin/end events that measure
 * it), because the caller's memory may be gone by the time it starts.
 * Ungoverned contexts never come here. */
#ifndef KILN_CORE_LAUNCH_SCHED_H
#define KILN_CORE_LAUNCH_SCHED_H

#include "core_types.h"

/* The scheduler of one base device, made with its first governed queue.
 * lock and finished also serve the waits of events for their launch. */
typedef struct core_sched_device {
    sched *engine;
    pthread_mutex_t lock;
    pthread_cond_t finished; /* broadcast whenever a scheduled launch completes */
} core_sched_device;

/* Opens q's scheduler queue (class: q's priority; principal: the device's;
 * weight 1), creating the base device's scheduler on first use. */
kiln_status launch_sched_queue_open(kiln_queue *q);

/* Authorizes, reserves {launches = 1}, records and submits one launch.
 * shape->args are the converted arguments of args (args_check); they and
 * any by-value payloads are copied. Returns at once: refusals by the policy
 * or a quota, or a launch that could not be queued. */
kiln_status launch_sched_submit(kiln_queue *q, kiln_kernel *k, const port_launch *shape,
                                const kiln_arg *args, kiln_event **event);

/* What the copies, markers and kiln_queue_finish of a scheduled queue call
 * first, so that the queue's order holds: waits for its launches and
 * returns the first error among them. */
kiln_status launch_sched_drain(kiln_queue *q);

/* Waits until no scheduled launch uses buf (kiln_buffer_release). */
void launch_sched_buffer_wait(kiln_buffer *buf);

/* The events of a scheduled launch: wait until it completed, then give its
 * begin and end points. */
kiln_status launch_sched_event_wait(kiln_event *ev);
kiln_status launch_sched_event_points(kiln_event *ev, port_event **begin, port_event **end);
void launch_sched_event_release(kiln_event *ev);

/* Stops dev's scheduler (its queued launches complete or are cancelled)
 * and frees it; before governance closes, since completions charge quotas.
 * Nothing to do for a device that never had a governed queue. */
void launch_sched_device_close(kiln_device *dev);

#endif
