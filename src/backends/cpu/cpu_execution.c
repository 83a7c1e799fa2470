/* The execution port on the CPU. A launch runs in the calling thread with
 * the device's pool helping and returns when the kernel is done, so streams
 * are in order by construction, synchronize has nothing left to wait for,
 * and events are timestamps taken when their point of the stream is reached. */
#include <limits.h>
#include <stdlib.h>

#include "../../util/fail.h"
#include "cpu_internal.h"

/* Launches with at most this many arguments build argv on the stack. */
#define CPU_STACK_ARGS 32u

/* One launch as the workers see it: read-only while groups run. */
typedef struct cpu_launch {
    kiln_cpu_entry_fn entry;
    void *const *argv;
    kiln_cpu_group shape; /* group_id left to fill per group */
} cpu_launch;

static void cpu_run_groups(void *ctx, size_t begin, size_t end)
{
    const cpu_launch *launch = ctx;
    kiln_cpu_group group = launch->shape;
    size_t nx = launch->shape.num_groups[0], ny = launch->shape.num_groups[1];
    for (size_t flat = begin; flat < end; flat++) {
        group.group_id[0] = (unsigned)(flat % nx);
        group.group_id[1] = (unsigned)(flat / nx % ny);
        group.group_id[2] = (unsigned)(flat / nx / ny);
        launch->entry(&group, launch->argv);
    }
}

/* Fills the group shape from the range; *group_count receives the number of
 * groups. Every size the ABI carries as unsigned int must fit one. */
static kiln_status cpu_shape(const port_launch *launch, kiln_cpu_group *shape,
                             size_t *group_count)
{
    if (launch->dims < 1 || launch->dims > 3)
        return util_fail(KILN_ERR_INVALID_RANGE, "cpu: a launch has 1 to 3 dimensions, not %u",
                         launch->dims);
    size_t items = 1, groups = 1;
    *shape = (kiln_cpu_group){.dims = launch->dims};
    for (unsigned d = 0; d < 3; d++) {
        size_t g = d < launch->dims ? launch->groups[d] : 1;
        size_t l = d < launch->dims ? launch->local[d] : 1;
        if (g == 0 || l == 0)
            return util_fail(KILN_ERR_INVALID_RANGE, "cpu: dimension %u of the launch is empty",
                             d);
        if (g > UINT_MAX || l > UINT_MAX || g > UINT_MAX / l)
            return util_fail(KILN_ERR_INVALID_RANGE,
                             "cpu: dimension %u: %zu groups of %zu items exceed 2^32 items", d,
                             g, l);
        if (groups > SIZE_MAX / g)
            return util_fail(KILN_ERR_INVALID_RANGE, "cpu: the launch has too many groups");
        items *= l;
        groups *= g;
        shape->num_groups[d] = (unsigned)g;
        shape->local_size[d] = (unsigned)l;
        shape->global_size[d] = (unsigned)(g * l);
    }
    if (items > CPU_MAX_WORK_GROUP_SIZE)
        return util_fail(KILN_ERR_INVALID_RANGE,
                         "cpu: a work-group of %zu items exceeds the CPU's maximum of %u", items,
                         CPU_MAX_WORK_GROUP_SIZE);
    *group_count = groups;
    return KILN_OK;
}

/* Points argv[i] at what the ABI expects: for a buffer, a slot holding the
 * data pointer; for a value, its bytes. */
static kiln_status cpu_build_argv(const port_launch *launch, void **argv, void **slots)
{
    for (uint32_t i = 0; i < launch->nargs; i++) {
        const port_arg *arg = &launch->args[i];
        if (arg->mem) {
            slots[i] = arg->mem->data;
            argv[i] = &slots[i];
        } else if (arg->value) {
            argv[i] = (void *)arg->value;
        } else {
            return util_fail(KILN_ERR_INVALID_ARG, "cpu: argument %u has neither buffer nor value",
                             i);
        }
    }
    return KILN_OK;
}

static kiln_status cpu_event_at(uint64_t timestamp_ns, port_event **out)
{
    port_event *e = malloc(sizeof *e);
    if (!e)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "cpu: no memory for an event");
    e->timestamp_ns = timestamp_ns;
    *out = e;
    return KILN_OK;
}

static kiln_status cpu_launch_run(port_stream *s, port_function *f, const port_launch *launch,
                                  void **argv, void **slots, port_event **begin,
                                  port_event **end)
{
    cpu_launch run = {.entry = f->entry, .argv = argv};
    size_t group_count = 0;
    kiln_status st = cpu_shape(launch, &run.shape, &group_count);
    if (st == KILN_OK)
        st = cpu_build_argv(launch, argv, slots);
    if (st != KILN_OK)
        return st;
    /* Events are made before the kernel runs so that a failure leaves
     * nothing half done. */
    port_event *b = NULL, *e = NULL;
    if (begin && (st = cpu_event_at(0, &b)) != KILN_OK)
        return st;
    if (end && (st = cpu_event_at(0, &e)) != KILN_OK) {
        free(b);
        return st;
    }
    if (b)
        b->timestamp_ns = cpu_now_ns();
    cpu_pool_run(s->dev->pool, group_count, cpu_run_groups, &run);
    if (e)
        e->timestamp_ns = cpu_now_ns();
    if (begin)
        *begin = b;
    if (end)
        *end = e;
    return KILN_OK;
}

static kiln_status cpu_launch_kernel(port_stream *s, port_function *f, const port_launch *launch,
                                     port_event **begin, port_event **end)
{
    if (!s || !f || !launch)
        return util_fail(KILN_ERR_NULL_HANDLE, "cpu: launch without stream, function or range");
    if (launch->nargs && !launch->args)
        return util_fail(KILN_ERR_NULL_HANDLE, "cpu: launch of %u arguments without them",
                         launch->nargs);
    void *stack_argv[CPU_STACK_ARGS], *stack_slots[CPU_STACK_ARGS];
    if (launch->nargs <= CPU_STACK_ARGS)
        return cpu_launch_run(s, f, launch, stack_argv, stack_slots, begin, end);
    void **argv = calloc(2 * (size_t)launch->nargs, sizeof *argv);
    if (!argv)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "cpu: no memory for %u arguments",
                         launch->nargs);
    kiln_status st = cpu_launch_run(s, f, launch, argv, argv + launch->nargs, begin, end);
    free(argv);
    return st;
}

static kiln_status cpu_stream_create(port_device *dev, int priority, port_stream **out)
{
    port_stream *s = malloc(sizeof *s);
    if (!s)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "cpu: no memory for a stream");
    s->dev = dev;
    s->priority = priority;
    *out = s;
    return KILN_OK;
}

static void cpu_stream_destroy(port_stream *s)
{
    free(s);
}

static kiln_status cpu_synchronize(port_stream *s)
{
    /* Every command completed before its call returned. */
    return KILN_OK;
}

static kiln_status cpu_event_record(port_stream *s, port_event **out)
{
    return cpu_event_at(cpu_now_ns(), out);
}

static kiln_status cpu_event_wait(port_event *e)
{
    /* The event's point of the stream was reached when it was recorded. */
    return e ? KILN_OK : util_fail(KILN_ERR_NULL_HANDLE, "cpu: wait on no event");
}

static kiln_status cpu_event_elapsed_ns(port_event *a, port_event *b, uint64_t *ns)
{
    if (!a || !b)
        return util_fail(KILN_ERR_NULL_HANDLE, "cpu: elapsed time needs two events");
    if (b->timestamp_ns < a->timestamp_ns)
        return util_fail(KILN_ERR_INVALID_ARG,
                         "cpu: the end event was recorded %llu ns before the begin event",
                         (unsigned long long)(a->timestamp_ns - b->timestamp_ns));
    *ns = b->timestamp_ns - a->timestamp_ns;
    return KILN_OK;
}

static void cpu_event_release(port_event *e)
{
    free(e);
}

static kiln_status cpu_health(port_device *dev, kiln_health *out)
{
    /* The host CPU running this code is, by that fact, working. */
    *out = KILN_HEALTH_HEALTHY;
    return KILN_OK;
}

const port_execution cpu_execution_ops = {
    .stream_create = cpu_stream_create,
    .stream_destroy = cpu_stream_destroy,
    .launch = cpu_launch_kernel,
    .synchronize = cpu_synchronize,
    .event_record = cpu_event_record,
    .event_wait = cpu_event_wait,
    .event_elapsed_ns = cpu_event_elapsed_ns,
    .event_release = cpu_event_release,
    .health = cpu_health,
};
