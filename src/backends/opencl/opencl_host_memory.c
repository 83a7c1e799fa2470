/* Page-locked host memory on OpenCL: the portable way to get it is a buffer
 * the runtime allocates in host memory (CL_MEM_ALLOC_HOST_PTR), mapped for
 * the buffer's whole life. Drivers pin such buffers so that their transfers
 * run by DMA, and a copy from or into the mapped pointer then skips the
 * staging copy that pageable memory costs. */
#include <stdlib.h>

#include "../../util/fail.h"
#include "opencl_host_memory.h"
#include "opencl_internal.h"

struct port_host_mem {
    cl_mem mem;
    cl_command_queue queue; /* the map's queue, kept for the unmap */
    void *data;
};

/* A failure to get host memory: the host's memory, whatever the code. */
static kiln_status opencl_host_fail(cl_int err, const char *what, size_t bytes)
{
    kiln_status st = opencl_status(err);
    if (st == KILN_ERR_OUT_OF_MEMORY)
        st = KILN_ERR_OUT_OF_HOST_MEMORY;
    return opencl_fail(st, err, "%s of %zu bytes of host memory", what, bytes);
}

/* Unmaps (if mapped) and releases what mem holds, then mem itself. */
static void opencl_host_destroy(port_host_mem *mem)
{
    if (mem->data) {
        opencl_api.EnqueueUnmapMemObject(mem->queue, mem->mem, mem->data, 0, NULL, NULL);
        opencl_api.Finish(mem->queue);
    }
    if (mem->queue)
        opencl_api.ReleaseCommandQueue(mem->queue);
    if (mem->mem)
        opencl_api.ReleaseMemObject(mem->mem);
    free(mem);
}

kiln_status opencl_host_alloc(port_device *dev, size_t bytes, void **ptr, port_host_mem **out)
{
    *ptr = NULL;
    *out = NULL;
    if (bytes == 0)
        return util_fail(KILN_ERR_INVALID_SIZE, "opencl: cannot allocate 0 bytes of host memory");
    if (bytes > dev->max_alloc_bytes)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY,
                         "opencl: %zu bytes exceed the largest single allocation of %s "
                         "(CL_DEVICE_MAX_MEM_ALLOC_SIZE = %llu bytes)",
                         bytes, dev->info.name, (unsigned long long)dev->max_alloc_bytes);
    port_host_mem *mem = calloc(1, sizeof *mem);
    if (!mem)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "opencl: no memory for a host buffer");
    cl_int err = CL_SUCCESS;
    mem->mem = opencl_api.CreateBuffer(dev->context, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR,
                                       bytes, NULL, &err);
    if (!mem->mem) {
        opencl_host_destroy(mem);
        return opencl_host_fail(err, "clCreateBuffer (CL_MEM_ALLOC_HOST_PTR)", bytes);
    }
    mem->queue = opencl_api.CreateCommandQueue(dev->context, dev->id, 0, &err);
    if (!mem->queue) {
        opencl_host_destroy(mem);
        return opencl_fail(opencl_status(err), err, "clCreateCommandQueue for a host buffer");
    }
    mem->data = opencl_api.EnqueueMapBuffer(mem->queue, mem->mem, CL_TRUE,
                                                CL_MAP_READ | CL_MAP_WRITE, 0, bytes, 0, NULL,
                                                NULL, &err);
    if (!mem->data) {
        opencl_host_destroy(mem);
        return opencl_host_fail(err, "clEnqueueMapBuffer", bytes);
    }
    *ptr = mem->data;
    *out = mem;
    return KILN_OK;
}

void opencl_host_free(port_device *dev, port_host_mem *mem)
{
    (void)dev;
    if (mem)
        opencl_host_destroy(mem);
}
