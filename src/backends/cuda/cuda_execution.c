/* The execution port on CUDA: non-blocking streams with priorities,
 * cuLaunchKernel, timing events, and health with recovery after a fault. */
#include <stdlib.h>

#include "../../util/fail.h"
#include "cuda_internal.h"

/* Launches with at most this many arguments build their tables on the
 * stack. */
#define CUDA_STACK_ARGS 32u
#define CUDA_NS_PER_MS 1000000.0

static kiln_status cuda_stream_create(port_device *dev, int priority, port_stream **out)
{
    /* A new stream is where a caller starts over after a fault. */
    if (atomic_load(&dev->faulted) && cuda_device_recover(dev) != KILN_HEALTH_HEALTHY)
        return util_fail(KILN_ERR_DEVICE_LOST, "cuda: device %d faulted and could not be reset",
                         dev->ordinal);
    /* Greater priority is a smaller number in CUDA: least is e.g. 0 and
     * greatest -5; normal is the middle of the range. */
    int cuda_priority = (dev->priority_least + dev->priority_greatest) / 2;
    if (priority < KILN_PRIORITY_NORMAL)
        cuda_priority = dev->priority_least;
    else if (priority > KILN_PRIORITY_NORMAL)
        cuda_priority = dev->priority_greatest;
    port_stream *s = malloc(sizeof *s);
    if (!s)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "cuda: no memory for a stream");
    unsigned generation = atomic_load(&dev->generation);
    kiln_status st = cuda_enter(dev, generation, "stream");
    if (st == KILN_OK) {
        st = cuda_check(dev, cuda_driver.StreamCreateWithPriority(&s->stream,
                                                                  CU_STREAM_NON_BLOCKING,
                                                                  cuda_priority),
                        "cuStreamCreateWithPriority");
        cuda_leave(dev);
    }
    if (st != KILN_OK) {
        free(s);
        return st;
    }
    s->dev = dev;
    s->generation = generation;
    *out = s;
    return KILN_OK;
}

static void cuda_stream_destroy(port_stream *s)
{
    if (!s)
        return;
    if (cuda_enter_release(s->dev, s->generation)) {
        /* Waits for nothing: the driver finishes queued work first. */
        cuda_driver.StreamDestroy(s->stream);
        cuda_leave(s->dev);
    }
    free(s);
}

/* Creates an event and records it on s; the caller has entered. */
static kiln_status cuda_event_at(port_stream *s, port_event **out)
{
    port_event *e = malloc(sizeof *e);
    if (!e)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "cuda: no memory for an event");
    kiln_status st = cuda_check(s->dev, cuda_driver.EventCreate(&e->event, CU_EVENT_DEFAULT),
                                "cuEventCreate");
    if (st != KILN_OK) {
        free(e);
        return st;
    }
    st = cuda_check(s->dev, cuda_driver.EventRecord(e->event, s->stream), "cuEventRecord");
    if (st != KILN_OK) {
        cuda_driver.EventDestroy(e->event);
        free(e);
        return st;
    }
    e->dev = s->dev;
    e->generation = s->generation;
    *out = e;
    return KILN_OK;
}

static kiln_status cuda_launch_shape(const port_device *dev, const port_launch *launch,
                                     unsigned grid[3], unsigned block[3])
{
    if (launch->dims < 1 || launch->dims > 3)
        return util_fail(KILN_ERR_INVALID_RANGE, "cuda: a launch has 1 to 3 dimensions, not %u",
                         launch->dims);
    size_t threads = 1;
    for (unsigned d = 0; d < 3; d++) {
        size_t g = d < launch->dims ? launch->groups[d] : 1;
        size_t l = d < launch->dims ? launch->local[d] : 1;
        if (g == 0 || l == 0)
            return util_fail(KILN_ERR_INVALID_RANGE, "cuda: dimension %u of the launch is empty",
                             d);
        if (g > dev->max_grid[d] || l > dev->max_block[d])
            return util_fail(KILN_ERR_INVALID_RANGE,
                             "cuda: dimension %u: %zu groups of %zu exceed the device's %u "
                             "groups of %u",
                             d, g, l, dev->max_grid[d], dev->max_block[d]);
        threads *= l;
        grid[d] = (unsigned)g;
        block[d] = (unsigned)l;
    }
    if (threads > dev->info.max_work_group_size)
        return util_fail(KILN_ERR_INVALID_RANGE,
                         "cuda: a work-group of %zu items exceeds the device's maximum of %u",
                         threads, dev->info.max_work_group_size);
    return KILN_OK;
}

/* params[i] points at the i-th argument's value: for a buffer, at a slot
 * holding its CUdeviceptr; for a value, at its bytes. */
static kiln_status cuda_build_params(const port_stream *s, const port_launch *launch,
                                     void **params, CUdeviceptr *slots)
{
    for (uint32_t i = 0; i < launch->nargs; i++) {
        const port_arg *arg = &launch->args[i];
        if (arg->mem) {
            if (arg->mem->dev != s->dev)
                return util_fail(KILN_ERR_INVALID_HANDLE,
                                 "cuda: argument %u is a buffer of another device", i);
            if (arg->mem->generation != s->generation)
                return util_fail(KILN_ERR_DEVICE_LOST,
                                 "cuda: argument %u is a buffer from before a device reset", i);
            slots[i] = arg->mem->ptr;
            params[i] = &slots[i];
        } else if (arg->value) {
            params[i] = (void *)arg->value;
        } else {
            return util_fail(KILN_ERR_INVALID_ARG,
                             "cuda: argument %u has neither buffer nor value", i);
        }
    }
    return KILN_OK;
}

static kiln_status cuda_launch_run(port_stream *s, port_function *f, const port_launch *launch,
                                   void **params, CUdeviceptr *slots, port_event **begin,
                                   port_event **end)
{
    unsigned grid[3], block[3];
    kiln_status st = cuda_launch_shape(s->dev, launch, grid, block);
    if (st == KILN_OK)
        st = cuda_build_params(s, launch, params, slots);
    if (st == KILN_OK && f->module->generation != s->generation)
        st = util_fail(KILN_ERR_DEVICE_LOST,
                       "cuda: the kernel '%s' was loaded before a device reset", f->name);
    if (st != KILN_OK || (st = cuda_enter(s->dev, s->generation, "stream")) != KILN_OK)
        return st;
    port_event *b = NULL, *e = NULL;
    if (begin)
        st = cuda_event_at(s, &b);
    if (st == KILN_OK)
        st = cuda_check(s->dev,
                        cuda_driver.LaunchKernel(f->function, grid[0], grid[1], grid[2], block[0],
                                                 block[1], block[2], 0, s->stream, params, NULL),
                        f->name);
    if (st == KILN_OK && end)
        st = cuda_event_at(s, &e);
    if (st != KILN_OK) {
        if (b)
            cuda_driver.EventDestroy(b->event);
        free(b);
        b = NULL;
    }
    cuda_leave(s->dev);
    if (begin)
        *begin = b;
    if (end)
        *end = e;
    return st;
}

static kiln_status cuda_launch(port_stream *s, port_function *f, const port_launch *launch,
                               port_event **begin, port_event **end)
{
    if (!s || !f || !launch)
        return util_fail(KILN_ERR_NULL_HANDLE, "cuda: launch without stream, function or range");
    if (launch->nargs && !launch->args)
        return util_fail(KILN_ERR_NULL_HANDLE, "cuda: launch of %u arguments without them",
                         launch->nargs);
    void *stack_params[CUDA_STACK_ARGS];
    CUdeviceptr stack_slots[CUDA_STACK_ARGS];
    if (launch->nargs <= CUDA_STACK_ARGS)
        return cuda_launch_run(s, f, launch, stack_params, stack_slots, begin, end);
    void **params = calloc(launch->nargs, sizeof *params);
    CUdeviceptr *slots = calloc(launch->nargs, sizeof *slots);
    kiln_status st = params && slots
                         ? cuda_launch_run(s, f, launch, params, slots, begin, end)
                         : util_fail(KILN_ERR_OUT_OF_HOST_MEMORY,
                                     "cuda: no memory for %u arguments", launch->nargs);
    free(params);
    free(slots);
    return st;
}

static kiln_status cuda_synchronize(port_stream *s)
{
    if (!s)
        return util_fail(KILN_ERR_NULL_HANDLE, "cuda: synchronize without a stream");
    kiln_status st = cuda_enter(s->dev, s->generation, "stream");
    if (st != KILN_OK)
        return st;
    st = cuda_check(s->dev, cuda_driver.StreamSynchronize(s->stream), "cuStreamSynchronize");
    cuda_leave(s->dev);
    return st;
}

static kiln_status cuda_event_record(port_stream *s, port_event **out)
{
    if (!s)
        return util_fail(KILN_ERR_NULL_HANDLE, "cuda: event without a stream");
    kiln_status st = cuda_enter(s->dev, s->generation, "stream");
    if (st != KILN_OK)
        return st;
    st = cuda_event_at(s, out);
    cuda_leave(s->dev);
    return st;
}

static kiln_status cuda_event_wait(port_event *e)
{
    if (!e)
        return util_fail(KILN_ERR_NULL_HANDLE, "cuda: wait on no event");
    kiln_status st = cuda_enter(e->dev, e->generation, "event");
    if (st != KILN_OK)
        return st;
    st = cuda_check(e->dev, cuda_driver.EventSynchronize(e->event), "cuEventSynchronize");
    cuda_leave(e->dev);
    return st;
}

static kiln_status cuda_event_elapsed_ns(port_event *a, port_event *b, uint64_t *ns)
{
    if (!a || !b)
        return util_fail(KILN_ERR_NULL_HANDLE, "cuda: elapsed time needs two events");
    if (a->dev != b->dev || a->generation != b->generation)
        return util_fail(KILN_ERR_INVALID_ARG, "cuda: the events are of different contexts");
    kiln_status st = cuda_enter(a->dev, a->generation, "event");
    if (st != KILN_OK)
        return st;
    float ms = 0.0f;
    st = cuda_check(a->dev, cuda_driver.EventSynchronize(a->event), "cuEventSynchronize");
    if (st == KILN_OK)
        st = cuda_check(a->dev, cuda_driver.EventSynchronize(b->event), "cuEventSynchronize");
    if (st == KILN_OK)
        st = cuda_check(a->dev, cuda_driver.EventElapsedTime(&ms, a->event, b->event),
                        "cuEventElapsedTime");
    cuda_leave(a->dev);
    if (st != KILN_OK)
        return st;
    if (ms < 0.0f)
        return util_fail(KILN_ERR_INVALID_ARG,
                         "cuda: the end event completed %.6f ms before the begin event",
                         (double)-ms);
    *ns = (uint64_t)((double)ms * CUDA_NS_PER_MS);
    return KILN_OK;
}

static void cuda_event_release(port_event *e)
{
    if (!e)
        return;
    if (cuda_enter_release(e->dev, e->generation)) {
        cuda_driver.EventDestroy(e->event);
        cuda_leave(e->dev);
    }
    free(e);
}

static kiln_status cuda_health(port_device *dev, kiln_health *out)
{
    /* A faulted device is reset here; LOST only if the reset fails. */
    *out = cuda_device_recover(dev);
    return KILN_OK;
}

const port_execution cuda_execution_ops = {
    .stream_create = cuda_stream_create,
    .stream_destroy = cuda_stream_destroy,
    .launch = cuda_launch,
    .synchronize = cuda_synchronize,
    .event_record = cuda_event_record,
    .event_wait = cuda_event_wait,
    .event_elapsed_ns = cuda_event_elapsed_ns,
    .event_release = cuda_event_release,
    .health = cuda_health,
};
