/* The plain forms of the queue operations: what the public functions do for
 * a queue without KILN_QUEUE_CPU_FALLBACK, and what a fallback queue calls
 * around its journal (fallback.h). Same contracts as the public ones, except
 * that q has been checked to be a live queue already. */
#ifndef KILN_CORE_SUBMIT_H
#define KILN_CORE_SUBMIT_H

#include "core_types.h"

kiln_status core_launch(kiln_queue *q, kiln_kernel *k, const kiln_range *range,
                        const kiln_arg *args, uint32_t nargs, kiln_event **event);
kiln_status core_buffer_write(kiln_queue *q, kiln_buffer *buf, size_t offset, const void *src,
                              size_t bytes);
kiln_status core_buffer_read(kiln_queue *q, const kiln_buffer *buf, size_t offset, void *dst,
                             size_t bytes);
kiln_status core_buffer_copy(kiln_queue *q, kiln_buffer *dst, size_t dst_offset,
                             const kiln_buffer *src, size_t src_offset, size_t bytes);
kiln_status core_buffer_fill(kiln_queue *q, kiln_buffer *buf, size_t offset, uint8_t byte,
                             size_t bytes);
kiln_status core_queue_finish(kiln_queue *q);

#endif
