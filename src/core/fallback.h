/* KILN_QUEUE_CPU_FALLBACK queues (include/kiln/queue.h; docs/security.md,
 * "Graceful degradation"). The public queue operations call these when
 * q->fallback is set; each journals the operation (journal.h), runs the
 * plain form (submit.h), and on a device fault moves the queue, its
 * journaled buffers and kernels to the context's CPU device and replays the
 * journal there. After that the queue runs on the CPU for good. One lock
 * per fallback queue is held across each operation, so the journal's order
 * is the order the device saw. */
#ifndef KILN_CORE_FALLBACK_H
#define KILN_CORE_FALLBACK_H

#include "core_types.h"
#include "journal.h"

typedef struct fallback_queue {
    pthread_mutex_t lock;
    journal journal;
    bool on_cpu;                 /* it fell back: no journal any more */
    kiln_device *origin;         /* the device it left, and its stream there */
    port_stream *origin_stream;
    uint64_t launches_on_device;
    uint64_t launches_on_cpu;
    uint32_t fallbacks;
} fallback_queue;

/* Gives q (being created on dev) its fallback state; none on a CPU device. */
kiln_status fallback_attach(kiln_queue *q, kiln_device *dev);
/* Frees it, with the stream left on the failed device (q is released). */
void fallback_detach(kiln_queue *q);

kiln_status fallback_launch(kiln_queue *q, kiln_kernel *k, const kiln_range *range,
                            const kiln_arg *args, uint32_t nargs, kiln_event **event);
kiln_status fallback_buffer_write(kiln_queue *q, kiln_buffer *buf, size_t offset,
                                  const void *src, size_t bytes);
kiln_status fallback_buffer_read(kiln_queue *q, const kiln_buffer *buf, size_t offset, void *dst,
                                 size_t bytes);
kiln_status fallback_buffer_copy(kiln_queue *q, kiln_buffer *dst, size_t dst_offset,
                                 const kiln_buffer *src, size_t src_offset, size_t bytes);
kiln_status fallback_buffer_fill(kiln_queue *q, kiln_buffer *buf, size_t offset, uint8_t byte,
                                 size_t bytes);
kiln_status fallback_queue_finish(kiln_queue *q);

/* buf is being released while in a journal: the journal keeps its snapshot
 * and stands a CPU buffer in for it if it must replay. */
void fallback_forget_buffer(kiln_buffer *buf);

/* Fills everything but size. */
void fallback_info(kiln_queue *q, kiln_queue_info *out);

#endif
