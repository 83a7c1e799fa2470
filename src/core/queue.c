/* Queues: one port stream each, serialized by a mutex so that a queue may
 * be shared between threads. */
#include <stdlib.h>

#include "../util/fail.h"
#include "device_open.h"
#include "handles.h"
#include "fallback.h"
#include "launch_sched.h"
#include "pipeline.h"
#include "session.h"
#include "submit.h"

KILN_API kiln_status kiln_queue_create(kiln_device *dev, kiln_priority priority, kiln_queue **out)
{
    kiln_queue_options opts = { .size = sizeof opts, .priority = priority, .flags = 0 };
    return kiln_queue_create_with(dev, &opts, out);
}

KILN_API kiln_status kiln_queue_create_with(kiln_device *dev, const kiln_queue_options *opts,
                                            kiln_queue **out)
{
    CORE_CHECK(dev, CORE_MAGIC_DEVICE, "device");
    CORE_CHECK_OUT(out, "out");
    *out = NULL;
    if (!opts)
        return util_fail(KILN_ERR_NULL_HANDLE, "queue options are NULL");
    CORE_CHECK_SIZE(opts, "kiln_queue_options");
    if (opts->flags & ~KILN_QUEUE_CPU_FALLBACK)
        return util_fail(KILN_ERR_INVALID_ARG, "unknown queue flags 0x%x", opts->flags);
    kiln_priority priority = opts->priority;
    if (priority < KILN_PRIORITY_LOW || priority > KILN_PRIORITY_HIGH)
        return util_fail(KILN_ERR_INVALID_ARG, "priority %d is not a kiln_priority", (int)priority);
    kiln_status st = core_device_usable(dev);
    if (st != KILN_OK)
        return st;
    /* A queue is how work reaches a device: using the device is authorized
     * here, and a priority above normal needs queue.priority as well. */
    core_request use = { .action = CORE_ACTION_DEVICE_USE, .device = dev, .priority = priority };
    if ((st = pipeline_authorize(&use)) != KILN_OK)
        return st;
    pipeline_forget(&use);
    core_request raise = { .action = CORE_ACTION_QUEUE_PRIORITY, .device = dev,
                           .priority = priority };
    if (priority > KILN_PRIORITY_NORMAL) {
        if ((st = pipeline_authorize(&raise)) != KILN_OK)
            return st;
        pipeline_forget(&raise);
    }
    kiln_queue *q = calloc(1, sizeof *q);
    if (!q)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "no memory for a queue");
    st = core_device_note(dev,
                          dev->ops->execution->stream_create(dev->port, (int)priority, &q->stream));
    if (st != KILN_OK) {
        free(q);
        return st;
    }
    if ((opts->flags & KILN_QUEUE_CPU_FALLBACK) && (st = fallback_attach(q, dev)) != KILN_OK) {
        dev->ops->execution->stream_destroy(q->stream);
        free(q);
        return st;
    }
    pthread_mutex_init(&q->lock, NULL);
    q->dev = dev;
    q->priority = priority;
    if (dev->ctx->gov && (st = launch_sched_queue_open(q)) != KILN_OK) {
        dev->ops->execution->stream_destroy(q->stream);
        if (q->fallback)
            fallback_detach(q);
        pthread_mutex_destroy(&q->lock);
        free(q);
        return st;
    }
    q->magic = CORE_MAGIC_QUEUE;
    session_object_made(dev);
    *out = q;
    return KILN_OK;
}

KILN_API kiln_status kiln_queue_finish(kiln_queue *q)
{
    CORE_CHECK(q, CORE_MAGIC_QUEUE, "queue");
    if (q->fallback)
        return fallback_queue_finish(q);
    return core_queue_finish(q);
}

kiln_status core_queue_finish(kiln_queue *q)
{
    if (q->scheduled) {
        kiln_status drained = launch_sched_drain(q);
        if (drained != KILN_OK)
            return drained;
    }
    pthread_mutex_lock(&q->lock);
    kiln_status st = q->dev->ops->execution->synchronize(q->stream);
    pthread_mutex_unlock(&q->lock);
    st = core_device_note(q->dev, st);
    return st;
}

KILN_API void kiln_queue_destroy(kiln_queue *q)
{
    if (!q || q->magic != CORE_MAGIC_QUEUE)
        return;
    sched_queue_close(q->scheduled); /* its launches complete first */
    pthread_mutex_lock(&q->lock);
    /* Nobody is told, but a fault met while draining is the device's all
     * the same: it degrades the device and is recorded. */
    (void)core_device_note(q->dev, q->dev->ops->execution->synchronize(q->stream));
    q->dev->ops->execution->stream_destroy(q->stream);
    q->magic = CORE_MAGIC_RELEASED;
    session_object_gone(q->dev);
    pthread_mutex_unlock(&q->lock);
    if (q->fallback)
        fallback_detach(q);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

KILN_API kiln_status kiln_queue_get_info(kiln_queue *q, kiln_queue_info *out)
{
    CORE_CHECK(q, CORE_MAGIC_QUEUE, "queue");
    CORE_CHECK_OUT(out, "out");
    CORE_CHECK_SIZE(out, "kiln_queue_info");
    fallback_info(q, out);
    return KILN_OK;
}
