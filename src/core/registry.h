/* The adapters compiled into libkiln, in order of preference for the
 * default device (CUDA, then OpenCL, then the CPU), and last the fault
 * adapter wrapping the CPU (present only when KILN_FAULT is set or a test
 * installed a fault plan). */
#ifndef KILN_CORE_REGISTRY_H
#define KILN_CORE_REGISTRY_H

#include <stddef.h>

#include "../ports/backend_port.h"

/* The adapter named name ("cpu", "opencl", ...), or NULL if not built in. */
const port_backend_ops *registry_find(const char *name);

/* All built-in adapters; *count receives how many. */
const port_backend_ops *const *registry_all(size_t *count);

#endif
