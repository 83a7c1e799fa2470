/* Buffers and the copies between host and device. Every access is bounds-
 * checked here, so no adapter sees an out-of-range offset. */
#include <stdlib.h>

#include "../util/fail.h"
#include "device_open.h"
#include "handles.h"
#include "fallback.h"
#include "hygiene.h"
#include "launch_sched.h"
#include "owner.h"
#include "pipeline.h"
#include "session.h"
#include "submit.h"

KILN_API kiln_status kiln_buffer_create(kiln_device *dev, size_t bytes, uint32_t flags,
                                        kiln_buffer **out)
{
    CORE_CHECK(dev, CORE_MAGIC_DEVICE, "device");
    CORE_CHECK_OUT(out, "out");
    *out = NULL;
    if (bytes == 0)
        return util_fail(KILN_ERR_INVALID_SIZE, "buffer size is zero");
    if (bytes > dev->info.memory_bytes)
        return util_fail(KILN_ERR_INVALID_SIZE,
                         "buffer size %zu bytes is larger than the device's memory (%llu bytes)",
                         bytes, (unsigned long long)dev->info.memory_bytes);
    if (flags & ~(KILN_BUFFER_READ_ONLY | KILN_BUFFER_WRITE_ONLY))
        return util_fail(KILN_ERR_INVALID_ARG, "unknown buffer flags 0x%x", flags);
    kiln_status st = core_device_usable(dev);
    if (st != KILN_OK)
        return st;
    core_request req = { .action = CORE_ACTION_BUFFER_ALLOC, .device = dev, .bytes = bytes };
    if ((st = pipeline_authorize(&req)) != KILN_OK)
        return st;
    /* From here every outcome is recorded, refusals by a quota included. */
    kiln_buffer *buf = calloc(1, sizeof *buf);
    if (!buf)
        return pipeline_record(&req, util_fail(KILN_ERR_OUT_OF_HOST_MEMORY,
                                               "no memory for a buffer handle"));
    /* The buffer holds its quota until it is released. */
    if ((st = pipeline_reserve(&req, &buf->reservation)) != KILN_OK) {
        free(buf);
        return pipeline_record(&req, st);
    }
    st = core_device_note(dev, dev->ops->memory->alloc(dev->port, bytes, &buf->mem));
    if (st == KILN_ERR_OUT_OF_MEMORY)
        util_fail(st, "device '%s' cannot allocate %zu bytes", dev->info.name, bytes);
    if (st == KILN_OK)
        st = hygiene_clear(dev, &buf->mem, bytes);
    kiln_status recorded = pipeline_record(&req, st);
    if (recorded != KILN_OK) {
        if (st == KILN_OK)
            dev->ops->memory->free(dev->port, buf->mem); /* not recorded: not handed out */
        pipeline_release(&buf->reservation);
        free(buf);
        return recorded;
    }
    buf->dev = dev;
    buf->bytes = bytes;
    buf->flags = flags;
    buf->magic = CORE_MAGIC_BUFFER;
    session_object_made(dev);
    *out = buf;
    return KILN_OK;
}

KILN_API void kiln_buffer_release(kiln_buffer *buf)
{
    if (!buf || buf->magic != CORE_MAGIC_BUFFER)
        return;
    if (atomic_load(&buf->pending_launches))
        launch_sched_buffer_wait(buf);
    if (buf->journal_owner)
        fallback_forget_buffer(buf);
    buf->dev->ops->memory->free(buf->dev->port, buf->mem);
    pipeline_release(&buf->reservation);
    session_object_gone(buf->dev);
    buf->magic = CORE_MAGIC_RELEASED;
    free(buf);
}

KILN_API size_t kiln_buffer_size(const kiln_buffer *buf)
{
    if (core_check_handle(buf, CORE_MAGIC_BUFFER, "buffer") != KILN_OK)
        return 0;
    return buf->bytes;
}

/* offset + bytes within the buffer, without overflowing. */
static kiln_status buffer_check_span(const kiln_buffer *buf, size_t offset, size_t bytes,
                                     const char *what)
{
    if (offset > buf->bytes || bytes > buf->bytes - offset)
        return util_fail(KILN_ERR_OUT_OF_RANGE,
                         "%s of %zu bytes at offset %zu goes past the end of a %zu-byte buffer",
                         what, bytes, offset, buf->bytes);
    return KILN_OK;
}

static kiln_status buffer_check_queue(const kiln_queue *q, const kiln_buffer *buf)
{
    CORE_CHECK(q, CORE_MAGIC_QUEUE, "queue");
    CORE_CHECK(buf, CORE_MAGIC_BUFFER, "buffer");
    if (buf->dev != q->dev)
        return core_owner_refuse(buf->dev, q->dev, "queue", "buffer");
    return core_device_usable(q->dev);
}

/* Runs one transfer through the pipeline with the queue locked. */
typedef kiln_status (*buffer_transfer_fn)(kiln_queue *q, void *arg);

static kiln_status buffer_transfer(kiln_queue *q, size_t bytes, buffer_transfer_fn fn, void *arg)
{
    core_request req = { .action = CORE_ACTION_BUFFER_COPY, .device = q->dev, .bytes = bytes };
    core_reservation res;
    kiln_status st;
    /* Governed: the queue's launches go first, keeping the queue's order. */
    if (q->scheduled && (st = launch_sched_drain(q)) != KILN_OK)
        return st;
    if ((st = pipeline_authorize(&req)) != KILN_OK)
        return st;
    if ((st = pipeline_reserve(&req, &res)) == KILN_OK) {
        pthread_mutex_lock(&q->lock);
        st = core_device_note(q->dev, fn(q, arg));
        pthread_mutex_unlock(&q->lock);
    }
    /* A copy cannot be undone: one that could not be recorded is reported
     * as KILN_ERR_AUDIT, and the failed log refuses everything after it. */
    st = pipeline_record(&req, st);
    pipeline_release(&res);
    return st;
}

typedef struct buffer_copy_args {
    kiln_buffer *dst;
    const kiln_buffer *src;
    size_t dst_offset, src_offset, bytes;
    const void *host_src;
    void *host_dst;
    uint8_t byte;
} buffer_copy_args;

static kiln_status buffer_do_write(kiln_queue *q, void *arg)
{
    buffer_copy_args *a = arg;
    return q->dev->ops->memory->write(q->stream, a->dst->mem, a->dst_offset, a->host_src, a->bytes);
}

static kiln_status buffer_do_read(kiln_queue *q, void *arg)
{
    buffer_copy_args *a = arg;
    return q->dev->ops->memory->read(q->stream, a->src->mem, a->src_offset, a->host_dst, a->bytes);
}

static kiln_status buffer_do_copy(kiln_queue *q, void *arg)
{
    buffer_copy_args *a = arg;
    return q->dev->ops->memory->copy(q->stream, a->dst->mem, a->dst_offset, a->src->mem,
                                     a->src_offset, a->bytes);
}

static kiln_status buffer_do_fill(kiln_queue *q, void *arg)
{
    buffer_copy_args *a = arg;
    return q->dev->ops->memory->fill(q->stream, a->dst->mem, a->dst_offset, a->byte, a->bytes);
}

KILN_API kiln_status kiln_buffer_write(kiln_queue *q, kiln_buffer *buf, size_t offset,
                                       const void *src, size_t bytes)
{
    CORE_CHECK(q, CORE_MAGIC_QUEUE, "queue");
    if (q->fallback)
        return fallback_buffer_write(q, buf, offset, src, bytes);
    return core_buffer_write(q, buf, offset, src, bytes);
}

kiln_status core_buffer_write(kiln_queue *q, kiln_buffer *buf, size_t offset, const void *src,
                              size_t bytes)
{
    kiln_status st = buffer_check_queue(q, buf);
    if (st == KILN_OK && !src)
        st = util_fail(KILN_ERR_NULL_HANDLE, "source pointer is NULL");
    if (st == KILN_OK)
        st = buffer_check_span(buf, offset, bytes, "write");
    if (st != KILN_OK || bytes == 0)
        return st;
    buffer_copy_args a = { .dst = buf, .dst_offset = offset, .bytes = bytes, .host_src = src };
    return buffer_transfer(q, bytes, buffer_do_write, &a);
}

KILN_API kiln_status kiln_buffer_read(kiln_queue *q, const kiln_buffer *buf, size_t offset,
                                      void *dst, size_t bytes)
{
    CORE_CHECK(q, CORE_MAGIC_QUEUE, "queue");
    if (q->fallback)
        return fallback_buffer_read(q, buf, offset, dst, bytes);
    return core_buffer_read(q, buf, offset, dst, bytes);
}

kiln_status core_buffer_read(kiln_queue *q, const kiln_buffer *buf, size_t offset, void *dst,
                             size_t bytes)
{
    kiln_status st = buffer_check_queue(q, buf);
    if (st == KILN_OK && !dst)
        st = util_fail(KILN_ERR_NULL_HANDLE, "destination pointer is NULL");
    if (st == KILN_OK)
        st = buffer_check_span(buf, offset, bytes, "read");
    if (st != KILN_OK || bytes == 0)
        return st;
    buffer_copy_args a = { .src = buf, .src_offset = offset, .bytes = bytes, .host_dst = dst };
    return buffer_transfer(q, bytes, buffer_do_read, &a);
}

KILN_API kiln_status kiln_buffer_copy(kiln_queue *q, kiln_buffer *dst, size_t dst_offset,
                                      const kiln_buffer *src, size_t src_offset, size_t bytes)
{
    CORE_CHECK(q, CORE_MAGIC_QUEUE, "queue");
    if (q->fallback)
        return fallback_buffer_copy(q, dst, dst_offset, src, src_offset, bytes);
    return core_buffer_copy(q, dst, dst_offset, src, src_offset, bytes);
}

kiln_status core_buffer_copy(kiln_queue *q, kiln_buffer *dst, size_t dst_offset,
                             const kiln_buffer *src, size_t src_offset, size_t bytes)
{
    kiln_status st = buffer_check_queue(q, dst);
    if (st == KILN_OK)
        st = buffer_check_queue(q, src);
    if (st == KILN_OK)
        st = buffer_check_span(dst, dst_offset, bytes, "copy destination");
    if (st == KILN_OK)
        st = buffer_check_span(src, src_offset, bytes, "copy source");
    if (st != KILN_OK || bytes == 0)
        return st;
    buffer_copy_args a = { .dst = dst, .dst_offset = dst_offset, .src = src,
                           .src_offset = src_offset, .bytes = bytes };
    return buffer_transfer(q, bytes, buffer_do_copy, &a);
}

KILN_API kiln_status kiln_buffer_fill(kiln_queue *q, kiln_buffer *buf, size_t offset,
                                      uint8_t byte, size_t bytes)
{
    CORE_CHECK(q, CORE_MAGIC_QUEUE, "queue");
    if (q->fallback)
        return fallback_buffer_fill(q, buf, offset, byte, bytes);
    return core_buffer_fill(q, buf, offset, byte, bytes);
}

kiln_status core_buffer_fill(kiln_queue *q, kiln_buffer *buf, size_t offset, uint8_t byte,
                             size_t bytes)
{
    kiln_status st = buffer_check_queue(q, buf);
    if (st == KILN_OK)
        st = buffer_check_span(buf, offset, bytes, "fill");
    if (st != KILN_OK || bytes == 0)
        return st;
    buffer_copy_args a = { .dst = buf, .dst_offset = offset, .bytes = bytes, .byte = byte };
    return buffer_transfer(q, bytes, buffer_do_fill, &a);
}
