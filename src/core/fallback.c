/* KILN_QUEUE_CPU_FALLBACK queues (fallback.h): each operation journaled,
 * run, and on a device fault handed to fallback_run (fallback_replay.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/fail.h"
#include "device_open.h"
#include "fallback.h"
#include "fallback_replay.h"
#include "submit.h"

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

/* After an operation: kept, undone, or the start of a fallback. journaled
 * says whether the operation's own entry is in the journal; a fault before
 * it was (a snapshot read) leaves a buffer whose contents are lost. */
static kiln_status fallback_settle(kiln_queue *q, fallback_queue *fb, kiln_status st,
                                   bool journaled, kiln_event **event)
{
    if (st == KILN_OK)
        return st;
    if (!core_is_device_fault(st)) {
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
        if (core_is_device_fault(st)) {
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
    if (!fb->on_cpu && core_is_device_fault(st)) {
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
