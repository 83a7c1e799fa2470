/* The memory port's host memory on the CPU (cpu_host_memory.c). */
#ifndef KILN_CPU_HOST_MEMORY_H
#define KILN_CPU_HOST_MEMORY_H

#include "../../ports/memory_port.h"

kiln_status cpu_host_alloc(port_device *dev, size_t bytes, void **ptr, port_host_mem **out);
void cpu_host_free(port_device *dev, port_host_mem *mem);

#endif
