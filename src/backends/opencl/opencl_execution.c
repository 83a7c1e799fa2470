/* The execution port on OpenCL. A stream is an in-order command queue with
 * profiling; a launch is clEnqueueNDRangeKernel; an event is a cl_event and
 * which of its profiling timestamps it stands for (README.md, event model).
 * Launches are tracked until the stream sees them complete so that a
 * kernel that fails on the device is reported at the next synchronize. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../util/fail.h"
#include "opencl_internal.h"

/* The value the health probe writes and reads back. */
#define OPENCL_PROBE_PATTERN 0x6b696c6eu

/* The status of a command that finished with error code err (< 0). */
static kiln_status opencl_command_status(cl_int err)
{
    /* A kernel that ran out of resources (CL_OUT_OF_RESOURCES) or failed
     * otherwise while running is a fault of that kernel; memory that could
     * not be allocated on first use, on the device or the host, stays that. */
    if (err == CL_MEM_OBJECT_ALLOCATION_FAILURE)
        return KILN_ERR_OUT_OF_MEMORY;
    if (err == CL_OUT_OF_HOST_MEMORY)
        return KILN_ERR_OUT_OF_HOST_MEMORY;
    return KILN_ERR_DEVICE_FAULT;
}

/* CL_EVENT_COMMAND_EXECUTION_STATUS: CL_COMPLETE (0), a later stage (> 0)
 * or the error the command ended with (< 0). */
static cl_int opencl_event_state(cl_event event)
{
    cl_int state = CL_COMPLETE;
    cl_int err = opencl_api.GetEventInfo(event, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof state,
                                         &state, NULL);
    return err == CL_SUCCESS ? state : err;
}

/* Under s->lock: remembers the first failure among the pending launches. */
static void opencl_note_fault(port_stream *s, const opencl_pending *p, cl_int state)
{
    if (s->fault != KILN_OK)
        return;
    s->fault = opencl_command_status(state);
    snprintf(s->fault_detail, sizeof s->fault_detail, "opencl: kernel '%s' failed: %s (%d)",
             p->kernel, opencl_error_name(state), (int)state);
}

/* Under s->lock: drops the pending launches that have completed, noting
 * any that failed. With wait_all, waits for every one first. */
static void opencl_prune(port_stream *s, int wait_all)
{
    size_t kept = 0;
    for (size_t i = 0; i < s->pending_count; i++) {
        opencl_pending *p = &s->pending[i];
        if (wait_all)
            opencl_api.WaitForEvents(1, &p->event);
        cl_int state = opencl_event_state(p->event);
        if (state > CL_COMPLETE) {
            s->pending[kept++] = *p;
            continue;
        }
        if (state < 0)
            opencl_note_fault(s, p, state);
        opencl_api.ReleaseEvent(p->event);
    }
    s->pending_count = kept;
}

/* Adds a launch's event to the pending list; takes over its reference. */
static void opencl_track(port_stream *s, cl_event event, const char *kernel)
{
    pthread_mutex_lock(&s->lock);
    if (s->pending_count == s->pending_capacity)
        opencl_prune(s, 0);
    if (s->pending_count == OPENCL_PENDING_MAX) {
        /* Let the device catch up with the older half. */
        opencl_api.WaitForEvents(1, &s->pending[OPENCL_PENDING_MAX / 2].event);
        opencl_prune(s, 0);
    }
    if (s->pending_count == s->pending_capacity) {
        size_t capacity = s->pending_capacity ? 2 * s->pending_capacity : 16;
        opencl_pending *grown = realloc(s->pending, capacity * sizeof *grown);
        if (grown) {
            s->pending = grown;
            s->pending_capacity = capacity;
        } else {
            /* No host memory to track it: wait for everything instead. */
            opencl_prune(s, 1);
        }
    }
    if (s->pending_count < s->pending_capacity) {
        opencl_pending *p = &s->pending[s->pending_count++];
        p->event = event;
        snprintf(p->kernel, sizeof p->kernel, "%.*s", (int)sizeof p->kernel - 1, kernel);
    } else {
        opencl_api.WaitForEvents(1, &event);
        opencl_api.ReleaseEvent(event);
    }
    pthread_mutex_unlock(&s->lock);
}

static kiln_status opencl_stream_create(port_device *dev, int priority, port_stream **out)
{
    port_stream *s = calloc(1, sizeof *s);
    if (!s)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "opencl: no memory for a stream");
    cl_int err = CL_SUCCESS;
    s->queue = opencl_api.CreateCommandQueue(dev->context, dev->id, CL_QUEUE_PROFILING_ENABLE, &err);
    if (!s->queue) {
        free(s);
        return opencl_fail(opencl_status(err) == KILN_ERR_OUT_OF_HOST_MEMORY
                               ? KILN_ERR_OUT_OF_HOST_MEMORY
                               : KILN_ERR_DEVICE,
                           err, "clCreateCommandQueue on %s", dev->info.name);
    }
    s->dev = dev;
    s->priority = priority;
    s->fault = KILN_OK;
    pthread_mutex_init(&s->lock, NULL);
    *out = s;
    return KILN_OK;
}

static void opencl_stream_destroy(port_stream *s)
{
    if (!s)
        return;
    opencl_api.Finish(s->queue);
    for (size_t i = 0; i < s->pending_count; i++)
        opencl_api.ReleaseEvent(s->pending[i].event);
    free(s->pending);
    opencl_api.ReleaseCommandQueue(s->queue);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* The global and local sizes of the launch, checked against the device's
 * and the kernel's limits. */
static kiln_status opencl_shape(const port_stream *s, const port_function *f,
                                const port_launch *launch, size_t global[3], size_t local[3])
{
    if (launch->dims < 1 || launch->dims > 3)
        return util_fail(KILN_ERR_INVALID_RANGE, "opencl: a launch has 1 to 3 dimensions, not %u",
                         launch->dims);
    size_t items = 1;
    for (unsigned d = 0; d < launch->dims; d++) {
        size_t g = launch->groups[d], l = launch->local[d];
        if (g == 0 || l == 0)
            return util_fail(KILN_ERR_INVALID_RANGE,
                             "opencl: dimension %u of the launch is empty", d);
        if (g > SIZE_MAX / l)
            return util_fail(KILN_ERR_INVALID_RANGE,
                             "opencl: dimension %u: %zu groups of %zu items overflow", d, g, l);
        if (l > s->dev->max_item_sizes[d])
            return util_fail(KILN_ERR_INVALID_RANGE,
                             "opencl: local size %zu of dimension %u exceeds the device's %zu",
                             l, d, s->dev->max_item_sizes[d]);
        items *= l;
        global[d] = g * l;
        local[d] = l;
    }
    if (items > f->work_group_limit)
        return util_fail(KILN_ERR_INVALID_RANGE,
                         "opencl: a work-group of %zu items exceeds the limit of %zu for kernel "
                         "'%s' on %s",
                         items, f->work_group_limit, f->name, s->dev->info.name);
    return KILN_OK;
}

/* Under f->lock: sets every argument of f's kernel. */
static kiln_status opencl_set_args(port_function *f, const port_launch *launch)
{
    for (cl_uint i = 0; i < launch->nargs; i++) {
        const port_arg *arg = &launch->args[i];
        cl_int err;
        if (arg->mem)
            err = opencl_api.SetKernelArg(f->kernel, i, sizeof arg->mem->mem, &arg->mem->mem);
        else if (arg->value)
            /* arg->size is the emitted parameter's size (a bool is a uchar). */
            err = opencl_api.SetKernelArg(f->kernel, i, arg->size, arg->value);
        else
            return util_fail(KILN_ERR_INVALID_ARG,
                             "opencl: argument %u of '%s' has neither buffer nor value", i,
                             f->name);
        if (err != CL_SUCCESS)
            return opencl_fail(KILN_ERR_INVALID_ARG, err, "argument %u of '%s' (%zu bytes)", i,
                               f->name, arg->mem ? sizeof arg->mem->mem : arg->size);
    }
    return KILN_OK;
}

/* The status of a launch the runtime refused to queue. */
static kiln_status opencl_enqueue_status(cl_int err)
{
    kiln_status st = opencl_status(err);
    /* At enqueue time CL_OUT_OF_RESOURCES means the kernel cannot be run
     * as asked (registers, local memory); no kernel has faulted. */
    return err == CL_OUT_OF_RESOURCES ? KILN_ERR_DEVICE : st;
}

static kiln_status opencl_event_new(cl_profiling_info point, port_event **out)
{
    *out = malloc(sizeof **out);
    if (!*out)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "opencl: no memory for an event");
    (*out)->event = NULL;
    (*out)->point = point;
    return KILN_OK;
}

static kiln_status opencl_launch(port_stream *s, port_function *f, const port_launch *launch,
                                 port_event **begin, port_event **end)
{
    if (!s || !f || !launch)
        return util_fail(KILN_ERR_NULL_HANDLE, "opencl: launch without stream, function or range");
    if (launch->nargs && !launch->args)
        return util_fail(KILN_ERR_NULL_HANDLE, "opencl: launch of %u arguments without them",
                         launch->nargs);
    if (launch->nargs != f->arg_count)
        return util_fail(KILN_ERR_INVALID_ARG, "opencl: kernel '%s' takes %u arguments, not %u",
                         f->name, f->arg_count, launch->nargs);
    size_t global[3], local[3];
    kiln_status st = opencl_shape(s, f, launch, global, local);
    /* Events are made before the launch so that a failure leaves nothing
     * half done. */
    port_event *b = NULL, *e = NULL;
    if (st == KILN_OK && begin)
        st = opencl_event_new(CL_PROFILING_COMMAND_START, &b);
    if (st == KILN_OK && end)
        st = opencl_event_new(CL_PROFILING_COMMAND_END, &e);
    cl_event event = NULL;
    if (st == KILN_OK) {
        pthread_mutex_lock(&f->lock);
        st = opencl_set_args(f, launch);
        cl_int err = CL_SUCCESS;
        if (st == KILN_OK)
            err = opencl_api.EnqueueNDRangeKernel(s->queue, f->kernel, launch->dims, NULL, global,
                                                  local, 0, NULL, &event);
        pthread_mutex_unlock(&f->lock);
        if (st == KILN_OK && err != CL_SUCCESS)
            st = opencl_fail(opencl_enqueue_status(err), err, "clEnqueueNDRangeKernel of '%s'",
                             f->name);
    }
    if (st != KILN_OK) {
        free(b);
        free(e);
        return st;
    }
    /* The begin and end events share the launch's cl_event, each with its
     * own reference; the pending list keeps the one enqueue gave. */
    if (b) {
        opencl_api.RetainEvent(event);
        b->event = event;
        *begin = b;
    }
    if (e) {
        opencl_api.RetainEvent(event);
        e->event = event;
        *end = e;
    }
    opencl_track(s, event, f->name);
    return KILN_OK;
}

static kiln_status opencl_synchronize(port_stream *s)
{
    cl_int err = opencl_api.Finish(s->queue);
    pthread_mutex_lock(&s->lock);
    opencl_prune(s, 1);
    kiln_status st = s->fault;
    char detail[sizeof s->fault_detail];
    memcpy(detail, s->fault_detail, sizeof detail);
    s->fault = KILN_OK;
    pthread_mutex_unlock(&s->lock);
    if (st != KILN_OK)
        return util_fail(st, "%s", detail);
    if (err != CL_SUCCESS)
        return opencl_fail(opencl_command_status(err), err, "clFinish");
    return KILN_OK;
}

static kiln_status opencl_event_record(port_stream *s, port_event **out)
{
    port_event *e = NULL;
    kiln_status st = opencl_event_new(CL_PROFILING_COMMAND_END, &e);
    if (st != KILN_OK)
        return st;
    /* With no wait list the marker completes when every earlier command of
     * the in-order queue has; its end time is this point of the stream. */
    cl_int err = opencl_api.EnqueueMarkerWithWaitList(s->queue, 0, NULL, &e->event);
    if (err != CL_SUCCESS) {
        free(e);
        return opencl_fail(opencl_enqueue_status(err), err, "clEnqueueMarkerWithWaitList");
    }
    *out = e;
    return KILN_OK;
}

static kiln_status opencl_event_wait(port_event *e)
{
    if (!e)
        return util_fail(KILN_ERR_NULL_HANDLE, "opencl: wait on no event");
    cl_int err = opencl_api.WaitForEvents(1, &e->event);
    cl_int state = opencl_event_state(e->event);
    if (state < 0)
        return opencl_fail(opencl_command_status(state), state, "the awaited command failed");
    if (err != CL_SUCCESS)
        return opencl_fail(opencl_command_status(err), err, "clWaitForEvents");
    return KILN_OK;
}

static kiln_status opencl_event_time(port_event *e, cl_ulong *ns)
{
    kiln_status st = opencl_event_wait(e);
    if (st != KILN_OK)
        return st;
    cl_int err = opencl_api.GetEventProfilingInfo(e->event, e->point, sizeof *ns, ns, NULL);
    if (err != CL_SUCCESS)
        return opencl_fail(err == CL_PROFILING_INFO_NOT_AVAILABLE ? KILN_ERR_UNSUPPORTED
                                                                  : KILN_ERR_DEVICE,
                           err, "clGetEventProfilingInfo");
    return KILN_OK;
}

static kiln_status opencl_event_elapsed_ns(port_event *a, port_event *b, uint64_t *ns)
{
    if (!a || !b)
        return util_fail(KILN_ERR_NULL_HANDLE, "opencl: elapsed time needs two events");
    cl_ulong ta = 0, tb = 0;
    kiln_status st = opencl_event_time(a, &ta);
    if (st == KILN_OK)
        st = opencl_event_time(b, &tb);
    if (st != KILN_OK)
        return st;
    if (tb < ta)
        return util_fail(KILN_ERR_INVALID_ARG,
                         "opencl: the end event is %llu ns before the begin event",
                         (unsigned long long)(ta - tb));
    *ns = tb - ta;
    return KILN_OK;
}

static void opencl_event_release(port_event *e)
{
    if (!e)
        return;
    if (e->event)
        opencl_api.ReleaseEvent(e->event);
    free(e);
}

/* Under dev->probe_lock: writes a word to a fresh buffer and reads it back. */
static int opencl_probe(port_device *dev)
{
    cl_int err = CL_SUCCESS;
    if (!dev->probe_queue)
        dev->probe_queue = opencl_api.CreateCommandQueue(dev->context, dev->id, 0, &err);
    if (!dev->probe_queue)
        return 0;
    const cl_uint want = OPENCL_PROBE_PATTERN;
    cl_uint got = 0;
    cl_mem mem = opencl_api.CreateBuffer(dev->context, CL_MEM_READ_WRITE, sizeof want, NULL, &err);
    if (!mem)
        return 0;
    err = opencl_api.EnqueueWriteBuffer(dev->probe_queue, mem, CL_TRUE, 0, sizeof want, &want, 0,
                                        NULL, NULL);
    if (err == CL_SUCCESS)
        err = opencl_api.EnqueueReadBuffer(dev->probe_queue, mem, CL_TRUE, 0, sizeof got, &got, 0,
                                           NULL, NULL);
    opencl_api.ReleaseMemObject(mem);
    return err == CL_SUCCESS && got == want;
}

static kiln_status opencl_health(port_device *dev, kiln_health *out)
{
    cl_bool available = CL_FALSE;
    if (opencl_api.GetDeviceInfo(dev->id, CL_DEVICE_AVAILABLE, sizeof available, &available,
                                 NULL) != CL_SUCCESS ||
        !available) {
        *out = KILN_HEALTH_LOST;
        return KILN_OK;
    }
    /* Available is only what the driver believes: a round trip through
     * device memory shows the device still does work. */
    pthread_mutex_lock(&dev->probe_lock);
    int works = opencl_probe(dev);
    pthread_mutex_unlock(&dev->probe_lock);
    *out = works ? KILN_HEALTH_HEALTHY : KILN_HEALTH_DEGRADED;
    return KILN_OK;
}

const port_execution opencl_execution_ops = {
    .stream_create = opencl_stream_create,
    .stream_destroy = opencl_stream_destroy,
    .launch = opencl_launch,
    .synchronize = opencl_synchronize,
    .event_record = opencl_event_record,
    .event_wait = opencl_event_wait,
    .event_elapsed_ns = opencl_event_elapsed_ns,
    .event_release = opencl_event_release,
    .health = opencl_health,
};
