/* kiln_launch: check the range and the arguments, then take the launch
 * path of pipeline.h to the adapter. */
#include <stdlib.h>

#include "../util/fail.h"
#include "args.h"
#include "device_open.h"
#include "handles.h"
#include "fallback.h"
#include "launch_sched.h"
#include "owner.h"
#include "pipeline.h"
#include "submit.h"

/* Arguments up to this count are converted on the stack; more go to the heap. */
#define LAUNCH_STACK_ARGS 32
/* global_id() is a uint in the language, so a rounded global size must fit. */
#define LAUNCH_MAX_GLOBAL 0xffffffffull
/* Work-group sizes kiln picks when the caller leaves local at zero. The CPU
 * runs a group's items as one loop, so larger groups cost nothing there and
 * amortize dispatch; GPUs are best served by 256 items (8 warps). */
#define LAUNCH_DEFAULT_LOCAL_GPU 256u
#define LAUNCH_DEFAULT_LOCAL_CPU 1024u
#define LAUNCH_DEFAULT_LOCAL_2D 16u
#define LAUNCH_DEFAULT_LOCAL_3D_XY 8u
#define LAUNCH_DEFAULT_LOCAL_3D_Z 4u

static size_t launch_min(size_t a, size_t b)
{
    return a < b ? a : b;
}

static void launch_choose_local(size_t max, const kiln_range *r, size_t local[3], int is_cpu)
{
    local[0] = local[1] = local[2] = 1;
    if (r->dims == 1) {
        size_t pick = is_cpu ? LAUNCH_DEFAULT_LOCAL_CPU : LAUNCH_DEFAULT_LOCAL_GPU;
        local[0] = launch_min(launch_min(pick, max), r->global[0]);
    } else if (r->dims == 2) {
        local[0] = launch_min(LAUNCH_DEFAULT_LOCAL_2D, r->global[0]);
        local[1] = launch_min(LAUNCH_DEFAULT_LOCAL_2D, r->global[1]);
    } else {
        local[0] = launch_min(LAUNCH_DEFAULT_LOCAL_3D_XY, r->global[0]);
        local[1] = launch_min(LAUNCH_DEFAULT_LOCAL_3D_XY, r->global[1]);
        local[2] = launch_min(LAUNCH_DEFAULT_LOCAL_3D_Z, r->global[2]);
    }
    /* Halve the largest dimension until the group fits (max >= 1, so this
     * ends at 1 x 1 x 1 at the latest). */
    while (local[0] * local[1] * local[2] > max) {
        int d = local[0] >= local[1] ? 0 : 1;
        if (local[2] > local[d])
            d = 2;
        local[d] = (local[d] + 1) / 2;
    }
}

static kiln_status launch_shape(const kiln_device *dev, const kiln_kernel *k, const kiln_range *r,
                                port_launch *out)
{
    size_t max = k->max_group;
    if (r->dims < 1 || r->dims > 3)
        return util_fail(KILN_ERR_INVALID_RANGE, "range has %u dimensions; 1 to 3 are allowed", r->dims);
    size_t local[3] = { 1, 1, 1 };
    int chosen = r->local[0] == 0 && r->local[1] == 0 && r->local[2] == 0;
    for (uint32_t d = 0; d < r->dims; d++) {
        if (r->global[d] == 0)
            return util_fail(KILN_ERR_INVALID_RANGE, "global size of dimension %u is zero", d);
        if (!chosen && r->local[d] == 0)
            return util_fail(KILN_ERR_INVALID_RANGE,
                             "local size of dimension %u is zero while another is set", d);
    }
    if (chosen)
        launch_choose_local(max, r, local, dev->info.backend == KILN_BACKEND_CPU);
    else
        for (uint32_t d = 0; d < r->dims; d++)
            local[d] = r->local[d];
    size_t items = local[0] * local[1] * local[2];
    if (local[0] > max || local[1] > max || local[2] > max || items > max)
        return util_fail(KILN_ERR_INVALID_RANGE,
                         "work-group of %zu x %zu x %zu items exceeds the limit of %zu for kernel "
                         "'%s' on this device (device limit %u)",
                         local[0], local[1], local[2], max, k->signature->name,
                         dev->info.max_work_group_size);
    out->dims = r->dims;
    for (uint32_t d = 0; d < 3; d++) {
        size_t global = d < r->dims ? r->global[d] : 1;
        size_t groups = global / local[d] + (global % local[d] != 0);
        if ((unsigned long long)groups * local[d] > LAUNCH_MAX_GLOBAL)
            return util_fail(KILN_ERR_INVALID_RANGE,
                             "global size %zu of dimension %u exceeds the limit of %llu items", global,
                             d, LAUNCH_MAX_GLOBAL);
        out->groups[d] = groups;
        out->local[d] = local[d];
    }
    return KILN_OK;
}

static kiln_status launch_execute(kiln_queue *q, kiln_kernel *k, const port_launch *shape,
                                  kiln_event **event)
{
    kiln_event *ev = NULL;
    if (event) {
        ev = calloc(1, sizeof *ev);
        if (!ev)
            return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "no memory for an event");
    }
    pthread_mutex_lock(&q->lock);
    kiln_status st = q->dev->ops->execution->launch(q->stream, k->function, shape,
                                                    ev ? &ev->begin : NULL, ev ? &ev->end : NULL);
    pthread_mutex_unlock(&q->lock);
    st = core_device_note(q->dev, st);
    if (st != KILN_OK) {
        free(ev);
        return st;
    }
    if (ev) {
        ev->queue = q;
        ev->dev = q->dev;
        ev->magic = CORE_MAGIC_EVENT;
        *event = ev;
    }
    return KILN_OK;
}

KILN_API kiln_status kiln_launch(kiln_queue *q, kiln_kernel *k, const kiln_range *range,
                                 const kiln_arg *args, uint32_t nargs, kiln_event **event)
{
    CORE_CHECK(q, CORE_MAGIC_QUEUE, "queue");
    if (q->fallback)
        return fallback_launch(q, k, range, args, nargs, event);
    return core_launch(q, k, range, args, nargs, event);
}

kiln_status core_launch(kiln_queue *q, kiln_kernel *k, const kiln_range *range,
                        const kiln_arg *args, uint32_t nargs, kiln_event **event)
{
    CORE_CHECK(k, CORE_MAGIC_KERNEL, "kernel");
    if (!range)
        return util_fail(KILN_ERR_NULL_HANDLE, "range is NULL");
    if (event)
        *event = NULL;
    if (k->dev != q->dev)
        return core_owner_refuse(k->dev, q->dev, "queue", "kernel '%s'", k->signature->name);
    kiln_status st = core_device_usable(q->dev);
    if (st != KILN_OK)
        return st;
    port_launch shape;
    if ((st = launch_shape(q->dev, k, range, &shape)) != KILN_OK)
        return st;
    port_arg stack_args[LAUNCH_STACK_ARGS];
    port_arg *converted = stack_args;
    if (nargs > LAUNCH_STACK_ARGS && !(converted = malloc(nargs * sizeof *converted)))
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "no memory for %u arguments", nargs);
    st = args_check(k, q->dev, args, nargs, converted);
    shape.args = converted;
    shape.nargs = nargs;
    if (st == KILN_OK && q->scheduled) {
        st = launch_sched_submit(q, k, &shape, args, event); /* governed */
    } else if (st == KILN_OK) {
        core_request req = { .action = CORE_ACTION_KERNEL_LAUNCH, .device = q->dev,
                             .kernel_name = k->signature->name, .kernel = k,
                             .priority = q->priority };
        core_reservation res;
        if ((st = pipeline_authorize(&req)) == KILN_OK) {
            if ((st = pipeline_reserve(&req, &res)) == KILN_OK)
                st = launch_execute(q, k, &shape, event);
            /* The launch is queued and cannot be taken back: if it could not
             * be counted the caller learns KILN_ERR_AUDIT (the log is failed
             * and refuses what follows). */
            st = pipeline_record(&req, st);
            pipeline_release(&res);
        }
    }
    if (converted != stack_args)
        free(converted);
    return st;
}
