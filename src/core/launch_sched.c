/* Governed launches through the device's scheduler (launch_sched.h): the
 * launch record, its start/wait/done on the scheduler's threads, and the
 * waits of events and buffers for it. */
#include "launch_sched.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../util/fail.h"
#include "device_open.h"
#include "pipeline.h"

/* By-value arguments are copied at this alignment, enough for any type a
 * kernel parameter can have. */
#define LAUNCH_VALUE_ALIGN alignof(max_align_t)

/* Guards the lazy creation of a base device's scheduler (queue creation
 * only, so one lock for all devices costs nothing on the launch path). */
static pthread_mutex_t launch_sched_create_lock = PTHREAD_MUTEX_INITIALIZER;

/* Buffer releases wait here for their pending launches. One for all
 * devices, because a buffer can move (a CPU-fallback queue moves its
 * buffers to the CPU device) while launches of its old device still use
 * it; only completions of launches with buffer arguments signal it. */
static pthread_mutex_t launch_buffers_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t launch_buffers_done = PTHREAD_COND_INITIALIZER;

/* One queued launch. The scheduler holds one reference until done(), a
 * kiln_event of it another until kiln_event_release. */
typedef struct launch_record {
    sched_op op;
    atomic_uint refs;
    kiln_queue *queue;
    kiln_device *dev;    /* the queue's device: whose principal pays */
    port_stream *stream; /* the queue's stream on dev (a fallback queue moves to another) */
    core_sched_device *sd;
    core_module *module; /* reference held: keeps function alive if the kernel is released */
    port_function *function;
    port_launch shape; /* shape.args points at args below */
    kiln_buffer **buffers;
    uint32_t buffer_count;
    core_reservation reservation;
    port_event *begin, *end;
    uint64_t measured_ns;
    bool finished; /* under sd->lock: done() ran */
    kiln_status status;
} launch_record;

static size_t launch_align_up(size_t n)
{
    return (n + LAUNCH_VALUE_ALIGN - 1) / LAUNCH_VALUE_ALIGN * LAUNCH_VALUE_ALIGN;
}

static core_sched_device *launch_sched_of(const kiln_device *dev)
{
    return atomic_load(&dev->base->sched);
}

kiln_status launch_sched_queue_open(kiln_queue *q)
{
    kiln_device *base = q->dev->base;
    kiln_status st = KILN_OK;
    pthread_mutex_lock(&launch_sched_create_lock);
    core_sched_device *sd = atomic_load(&base->sched);
    if (!sd) {
        sd = calloc(1, sizeof *sd);
        if (!sd)
            st = util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "no memory for a device scheduler");
        else if ((st = sched_create(NULL, &sd->engine)) != KILN_OK) {
            free(sd);
            sd = NULL;
        } else {
            pthread_mutex_init(&sd->lock, NULL);
            pthread_cond_init(&sd->finished, NULL);
            atomic_store(&base->sched, sd);
        }
    }
    pthread_mutex_unlock(&launch_sched_create_lock);
    if (st != KILN_OK)
        return st;
    return sched_queue_open(sd->engine, q->priority, governance_principal_name_of(q->dev), 1,
                            &q->scheduled);
}

void launch_sched_device_close(kiln_device *dev)
{
    core_sched_device *sd = atomic_load(&dev->sched);
    if (!sd)
        return;
    sched_destroy(sd->engine);
    pthread_cond_destroy(&sd->finished);
    pthread_mutex_destroy(&sd->lock);
    free(sd);
    atomic_store(&dev->sched, NULL);
}

static void launch_record_unref(launch_record *r)
{
    if (atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    const port_execution *ex = r->dev->ops->execution;
    if (r->begin)
        ex->event_release(r->begin);
    if (r->end)
        ex->event_release(r->end);
    free(r);
}

/* On the dispatcher: hands the launch to the stream, always with events,
 * since its device time is what the principal is charged. */
static kiln_status launch_start(sched_op *op)
{
    launch_record *r = op->user;
    kiln_queue *q = r->queue;
    pthread_mutex_lock(&q->lock);
    kiln_status st = r->dev->ops->execution->launch(r->stream, r->function, &r->shape, &r->begin,
                                                    &r->end);
    pthread_mutex_unlock(&q->lock);
    return core_device_note(r->dev, st);
}

/* On the completion thread. */
static kiln_status launch_wait(sched_op *op, uint64_t *device_ns)
{
    launch_record *r = op->user;
    const port_execution *ex = r->dev->ops->execution;
    kiln_status st = core_device_note(r->dev, ex->event_wait(r->end));
    /* The launch completed; a device fault met while reading its times is
     * the device's all the same (noted), though the launch stands. */
    if (st == KILN_OK &&
        core_device_note(r->dev, ex->event_elapsed_ns(r->begin, r->end, &r->measured_ns)) ==
            KILN_OK)
        *device_ns = r->measured_ns;
    return st;
}

static void launch_done(sched_op *op, kiln_status status)
{
    launch_record *r = op->user;
    if (r->measured_ns)
        governance_charge_time(r->dev, r->measured_ns);
    pipeline_release(&r->reservation);
    core_module_release(r->module);
    r->module = NULL;
    if (r->buffer_count) {
        pthread_mutex_lock(&launch_buffers_lock);
        for (uint32_t i = 0; i < r->buffer_count; i++)
            atomic_fetch_sub(&r->buffers[i]->pending_launches, 1);
        pthread_cond_broadcast(&launch_buffers_done);
        pthread_mutex_unlock(&launch_buffers_lock);
    }
    pthread_mutex_lock(&r->sd->lock);
    r->status = status;
    r->finished = true;
    pthread_cond_broadcast(&r->sd->finished);
    pthread_mutex_unlock(&r->sd->lock);
    launch_record_unref(r);
}

/* One allocation: the record, its port arguments, its buffers and the
 * copies of every by-value argument. */
static launch_record *launch_record_new(const port_launch *shape, const kiln_arg *args)
{
    uint32_t n = shape->nargs;
    size_t head = launch_align_up(sizeof(launch_record) + n * sizeof(port_arg) +
                                  n * sizeof(kiln_buffer *));
    size_t total = head;
    for (uint32_t i = 0; i < n; i++)
        total += launch_align_up(shape->args[i].size);
    launch_record *r = calloc(1, total);
    if (!r)
        return NULL;
    port_arg *copied = (port_arg *)(r + 1);
    r->buffers = (kiln_buffer **)(copied + n);
    unsigned char *values = (unsigned char *)r + head;
    for (uint32_t i = 0; i < n; i++) {
        copied[i] = shape->args[i];
        if (copied[i].mem) {
            r->buffers[r->buffer_count++] = args[i].value.buffer;
        } else if (copied[i].size) {
            memcpy(values, copied[i].value, copied[i].size);
            copied[i].value = values;
            values += launch_align_up(copied[i].size);
        }
    }
    r->shape = *shape;
    r->shape.args = copied;
    return r;
}

/* Fills in and submits r; on failure nothing of it stays held. */
static kiln_status launch_record_submit(kiln_queue *q, kiln_kernel *k, launch_record *r,
                                        kiln_event **event)
{
    kiln_event *ev = NULL;
    if (event && !(ev = calloc(1, sizeof *ev)))
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "no memory for an event");
    r->queue = q;
    r->dev = q->dev;
    r->stream = q->stream;
    r->sd = launch_sched_of(q->dev);
    r->function = k->function;
    r->module = k->module;
    atomic_fetch_add(&k->module->refs, 1);
    atomic_init(&r->refs, ev ? 2u : 1u);
    for (uint32_t i = 0; i < r->buffer_count; i++)
        atomic_fetch_add(&r->buffers[i]->pending_launches, 1);
    r->op = (sched_op){ .start = launch_start, .wait = launch_wait, .done = launch_done,
                        .user = r };
    kiln_status st = sched_submit(q->scheduled, &r->op);
    if (st != KILN_OK) {
        for (uint32_t i = 0; i < r->buffer_count; i++)
            atomic_fetch_sub(&r->buffers[i]->pending_launches, 1);
        core_module_release(r->module);
        free(ev);
        return st;
    }
    if (ev) {
        ev->queue = q;
        ev->dev = q->dev;
        ev->launch = r;
        ev->magic = CORE_MAGIC_EVENT;
        *event = ev;
    }
    return KILN_OK;
}

kiln_status launch_sched_submit(kiln_queue *q, kiln_kernel *k, const port_launch *shape,
                                const kiln_arg *args, kiln_event **event)
{
    core_request req = { .action = CORE_ACTION_KERNEL_LAUNCH, .device = q->dev,
                         .kernel_name = k->signature->name, .kernel = k,
                         .priority = q->priority };
    kiln_status st = pipeline_authorize(&req);
    if (st != KILN_OK)
        return st;
    launch_record *r = launch_record_new(shape, args);
    if (!r)
        return pipeline_record(&req, util_fail(KILN_ERR_OUT_OF_HOST_MEMORY,
                                               "no memory for a launch record"));
    /* Reserved into the record, which holds it until the launch completed. */
    if ((st = pipeline_reserve(&req, &r->reservation)) == KILN_OK &&
        (st = launch_record_submit(q, k, r, event)) != KILN_OK)
        pipeline_release(&r->reservation);
    if (st != KILN_OK)
        free(r);
    /* Counted at submission, as a direct launch is; one that later fails on
     * the device is reported by kiln_queue_finish. A queued launch cannot be
     * taken back: if it could not be counted the caller learns
     * KILN_ERR_AUDIT (the log is failed and refuses what follows). */
    return pipeline_record(&req, st);
}

kiln_status launch_sched_drain(kiln_queue *q)
{
    return sched_queue_drain(q->scheduled);
}

void launch_sched_buffer_wait(kiln_buffer *buf)
{
    pthread_mutex_lock(&launch_buffers_lock);
    while (atomic_load(&buf->pending_launches))
        pthread_cond_wait(&launch_buffers_done, &launch_buffers_lock);
    pthread_mutex_unlock(&launch_buffers_lock);
}

kiln_status launch_sched_event_wait(kiln_event *ev)
{
    launch_record *r = ev->launch;
    pthread_mutex_lock(&r->sd->lock);
    while (!r->finished)
        pthread_cond_wait(&r->sd->finished, &r->sd->lock);
    kiln_status st = r->status;
    pthread_mutex_unlock(&r->sd->lock);
    if (st != KILN_OK)
        return util_fail(st, "the launch failed: %s", kiln_status_name(st));
    return KILN_OK;
}

kiln_status launch_sched_event_points(kiln_event *ev, port_event **begin, port_event **end)
{
    kiln_status st = launch_sched_event_wait(ev);
    if (st != KILN_OK)
        return st;
    *begin = ev->launch->begin;
    *end = ev->launch->end;
    return KILN_OK;
}

void launch_sched_event_release(kiln_event *ev)
{
    launch_record_unref(ev->launch);
}
