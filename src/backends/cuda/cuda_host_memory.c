/* Page-locked host memory on CUDA. The pages are our own allocation, pinned
 * with cuMemHostRegister, rather than cuMemHostAlloc's: memory from
 * cuMemHostAlloc belongs to the context and goes with it when a fault
 * resets the context (cuda_internal.h, recovery model), which would leave
 * the caller holding a dangling pointer. Registered pages only lose their
 * pinning then and stay valid until release. cuMemcpyHtoD/DtoH recognize
 * pinned pages by address, so write and read need nothing else. */
#include <stdlib.h>
#include <unistd.h>

#include "../../util/fail.h"
#include "cuda_host_memory.h"
#include "cuda_internal.h"

/* Pinning works on whole pages; without a page size from the system, the
 * smallest page of every platform CUDA runs on. */
#define CUDA_HOST_PAGE_FALLBACK 4096u

struct port_host_mem {
    port_device *dev;
    void *data;
    unsigned generation; /* of the context that pinned it */
};

static size_t cuda_host_page_size(void)
{
    long page = sysconf(_SC_PAGESIZE);
    return page > 0 ? (size_t)page : CUDA_HOST_PAGE_FALLBACK;
}

/* Pins data in dev's current context; a refusal for lack of memory is the
 * host's memory running out (the pinned-memory limit), not the device's. */
static kiln_status cuda_host_pin(port_device *dev, unsigned generation, void *data, size_t bytes)
{
    kiln_status st = cuda_enter(dev, generation, "host allocation");
    if (st != KILN_OK)
        return st;
    CUresult result = cuda_driver.MemHostRegister(data, bytes, CU_MEMHOSTREGISTER_PORTABLE);
    if (result == CUDA_ERROR_OUT_OF_MEMORY)
        st = util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "cuda: cuMemHostRegister cannot pin %zu bytes",
                       bytes);
    else
        st = cuda_check(dev, result, "cuMemHostRegister");
    cuda_leave(dev);
    return st;
}

kiln_status cuda_host_alloc(port_device *dev, size_t bytes, void **ptr, port_host_mem **out)
{
    *ptr = NULL;
    *out = NULL;
    if (bytes == 0)
        return util_fail(KILN_ERR_INVALID_SIZE, "cuda: cannot allocate 0 bytes of host memory");
    size_t page = cuda_host_page_size();
    /* aligned_alloc wants a size that is a multiple of the alignment. */
    size_t rounded = (bytes + page - 1) / page * page;
    port_host_mem *mem = malloc(sizeof *mem);
    void *data = mem && rounded >= bytes ? aligned_alloc(page, rounded) : NULL;
    if (!data) {
        free(mem);
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY,
                         "cuda: the system refused %zu bytes of host memory", bytes);
    }
    unsigned generation = atomic_load(&dev->generation);
    kiln_status st = cuda_host_pin(dev, generation, data, rounded);
    if (st != KILN_OK) {
        free(data);
        free(mem);
        return st;
    }
    mem->dev = dev;
    mem->data = data;
    mem->generation = generation;
    *ptr = data;
    *out = mem;
    return KILN_OK;
}

void cuda_host_free(port_device *dev, port_host_mem *mem)
{
    (void)dev;
    if (!mem)
        return;
    /* A context reset already dropped the pinning of an older generation. */
    if (cuda_enter_release(mem->dev, mem->generation)) {
        cuda_driver.MemHostUnregister(mem->data);
        cuda_leave(mem->dev);
    }
    free(mem->data);
    free(mem);
}
