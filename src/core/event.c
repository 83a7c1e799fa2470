/* Events: points in a queue with device timestamps. A launch event has a
 * begin and an end point; a marker has one point used as both. */
#include <stdlib.h>

#include "../util/fail.h"
#include "device_open.h"
#include "handles.h"
#include "launch_sched.h"

KILN_API kiln_status kiln_queue_marker(kiln_queue *q, kiln_event **out)
{
    CORE_CHECK(q, CORE_MAGIC_QUEUE, "queue");
    CORE_CHECK_OUT(out, "out");
    *out = NULL;
    kiln_status st = q->scheduled ? launch_sched_drain(q) : KILN_OK;
    if (st != KILN_OK)
        return st;
    kiln_event *ev = calloc(1, sizeof *ev);
    if (!ev)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "no memory for an event");
    pthread_mutex_lock(&q->lock);
    kiln_device *dev = q->dev;
    st = core_device_note(dev, dev->ops->execution->event_record(q->stream, &ev->begin));
    pthread_mutex_unlock(&q->lock);
    if (st != KILN_OK) {
        free(ev);
        return st;
    }
    ev->end = ev->begin;
    ev->queue = q;
    ev->dev = dev;
    ev->magic = CORE_MAGIC_EVENT;
    *out = ev;
    return KILN_OK;
}

KILN_API kiln_status kiln_event_wait(kiln_event *ev)
{
    CORE_CHECK(ev, CORE_MAGIC_EVENT, "event");
    if (ev->launch)
        return launch_sched_event_wait(ev);
    kiln_device *dev = ev->dev;
    return core_device_note(dev, dev->ops->execution->event_wait(ev->end));
}

KILN_API kiln_status kiln_event_elapsed_ns(kiln_event *start, kiln_event *end, uint64_t *ns)
{
    CORE_CHECK(start, CORE_MAGIC_EVENT, "start event");
    CORE_CHECK(end, CORE_MAGIC_EVENT, "end event");
    CORE_CHECK_OUT(ns, "ns");
    if (start->dev != end->dev)
        return util_fail(KILN_ERR_INVALID_ARG, "events of different devices cannot be compared");
    kiln_device *dev = start->dev;
    port_event *begin = start->begin, *unused, *finish = end->end;
    kiln_status st = KILN_OK;
    /* A scheduled launch has its points only once it ran. */
    if (start->launch && (st = launch_sched_event_points(start, &begin, &unused)) != KILN_OK)
        return st;
    if (end->launch && (st = launch_sched_event_points(end, &unused, &finish)) != KILN_OK)
        return st;
    return core_device_note(dev, dev->ops->execution->event_elapsed_ns(begin, finish, ns));
}

KILN_API void kiln_event_release(kiln_event *ev)
{
    if (!ev || ev->magic != CORE_MAGIC_EVENT)
        return;
    const port_execution *ex = ev->dev->ops->execution;
    if (ev->launch)
        launch_sched_event_release(ev);
    if (ev->begin && ev->begin != ev->end)
        ex->event_release(ev->begin);
    if (ev->end)
        ex->event_release(ev->end);
    ev->magic = CORE_MAGIC_RELEASED;
    free(ev);
}

KILN_API kiln_status kiln_event_get_info(const kiln_event *ev, kiln_event_info *out)
{
    CORE_CHECK(ev, CORE_MAGIC_EVENT, "event");
    CORE_CHECK_OUT(out, "out");
    CORE_CHECK_SIZE(out, "kiln_event_info");
    out->backend = ev->dev->info.backend;
    out->backend_index = ev->dev->info.backend_index;
    return KILN_OK;
}
