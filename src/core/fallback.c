/* KILN_QUEUE_CPU_FALLBACK queues (fallback.h): journal, detect, move, replay. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/fail.h"
#include "core_log.h"
#include "fallback.h"
#include "fault_audit.h"
#include "pipeline.h"
#include "submit.h"

/* Room for the fault's detail carried into the fallback's own messages. */
#define FALLBACK_DETAIL_MAX 1024

static bool fallback_is_fault(kiln_status st)
{
    return st == KILN_ERR_DEVICE_FAULT || st == KILN_ERR_DEVICE_LOST;
}

kiln_status fallback_attach(kiln_queue *q, kiln_device *dev)
{
    if (dev->info.backend == KILN_BACKEND_CPU)
        return KILN_OK; /* the CPU is where others fall back to */
    fallback_queue *fb = calloc(1, sizeof *fb);
    if (!fb)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "no memory for a fallback queue's journal");
    pthread_mutex_init(&fb->lock, NULL);
    q->fallback = fb;
    return KILN_OK;
}

void fallback_detach(kiln_queue *q)
{
    fallback_queue *fb = q->fallback;
    journal_free(&fb->journal);
    if (fb->origin_stream)
        fb->origin->ops->execution->stream_destroy(fb->origin_stream);
    pthread_mutex_destroy(&fb->lock);
    free(fb);
    q->fallback = NULL;
}

static kiln_device *fallback_cpu_of(const kiln_context *ctx)
{
    for (uint32_t i = 0; i < ctx->device_count; i++)
        if (ctx->devices[i]->info.backend == KILN_BACKEND_CPU)
            return ctx->devices[i];
    return NULL;
}

/* Gives q a stream on cpu, keeping the old one until q is destroyed (events
 * made on it still refer to it). */
static kiln_status fallback_move_queue(kiln_queue *q, fallback_queue *fb, kiln_device *cpu)
{
    kiln_queue *cq = NULL;
    kiln_status st = kiln_queue_create(cpu, q->priority, &cq);
    if (st != KILN_OK)
        return st;
    pthread_mutex_lock(&q->lock);
    fb->origin = q->dev;
    fb->origin_stream = q->stream;
    q->dev = cpu;
    q->stream = cq->stream;
    pthread_mutex_unlock(&q->lock);
    cq->magic = CORE_MAGIC_RELEASED;
    pthread_mutex_destroy(&cq->lock);
    free(cq);
    return KILN_OK;
}

/* The caller's handle buf takes over the CPU memory of nb (the indirection:
 * the handle stays, what it names moves); the device memory is freed. */
static void fallback_rehome_buffer(kiln_buffer *buf, kiln_buffer *nb)
{
    kiln_device *old = buf->dev;
    port_mem *mem = buf->mem;
    core_reservation res = buf->reservation;
    buf->dev = nb->dev;
    buf->mem = nb->mem;
    buf->reservation = nb->reservation;
    old->ops->memory->free(old->port, mem);
    pipeline_release(&res);
    nb->magic = CORE_MAGIC_RELEASED;
    free(nb);
}

/* Every journaled buffer gets CPU memory holding its snapshot. */
static kiln_status fallback_move_buffers(kiln_queue *q, journal *j, kiln_device *cpu)
{
    for (size_t i = 0; i < j->buffer_count; i++) {
        journal_buffer *jb = &j->buffers[i];
        kiln_buffer *nb = NULL;
        kiln_status st = kiln_buffer_create(cpu, jb->bytes, jb->flags, &nb);
        if (st == KILN_OK && jb->snapshot)
            st = core_buffer_write(q, nb, 0, jb->snapshot, jb->bytes);
        if (st != KILN_OK) {
            kiln_buffer_release(nb);
            return st;
        }
        if (jb->buf)
            fallback_rehome_buffer(jb->buf, nb);
        else
            jb->stand_in = nb;
    }
    return KILN_OK;
}

/* A write, copy or fill, as the caller gave it or as a replay resolves it. */
typedef struct fallback_transfer {
    journal_kind kind;
    kiln_buffer *dst;
    const kiln_buffer *src; /* copies */
    size_t dst_offset, src_offset, bytes;
    const void *data; /* writes */
    uint8_t byte;     /* fills */
} fallback_transfer;

static kiln_status fallback_run_transfer(kiln_queue *q, const fallback_transfer *t)
{
    switch (t->kind) {
    case JOURNAL_WRITE: return core_buffer_write(q, t->dst, t->dst_offset, t->data, t->bytes);
    case JOURNAL_COPY:
        return core_buffer_copy(q, t->dst, t->dst_offset, t->src, t->src_offset, t->bytes);
    case JOURNAL_FILL: return core_buffer_fill(q, t->dst, t->dst_offset, t->byte, t->bytes);
    case JOURNAL_LAUNCH: break;
    }
    return util_fail(KILN_ERR_INTERNAL, "a launch is not a transfer");
}

static kiln_status fallback_replay_launch(kiln_queue *q, fallback_queue *fb, journal_entry *e,
                                          kiln_event **event)
{
    kiln_kernel *cpu_kernel = NULL;
    kiln_status st = rebuild_on_cpu(e->source, e->twin, q->dev, &cpu_kernel);
    if (st != KILN_OK)
        return st;
    for (uint32_t i = 0; i < e->nargs; i++)
        if (e->args[i].kind == KILN_ARG_KIND_BUFFER) {
            e->args[i].value.buffer = journal_resolve(&fb->journal, e->args[i].size);
            e->args[i].size = 0;
        }
    st = core_launch(q, cpu_kernel, &e->range, e->args, e->nargs, event);
    if (st == KILN_OK) {
        fb->launches_on_cpu++;
        fb->launches_on_device -= e->ran_on_device;
    }
    return st;
}

/* Runs the journal on the CPU in order; the last entry gets event. */
static kiln_status fallback_replay(kiln_queue *q, fallback_queue *fb, kiln_event **event)
{
    journal *j = &fb->journal;
    for (size_t i = 0; i < j->count; i++) {
        journal_entry *e = &j->entries[i];
        kiln_status st = KILN_OK;
        if (e->kind == JOURNAL_LAUNCH) {
            st = fallback_replay_launch(q, fb, e, i + 1 == j->count ? event : NULL);
        } else {
            fallback_transfer t = { .kind = e->kind, .dst = journal_resolve(j, e->dst),
                                    .src = journal_resolve(j, e->src),
                                    .dst_offset = e->dst_offset, .src_offset = e->src_offset,
                                    .bytes = e->bytes, .data = e->data, .byte = e->byte };
            st = fallback_run_transfer(q, &t);
        }
        if (st != KILN_OK)
            return util_fail(st, "re-running operation %zu of %zu on the CPU after a fault: %s",
                             i + 1, j->count, kiln_last_error());
    }
    return KILN_OK;
}

static size_t fallback_journaled_launches(const journal *j)
{
    size_t n = 0;
    for (size_t i = 0; i < j->count; i++)
        n += j->entries[i].kind == JOURNAL_LAUNCH;
    return n;
}

/* The device failed with fault (its detail is the last error): record it,
 * move the queue and its journaled buffers to the CPU, replay. */
static kiln_status fallback_run(kiln_queue *q, fallback_queue *fb, kiln_status fault,
                                kiln_event **event)
{
    char detail[FALLBACK_DETAIL_MAX];
    snprintf(detail, sizeof detail, "%s", util_last_error());
    kiln_device *from = q->dev;
    kiln_device *cpu = fallback_cpu_of(from->ctx);
    if (!cpu)
        return util_fail(fault, "%s (the queue cannot fall back: its context has no CPU device)",
                         detail);
    size_t launches = fallback_journaled_launches(&fb->journal);
    char reason[FALLBACK_DETAIL_MAX + 64], to[64], where[64];
    snprintf(reason, sizeof reason, "%zu launch(es) re-run after: %s", launches, detail);
    fault_audit_device_text(cpu, to, sizeof to);
    fault_audit_device_text(from, where, sizeof where);
    core_fault_record r = { .action = "queue.fallback", .device = from, .outcome = fault,
                            .reason = reason, .ran_on = to };
    kiln_status st = fault_audit_record(&r);
    if (st != KILN_OK)
        return st; /* not recorded: not run */
    core_log(from->ctx, KILN_LOG_WARNING,
             "queue on device '%s' (%s) falls back to the CPU (%s); %zu launch(es) re-run: %s",
             from->info.name, where, to, launches, detail);
    if ((st = fallback_move_queue(q, fb, cpu)) != KILN_OK)
        return util_fail(st, "%s (falling back to the CPU failed: %s)", detail, kiln_last_error());
    fb->on_cpu = true;
    fb->fallbacks++;
    st = fallback_move_buffers(q, &fb->journal, cpu);
    if (st == KILN_OK)
        st = fallback_replay(q, fb, event);
    journal_clear(&fb->journal);
    return st;
}

/* After an operation: kept, undone, or the start of a fallback. journaled
 * says whether the operation's own entry is in the journal; a fault before
 * it was (a snapshot read) leaves a buffer whose contents are lost. */
static kiln_status fallback_settle(kiln_queue *q, fallback_queue *fb, kiln_status st,
                                   bool journaled, kiln_event **event)
{
    if (st == KILN_OK)
        return st;
    if (!fallback_is_fault(st)) {
        if (journaled)
            journal_pop(&fb->journal);
        return st;
    }
    if (journaled)
        return fallback_run(q, fb, st, event);
    char detail[FALLBACK_DETAIL_MAX];
    snprintf(detail, sizeof detail, "%s", util_last_error());
    kiln_status ran = fallback_run(q, fb, st, NULL);
    if (ran != KILN_OK)
        return ran;
    return util_fail(st, "%s (the queue fell back to the CPU, but a buffer this operation uses "
                         "had no snapshot: its contents stayed on the failed device)",
                     detail);
}

/* After the fallback: a buffer that stayed on the failed device. */
static kiln_status fallback_check_moved(const fallback_queue *fb, const kiln_buffer *buf)
{
    if (buf && buf->magic == CORE_MAGIC_BUFFER && buf->dev == fb->origin)
        return util_fail(KILN_ERR_DEVICE_LOST,
                         "a %zu-byte buffer stayed on device '%s' when the queue fell back to "
                         "the CPU (the queue had not used it since its last synchronization "
                         "point); its contents are on the failed device",
                         buf->bytes, fb->origin->info.name);
    return KILN_OK;
}

static kiln_status fallback_launch_on_cpu(kiln_queue *q, fallback_queue *fb, kiln_kernel *k,
                                          const kiln_range *range, const kiln_arg *args,
                                          uint32_t nargs, kiln_event **event)
{
    kiln_kernel *run = k;
    kiln_status st = KILN_OK;
    if (k && k->magic == CORE_MAGIC_KERNEL && k->dev != q->dev) {
        rebuild_twin *t = NULL;
        if ((st = rebuild_twin_of(k, &t)) == KILN_OK)
            st = rebuild_on_cpu(k->source, t, q->dev, &run);
    }
    for (uint32_t i = 0; st == KILN_OK && args && i < nargs; i++)
        if (args[i].kind == KILN_ARG_KIND_BUFFER)
            st = fallback_check_moved(fb, args[i].value.buffer);
    if (st == KILN_OK)
        st = core_launch(q, run, range, args, nargs, event);
    fb->launches_on_cpu += st == KILN_OK;
    return st;
}

static kiln_status fallback_launch_journaled(kiln_queue *q, fallback_queue *fb, kiln_kernel *k,
                                             const kiln_range *range, const kiln_arg *args,
                                             uint32_t nargs, kiln_event **event)
{
    if (!k || k->magic != CORE_MAGIC_KERNEL || !range || k->dev != q->dev)
        return core_launch(q, k, range, args, nargs, event); /* refused with its detail */
    journal *j = &fb->journal;
    journal_entry *e = journal_append(j);
    if (!e)
        return KILN_ERR_OUT_OF_HOST_MEMORY;
    e->kind = JOURNAL_LAUNCH;
    e->range = *range;
    rebuild_twin *t = NULL;
    kiln_status st = rebuild_twin_of(k, &t);
    if (st == KILN_OK) {
        e->source = rebuild_retain(k->source);
        e->twin = t;
        st = journal_copy_args(j, q, e, args, nargs);
    }
    if (st != KILN_OK) {
        journal_pop(j);
        return fallback_settle(q, fb, st, false, NULL);
    }
    st = core_launch(q, k, range, args, nargs, event);
    if (st == KILN_OK) {
        e->ran_on_device = true;
        fb->launches_on_device++;
    }
    return fallback_settle(q, fb, st, true, event);
}

kiln_status fallback_launch(kiln_queue *q, kiln_kernel *k, const kiln_range *range,
                            const kiln_arg *args, uint32_t nargs, kiln_event **event)
{
    fallback_queue *fb = q->fallback;
    if (event)
        *event = NULL;
    pthread_mutex_lock(&fb->lock);
    kiln_status st = fb->on_cpu ? fallback_launch_on_cpu(q, fb, k, range, args, nargs, event)
                                : fallback_launch_journaled(q, fb, k, range, args, nargs, event);
    pthread_mutex_unlock(&fb->lock);
    return st;
}

/* A live buffer of the queue's device and a span inside it: what the
 * journal records (anything else the operation refuses itself). */
static bool fallback_span_ok(const kiln_queue *q, const kiln_buffer *buf, size_t offset,
                             size_t bytes)
{
    return buf && buf->magic == CORE_MAGIC_BUFFER && buf->dev == q->dev && bytes > 0 &&
           offset <= buf->bytes && bytes <= buf->bytes - offset;
}

/* Journals t; *journaled says whether an entry was made. */
static kiln_status fallback_journal_transfer(kiln_queue *q, fallback_queue *fb,
                                             const fallback_transfer *t, bool *journaled)
{
    *journaled = false;
    if (!fallback_span_ok(q, t->dst, t->dst_offset, t->bytes) ||
        (t->kind == JOURNAL_COPY && !fallback_span_ok(q, t->src, t->src_offset, t->bytes)) ||
        (t->kind == JOURNAL_WRITE && !t->data))
        return KILN_OK;
    journal *j = &fb->journal;
    uint32_t from = JOURNAL_NO_PLACE, to = JOURNAL_NO_PLACE;
    kiln_status st = KILN_OK;
    /* The journal may move src to the CPU on a fault: the handle is the
     * caller's, its contents are not changed. */
    if (t->kind == JOURNAL_COPY)
        st = journal_buffer_of(j, q, (kiln_buffer *)t->src, false, &from);
    if (st == KILN_OK)
        st = journal_buffer_of(j, q, t->dst, t->dst_offset == 0 && t->bytes == t->dst->bytes, &to);
    if (st != KILN_OK)
        return st;
    journal_entry *e = journal_append(j);
    if (!e)
        return KILN_ERR_OUT_OF_HOST_MEMORY;
    e->kind = t->kind;
    e->dst = to;
    e->src = from;
    e->dst_offset = t->dst_offset;
    e->src_offset = t->src_offset;
    e->bytes = t->bytes;
    e->byte = t->byte;
    if (t->kind == JOURNAL_WRITE) {
        if (!(e->data = malloc(t->bytes))) {
            journal_pop(j);
            return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY,
                             "no memory to journal a %zu-byte write", t->bytes);
        }
        memcpy(e->data, t->data, t->bytes);
    }
    *journaled = true;
    return KILN_OK;
}

static kiln_status fallback_transfer_op(kiln_queue *q, const fallback_transfer *t)
{
    fallback_queue *fb = q->fallback;
    pthread_mutex_lock(&fb->lock);
    kiln_status st;
    if (fb->on_cpu) {
        if ((st = fallback_check_moved(fb, t->dst)) == KILN_OK &&
            (st = fallback_check_moved(fb, t->src)) == KILN_OK)
            st = fallback_run_transfer(q, t);
    } else {
        bool journaled = false;
        st = fallback_journal_transfer(q, fb, t, &journaled);
        if (st == KILN_OK)
            st = fallback_run_transfer(q, t);
        st = fallback_settle(q, fb, st, journaled, NULL);
    }
    pthread_mutex_unlock(&fb->lock);
    return st;
}

kiln_status fallback_buffer_write(kiln_queue *q, kiln_buffer *buf, size_t offset,
                                  const void *src, size_t bytes)
{
    fallback_transfer t = { .kind = JOURNAL_WRITE, .dst = buf, .dst_offset = offset,
                            .bytes = bytes, .data = src };
    return fallback_transfer_op(q, &t);
}

kiln_status fallback_buffer_fill(kiln_queue *q, kiln_buffer *buf, size_t offset, uint8_t byte,
                                 size_t bytes)
{
    fallback_transfer t = { .kind = JOURNAL_FILL, .dst = buf, .dst_offset = offset,
                            .bytes = bytes, .byte = byte };
    return fallback_transfer_op(q, &t);
}

kiln_status fallback_buffer_copy(kiln_queue *q, kiln_buffer *dst, size_t dst_offset,
                                 const kiln_buffer *src, size_t src_offset, size_t bytes)
{
    fallback_transfer t = { .kind = JOURNAL_COPY, .dst = dst, .dst_offset = dst_offset,
                            .src = src, .src_offset = src_offset, .bytes = bytes };
    return fallback_transfer_op(q, &t);
}

/* A synchronization point returned: nothing before it needs replaying. */
static kiln_status fallback_synced(fallback_queue *fb, kiln_status st)
{
    if (st == KILN_OK)
        journal_clear(&fb->journal);
    return st;
}

kiln_status fallback_buffer_read(kiln_queue *q, const kiln_buffer *buf, size_t offset, void *dst,
                                 size_t bytes)
{
    fallback_queue *fb = q->fallback;
    pthread_mutex_lock(&fb->lock);
    kiln_status st;
    if (fb->on_cpu) {
        if ((st = fallback_check_moved(fb, buf)) == KILN_OK)
            st = core_buffer_read(q, buf, offset, dst, bytes);
    } else {
        st = core_buffer_read(q, buf, offset, dst, bytes);
        if (fallback_is_fault(st)) {
            st = fallback_run(q, fb, st, NULL);
            if (st == KILN_OK && (st = fallback_check_moved(fb, buf)) == KILN_OK)
                st = core_buffer_read(q, buf, offset, dst, bytes);
        }
        st = fallback_synced(fb, st);
    }
    pthread_mutex_unlock(&fb->lock);
    return st;
}

kiln_status fallback_queue_finish(kiln_queue *q)
{
    fallback_queue *fb = q->fallback;
    pthread_mutex_lock(&fb->lock);
    kiln_status st = core_queue_finish(q);
    if (!fb->on_cpu && fallback_is_fault(st)) {
        st = fallback_run(q, fb, st, NULL);
        if (st == KILN_OK)
            st = core_queue_finish(q);
    }
    st = fallback_synced(fb, st);
    pthread_mutex_unlock(&fb->lock);
    return st;
}

void fallback_forget_buffer(kiln_buffer *buf)
{
    fallback_queue *fb = buf->journal_owner->fallback;
    pthread_mutex_lock(&fb->lock);
    fb->journal.buffers[buf->journal_index].buf = NULL;
    buf->journal_owner = NULL;
    pthread_mutex_unlock(&fb->lock);
}

void fallback_info(kiln_queue *q, kiln_queue_info *out)
{
    fallback_queue *fb = q->fallback;
    if (fb)
        pthread_mutex_lock(&fb->lock);
    out->backend = q->dev->info.backend;
    out->backend_index = q->dev->info.backend_index;
    out->launches_on_device = fb ? fb->launches_on_device : 0;
    out->launches_on_cpu = fb ? fb->launches_on_cpu : 0;
    out->fallbacks = fb ? fb->fallbacks : 0;
    if (fb)
        pthread_mutex_unlock(&fb->lock);
}
