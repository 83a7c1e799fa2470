/* Host memory on the CPU: device memory is host memory already, so there is
 * nothing to pin; a host buffer is ordinary memory with the alignment of a
 * device allocation, which lets copies use the widest vector moves. */
#include <stdlib.h>

#include "../../util/fail.h"
#include "cpu_host_memory.h"
#include "cpu_internal.h"

struct port_host_mem {
    void *data;
};

kiln_status cpu_host_alloc(port_device *dev, size_t bytes, void **ptr, port_host_mem **out)
{
    (void)dev;
    *ptr = NULL;
    *out = NULL;
    if (bytes == 0)
        return util_fail(KILN_ERR_INVALID_SIZE, "cpu: cannot allocate 0 bytes of host memory");
    /* aligned_alloc wants a size that is a multiple of the alignment. */
    size_t rounded = (bytes + CPU_ALLOC_ALIGNMENT - 1) & ~(size_t)(CPU_ALLOC_ALIGNMENT - 1);
    port_host_mem *mem = malloc(sizeof *mem);
    void *data = mem && rounded >= bytes ? aligned_alloc(CPU_ALLOC_ALIGNMENT, rounded) : NULL;
    if (!data) {
        free(mem);
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY,
                         "cpu: the system refused %zu bytes of host memory", bytes);
    }
    mem->data = data;
    *ptr = data;
    *out = mem;
    return KILN_OK;
}

void cpu_host_free(port_device *dev, port_host_mem *mem)
{
    (void)dev;
    if (!mem)
        return;
    free(mem->data);
    free(mem);
}
