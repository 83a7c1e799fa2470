/* The memory port: device allocations and copies. Copies are ordered on the
 * stream they are given; write and read return when the host memory may be
 * reused or holds the data. */
#ifndef KILN_MEMORY_PORT_H
#define KILN_MEMORY_PORT_H

#include "port_types.h"

typedef struct port_memory {
    /* KILN_ERR_OUT_OF_MEMORY when the device cannot hold bytes more. */
    kiln_status (*alloc)(port_device *dev, size_t bytes, port_mem **out);
    void (*free)(port_device *dev, port_mem *mem);
    kiln_status (*write)(port_stream *s, port_mem *dst, size_t offset, const void *src,
                         size_t bytes);
    kiln_status (*read)(port_stream *s, port_mem *src, size_t offset, void *dst, size_t bytes);
    kiln_status (*copy)(port_stream *s, port_mem *dst, size_t dst_offset, port_mem *src,
                        size_t src_offset, size_t bytes);
    kiln_status (*fill)(port_stream *s, port_mem *dst, size_t offset, uint8_t byte,
                        size_t bytes);
    /* Real device memory in use and in total, as the device reports it. */
    kiln_status (*usage)(port_device *dev, uint64_t *used, uint64_t *total);
    /* Optional (NULL when the adapter has none): page-locked host memory
     * that write and read reach at full speed. *ptr is its host address,
     * which write and read accept like any host memory.
     * KILN_ERR_OUT_OF_HOST_MEMORY when the host cannot pin bytes more. */
    kiln_status (*host_alloc)(port_device *dev, size_t bytes, void **ptr, port_host_mem **out);
    void (*host_free)(port_device *dev, port_host_mem *mem);
} port_memory;

#endif
