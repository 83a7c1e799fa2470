/* Queues: one port stream each, serialized by a mutex so that a queue may
 * be shared between threads. */
#include <stdlib.h>

#include "../util/fail.h"
#include "device_open.h"
#include "handles.h"
#include "launch_sched.h"
#include "pipeline.h"

KILN_API kiln_status kiln_queue_create(kiln_device *dev, kiln_priority priority, kiln_queue **out)
{
    CORE_CHECK(dev, CORE_MAGIC_DEVICE, "device");
    CORE_CHECK_OUT(out, "out");
    *out = NULL;
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
    pthread_mutex_init(&q->lock, NULL);
    q->dev = dev;
    q->priority = priority;
    if (dev->ctx->gov && (st = launch_sched_queue_open(q)) != KILN_OK) {
        dev->ops->execution->stream_destroy(q->stream);
        pthread_mutex_destroy(&q->lock);
        free(q);
        return st;
    }
    q->magic = CORE_MAGIC_QUEUE;
    *out = q;
    return KILN_OK;
}

KILN_API kiln_status kiln_queue_finish(kiln_queue *q)
{
    CORE_CHECK(q, CORE_MAGIC_QUEUE, "queue");
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
    q->dev->ops->execution->synchronize(q->stream);
    q->dev->ops->execution->stream_destroy(q->stream);
    q->magic = CORE_MAGIC_RELEASED;
    pthread_mutex_unlock(&q->lock);
    pthread_mutex_destroy(&q->lock);
    free(q);
}
