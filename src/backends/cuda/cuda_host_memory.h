/* The memory port's host memory on CUDA (cuda_host_memory.c). */
#ifndef KILN_CUDA_HOST_MEMORY_H
#define KILN_CUDA_HOST_MEMORY_H

#include "../../ports/memory_port.h"

kiln_status cuda_host_alloc(port_device *dev, size_t bytes, void **ptr, port_host_mem **out);
void cuda_host_free(port_device *dev, port_host_mem *mem);

#endif
