/* The fault adapter's ops: each failable call asks the plan first; an
 * injected fault returns before the inner adapter is called, so it creates
 * nothing that could leak, and every handle handed out is the inner
 * adapter's own, forwarded unchanged (release calls go straight through). */
#include "fault_backend.h"

#include <stdio.h>

#include "../../util/fail.h"
#include "fault_plan.h"

/* Returns from the calling op with the plan's status when the plan fails
 * this call; the ops clear their out pointers before, so a failed call
 * hands out nothing. */
#define FAULT_ENTER(op)                                  \
    do {                                                 \
        kiln_status fault_status_ = fault_plan_enter(op); \
        if (fault_status_ != KILN_OK)                    \
            return fault_status_;                        \
    } while (0)

static const port_backend_ops *fault_inner;
static port_backend_ops fault_ops;
static port_compile fault_compile_ops;
static port_memory fault_memory_ops;
static port_execution fault_execution_ops;

/* ---- backend ------------------------------------------------------------ */

static kiln_status fault_open(port_backend **out, char *reason, size_t reason_size)
{
    *out = NULL;
    kiln_status st = fault_plan_enable(reason, reason_size);
    if (st != KILN_OK)
        return st;
    st = fault_plan_enter(FAULT_OP_BACKEND_OPEN);
    if (st != KILN_OK) {
        if (reason && reason_size)
            snprintf(reason, reason_size, "%s", util_last_error());
        return st;
    }
    return fault_inner->open(out, reason, reason_size);
}

static void fault_close(port_backend *b)
{
    fault_inner->close(b);
}

static uint32_t fault_device_count(port_backend *b)
{
    return fault_inner->device_count(b);
}

static kiln_status fault_device_open(port_backend *b, uint32_t index, port_device **out)
{
    *out = NULL;
    FAULT_ENTER(FAULT_OP_DEVICE_OPEN);
    return fault_inner->device_open(b, index, out);
}

static void fault_device_close(port_device *dev)
{
    fault_inner->device_close(dev);
}

static kiln_status fault_device_info(port_device *dev, kiln_device_info *out)
{
    FAULT_ENTER(FAULT_OP_DEVICE_INFO);
    kiln_status st = fault_inner->device_info(dev, out);
    kiln_health forced = fault_plan_forced_health();
    if (st == KILN_OK && forced != KILN_HEALTH_HEALTHY)
        out->health = forced;
    out->backend = KILN_BACKEND_FAULT;
    return st;
}

/* ---- compile port ------------------------------------------------------- */

static kiln_status fault_compile(port_device *dev, const port_compile_input *in, port_module **out,
                                 port_log *log)
{
    *out = NULL;
    FAULT_ENTER(FAULT_OP_COMPILE);
    return fault_inner->compile->compile(dev, in, out, log);
}

static kiln_status fault_module_binary(port_module *m, void **bytes, size_t *size)
{
    *bytes = NULL;
    *size = 0;
    FAULT_ENTER(FAULT_OP_MODULE_BINARY);
    return fault_inner->compile->module_binary(m, bytes, size);
}

static kiln_status fault_module_load(port_device *dev, const void *bytes, size_t size,
                                     port_module **out)
{
    *out = NULL;
    FAULT_ENTER(FAULT_OP_MODULE_LOAD);
    return fault_inner->compile->module_load(dev, bytes, size, out);
}

static void fault_module_release(port_module *m)
{
    fault_inner->compile->module_release(m);
}

static kiln_status fault_get_function(port_module *m, const char *entry, port_function **out)
{
    *out = NULL;
    FAULT_ENTER(FAULT_OP_GET_FUNCTION);
    return fault_inner->compile->get_function(m, entry, out);
}

/* 0 is the port's "no per-function limit", which is what a missing entry
 * means too. */
static uint32_t fault_function_max_group(port_function *f)
{
    uint32_t (*inner)(port_function *) = fault_inner->compile->function_max_group;
    return inner ? inner(f) : 0;
}

static kiln_status fault_cache_identity(port_device *dev, char *buf, size_t size)
{
    FAULT_ENTER(FAULT_OP_CACHE_IDENTITY);
    return fault_inner->compile->cache_identity(dev, buf, size);
}

/* ---- memory port -------------------------------------------------------- */

static kiln_status fault_alloc(port_device *dev, size_t bytes, port_mem **out)
{
    *out = NULL;
    FAULT_ENTER(FAULT_OP_ALLOC);
    return fault_inner->memory->alloc(dev, bytes, out);
}

static void fault_free(port_device *dev, port_mem *mem)
{
    fault_inner->memory->free(dev, mem);
}

static kiln_status fault_write(port_stream *s, port_mem *dst, size_t offset, const void *src,
                               size_t bytes)
{
    FAULT_ENTER(FAULT_OP_WRITE);
    return fault_inner->memory->write(s, dst, offset, src, bytes);
}

static kiln_status fault_read(port_stream *s, port_mem *src, size_t offset, void *dst,
                              size_t bytes)
{
    FAULT_ENTER(FAULT_OP_READ);
    return fault_inner->memory->read(s, src, offset, dst, bytes);
}

static kiln_status fault_copy(port_stream *s, port_mem *dst, size_t dst_offset, port_mem *src,
                              size_t src_offset, size_t bytes)
{
    FAULT_ENTER(FAULT_OP_COPY);
    return fault_inner->memory->copy(s, dst, dst_offset, src, src_offset, bytes);
}

static kiln_status fault_fill(port_stream *s, port_mem *dst, size_t offset, uint8_t byte,
                              size_t bytes)
{
    FAULT_ENTER(FAULT_OP_FILL);
    return fault_inner->memory->fill(s, dst, offset, byte, bytes);
}

static kiln_status fault_usage(port_device *dev, uint64_t *used, uint64_t *total)
{
    FAULT_ENTER(FAULT_OP_USAGE);
    return fault_inner->memory->usage(dev, used, total);
}

static kiln_status fault_host_alloc(port_device *dev, size_t bytes, void **ptr,
                                    port_host_mem **out)
{
    *ptr = NULL;
    *out = NULL;
    FAULT_ENTER(FAULT_OP_HOST_ALLOC);
    return fault_inner->memory->host_alloc(dev, bytes, ptr, out);
}

static void fault_host_free(port_device *dev, port_host_mem *mem)
{
    fault_inner->memory->host_free(dev, mem);
}

/* ---- execution port ----------------------------------------------------- */

static kiln_status fault_stream_create(port_device *dev, int priority, port_stream **out)
{
    *out = NULL;
    FAULT_ENTER(FAULT_OP_STREAM_CREATE);
    return fault_inner->execution->stream_create(dev, priority, out);
}

static void fault_stream_destroy(port_stream *s)
{
    fault_inner->execution->stream_destroy(s);
}

/* An injected KILN_ERR_DEVICE_FAULT here stands for a kernel that faulted:
 * the kernel does not run and health() reports the device degraded. */
static kiln_status fault_launch(port_stream *s, port_function *f, const port_launch *launch,
                                port_event **begin, port_event **end)
{
    if (begin)
        *begin = NULL;
    if (end)
        *end = NULL;
    FAULT_ENTER(FAULT_OP_LAUNCH);
    return fault_inner->execution->launch(s, f, launch, begin, end);
}

static kiln_status fault_synchronize(port_stream *s)
{
    FAULT_ENTER(FAULT_OP_SYNCHRONIZE);
    return fault_inner->execution->synchronize(s);
}

static kiln_status fault_event_record(port_stream *s, port_event **out)
{
    *out = NULL;
    FAULT_ENTER(FAULT_OP_EVENT_RECORD);
    return fault_inner->execution->event_record(s, out);
}

static kiln_status fault_event_wait(port_event *e)
{
    FAULT_ENTER(FAULT_OP_EVENT_WAIT);
    return fault_inner->execution->event_wait(e);
}

static kiln_status fault_event_elapsed_ns(port_event *a, port_event *b, uint64_t *ns)
{
    FAULT_ENTER(FAULT_OP_EVENT_ELAPSED);
    return fault_inner->execution->event_elapsed_ns(a, b, ns);
}

static void fault_event_release(port_event *e)
{
    fault_inner->execution->event_release(e);
}

/* The forced health wins while the plan may still fail calls; after that
 * the inner adapter's own health shows through (a probe that passes). */
static kiln_status fault_health(port_device *dev, kiln_health *out)
{
    FAULT_ENTER(FAULT_OP_HEALTH);
    kiln_health forced = fault_plan_forced_health();
    if (forced != KILN_HEALTH_HEALTHY) {
        *out = forced;
        return KILN_OK;
    }
    return fault_inner->execution->health(dev, out);
}

/* ---- the ops table ------------------------------------------------------ */

const port_backend_ops *fault_backend_wrap(const port_backend_ops *inner)
{
    if (fault_inner)
        return &fault_ops;
    fault_inner = inner;
    fault_compile_ops = (port_compile){
        .compile = fault_compile,
        .module_binary = fault_module_binary,
        .module_load = fault_module_load,
        .module_release = fault_module_release,
        .get_function = fault_get_function,
        .function_max_group = fault_function_max_group,
        .cache_identity = fault_cache_identity,
    };
    /* Optional memory entries stay optional: NULL where the inner adapter
     * has none (the core then reports the feature missing). */
    fault_memory_ops = (port_memory){
        .alloc = fault_alloc,
        .free = fault_free,
        .write = fault_write,
        .read = fault_read,
        .copy = fault_copy,
        .fill = fault_fill,
        .usage = fault_usage,
        .host_alloc = inner->memory->host_alloc ? fault_host_alloc : NULL,
        .host_free = inner->memory->host_free ? fault_host_free : NULL,
    };
    fault_execution_ops = (port_execution){
        .stream_create = fault_stream_create,
        .stream_destroy = fault_stream_destroy,
        .launch = fault_launch,
        .synchronize = fault_synchronize,
        .event_record = fault_event_record,
        .event_wait = fault_event_wait,
        .event_elapsed_ns = fault_event_elapsed_ns,
        .event_release = fault_event_release,
        .health = fault_health,
    };
    fault_ops = (port_backend_ops){
        .name = "fault",
        .backend = KILN_BACKEND_FAULT,
        .dialect = inner->dialect,
        .open = fault_open,
        .close = fault_close,
        .device_count = fault_device_count,
        .device_open = fault_device_open,
        .device_close = fault_device_close,
        .device_info = fault_device_info,
        .compile = &fault_compile_ops,
        .memory = &fault_memory_ops,
        .execution = &fault_execution_ops,
    };
    return &fault_ops;
}
