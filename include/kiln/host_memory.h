/* kiln — host buffers: page-locked host memory for fast transfers. */
#ifndef KILN_HOST_MEMORY_H
#define KILN_HOST_MEMORY_H

#include "device.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_host_buffer kiln_host_buffer;

/* Allocates bytes of page-locked host memory that dev copies to and from at
 * full speed (CUDA: pages pinned with cuMemHostRegister; OpenCL: a
 * CL_MEM_ALLOC_HOST_PTR buffer, mapped; CPU: ordinary aligned memory). Its data pointer works with
 * kiln_buffer_write and kiln_buffer_read like any host memory, only faster.
 * A zero size, or one larger than the host's physical memory, is
 * KILN_ERR_INVALID_SIZE; KILN_ERR_OUT_OF_HOST_MEMORY when it cannot be
 * pinned; KILN_ERR_NOT_IMPLEMENTED when dev's backend has none. */
KILN_API kiln_status kiln_host_buffer_create(kiln_device *dev, size_t bytes,
                                             kiln_host_buffer **out);

/* The host address of the memory (contents undefined until written); NULL
 * for a NULL or released handle. Valid until release. */
KILN_API void *kiln_host_buffer_data(const kiln_host_buffer *hb);

/* Its size in bytes; 0 for a NULL or released handle. */
KILN_API size_t kiln_host_buffer_size(const kiln_host_buffer *hb);

/* Releases the memory; no copy from or into it may be running. NULL is
 * accepted. */
KILN_API void kiln_host_buffer_release(kiln_host_buffer *hb);

#ifdef __cplusplus
}
#endif

#endif
