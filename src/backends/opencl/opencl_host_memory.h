/* The memory port's host memory on OpenCL (opencl_host_memory.c). */
#ifndef KILN_OPENCL_HOST_MEMORY_H
#define KILN_OPENCL_HOST_MEMORY_H

#include "../../ports/memory_port.h"

kiln_status opencl_host_alloc(port_device *dev, size_t bytes, void **ptr, port_host_mem **out);
void opencl_host_free(port_device *dev, port_host_mem *mem);

#endif
