/* kiln — buffers: device memory. */
#ifndef KILN_BUFFER_H
#define KILN_BUFFER_H

#include "queue.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_buffer kiln_buffer;

/* Bits of the flags argument of kiln_buffer_create. 0 = read and write. */
#define KILN_BUFFER_READ_WRITE 0x0u
#define KILN_BUFFER_READ_ONLY 0x1u   /* kernels only read it */
#define KILN_BUFFER_WRITE_ONLY 0x2u  /* kernels only write it */

/* Allocates bytes of device memory (contents undefined until written).
 * A zero size, or one larger than the device's memory, is
 * KILN_ERR_INVALID_SIZE. */
KILN_API kiln_status kiln_buffer_create(kiln_device *dev, size_t bytes, uint32_t flags,
                                        kiln_buffer **out);

/* Releases the buffer. NULL is accepted. In a governed context (a policy is
 * set) launches are queued in the device's scheduler: release first waits
 * until every launch queued with this buffer as an argument has completed,
 * so the memory is never freed under a launch that has not run yet. */
KILN_API void kiln_buffer_release(kiln_buffer *buf);

KILN_API size_t kiln_buffer_size(const kiln_buffer *buf);

/* Copies bytes from host memory into the buffer, after the queue's earlier
 * work. Returns when src may be reused. In a governed context the copies
 * (write, read, copy, fill) first wait for the launches queued before them
 * on q, and return the first error among those launches, if any. */
KILN_API kiln_status kiln_buffer_write(kiln_queue *q, kiln_buffer *buf, size_t offset,
                                       const void *src, size_t bytes);

/* Copies bytes from the buffer into host memory, after the queue's earlier
 * work. Returns when dst holds the data. A synchronization point for
 * KILN_QUEUE_CPU_FALLBACK (queue.h). */
KILN_API kiln_status kiln_buffer_read(kiln_queue *q, const kiln_buffer *buf, size_t offset,
                                      void *dst, size_t bytes);

/* Copies between two buffers of the same device, in queue order. */
KILN_API kiln_status kiln_buffer_copy(kiln_queue *q, kiln_buffer *dst, size_t dst_offset,
                                      const kiln_buffer *src, size_t src_offset, size_t bytes);

/* Sets bytes of the buffer to the value byte, in queue order. */
KILN_API kiln_status kiln_buffer_fill(kiln_queue *q, kiln_buffer *buf, size_t offset,
                                      uint8_t byte, size_t bytes);

#ifdef __cplusplus
}
#endif

#endif
