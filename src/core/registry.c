#include "registry.h"

#include <string.h>

#include "../backends/cpu/cpu_backend.h"
#include "../backends/cuda/cuda_backend.h"
#include "../backends/opencl/opencl_backend.h"

/* Order of preference for the default device; device indices follow it. */
static const port_backend_ops *const registry_adapters[] = {
    &cuda_backend_ops,
    &opencl_backend_ops,
    &cpu_backend_ops,
};

const port_backend_ops *const *registry_all(size_t *count)
{
    *count = sizeof registry_adapters / sizeof registry_adapters[0];
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
