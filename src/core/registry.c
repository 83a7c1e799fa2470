#include "registry.h"

#include <pthread.h>
#include <string.h>

#include "../backends/cpu/cpu_backend.h"
#include "../backends/cuda/cuda_backend.h"
#include "../backends/fault/fault_backend.h"
#include "../backends/opencl/opencl_backend.h"

/* CUDA, OpenCL, the CPU, and the fault adapter wrapping the CPU. */
#define REGISTRY_ADAPTER_COUNT 4

/* Order of preference for the default device; device indices follow it.
 * Filled once: the fault adapter's ops exist only after it is handed the
 * adapter it wraps (backends may not include each other). */
static const port_backend_ops *registry_adapters[REGISTRY_ADAPTER_COUNT];
static pthread_once_t registry_once = PTHREAD_ONCE_INIT;

static void registry_fill(void)
{
    registry_adapters[0] = &cuda_backend_ops;
    registry_adapters[1] = &opencl_backend_ops;
    registry_adapters[2] = &cpu_backend_ops;
    registry_adapters[3] = fault_backend_wrap(&cpu_backend_ops);
}

const port_backend_ops *const *registry_all(size_t *count)
{
    pthread_once(&registry_once, registry_fill);
    *count = REGISTRY_ADAPTER_COUNT;
    return registry_adapters;
}

const port_backend_ops *registry_find(const char *name)
{
    size_t n;
    const port_backend_ops *const *all = registry_all(&n);
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}
