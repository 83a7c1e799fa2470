/* Falling back (fallback_replay.h): the record, the move of the queue and
 * its journaled buffers to the CPU, and the replay of the journal. */
#include <stdio.h>
#include <stdlib.h>

#include "../util/fail.h"
#include "core_log.h"
#include "fallback_replay.h"
#include "fault_audit.h"
#include "pipeline.h"
#include "session.h"
#include "submit.h"

/* The CPU device the work of from moves to: the context's, or for a
 * session's view the same session's view of it, so the work stays the
 * principal's (decided, charged and counted as such). */
static kiln_device *fallback_cpu_of(const kiln_device *from)
{
    const kiln_context *ctx = from->ctx;
    for (uint32_t i = 0; i < ctx->device_count; i++)
        if (ctx->devices[i]->info.backend == KILN_BACKEND_CPU)
            return from->session ? &from->session->views[i] : ctx->devices[i];
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
    /* Governed: what the scheduler still holds of the queue ends on the
     * device it leaves; from now on it is scheduled on the CPU's. */
    sched_queue *left = q->scheduled;
    if (left)
        (void)sched_queue_drain(left); /* their faults are what is being handled */
    pthread_mutex_lock(&q->lock);
    fb->origin = q->dev;
    fb->origin_stream = q->stream;
    q->dev = cpu;
    q->stream = cq->stream;
    q->scheduled = cq->scheduled;
    pthread_mutex_unlock(&q->lock);
    sched_queue_close(left);
    cq->magic = CORE_MAGIC_RELEASED;
    session_object_gone(cpu); /* q, already counted, takes its place */
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
    session_object_gone(nb->dev); /* buf, already counted, takes its place */
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

kiln_status fallback_run_transfer(kiln_queue *q, const fallback_transfer *t)
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

kiln_status fallback_run(kiln_queue *q, fallback_queue *fb, kiln_status fault,
                                kiln_event **event)
{
    char detail[FALLBACK_DETAIL_MAX];
    snprintf(detail, sizeof detail, "%s", util_last_error());
    kiln_device *from = q->dev;
    kiln_device *cpu = fallback_cpu_of(from);
    if (!cpu)
        return util_fail(fault, "%s (the queue cannot fall back: its context has no CPU device)",
                         detail);
    size_t launches = fallback_journaled_launches(&fb->journal);
    char reason[FALLBACK_DETAIL_MAX + 64], to[64], where[64];
    snprintf(reason, sizeof reason, "%zu launch(es) re-run after: %s", launches, detail);
    governance_device_text(cpu, to, sizeof to);
    governance_device_text(from, where, sizeof where);
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
