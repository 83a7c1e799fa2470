/* The memory port on OpenCL: one cl_mem per allocation in the device's
 * context. Writes and reads block until the host memory may be reused or
 * holds the data; copies and fills are queued on the stream's in-order
 * queue, so later commands of the stream see them. */
#include <stdlib.h>

#include "../../util/fail.h"
#include "opencl_host_memory.h"
#include "opencl_internal.h"

static kiln_status opencl_range_check(const port_mem *mem, size_t offset, size_t bytes,
                                      const char *what)
{
    if (!mem)
        return util_fail(KILN_ERR_NULL_HANDLE, "opencl: %s: no buffer", what);
    if (offset > mem->bytes || bytes > mem->bytes - offset)
        return util_fail(KILN_ERR_OUT_OF_RANGE,
                         "opencl: %s of %zu bytes at offset %zu passes the end of a %zu-byte "
                         "buffer",
                         what, bytes, offset, mem->bytes);
    return KILN_OK;
}

/* Reserves bytes against the device's global memory; 0 if they do not fit
 * beside what this adapter already allocated. */
static int opencl_reserve(port_device *dev, size_t bytes)
{
    uint64_t total = dev->info.memory_bytes;
    uint64_t used = atomic_load(&dev->used_bytes);
    do {
        if (bytes > total || used > total - bytes)
            return 0;
    } while (!atomic_compare_exchange_weak(&dev->used_bytes, &used, used + bytes));
    return 1;
}

/* A device allocation failure: device memory unless the host ran out. */
static kiln_status opencl_alloc_status(cl_int err)
{
    kiln_status st = opencl_status(err);
    return st == KILN_ERR_OUT_OF_HOST_MEMORY ? st : KILN_ERR_OUT_OF_MEMORY;
}

static kiln_status opencl_alloc(port_device *dev, size_t bytes, port_mem **out)
{
    *out = NULL;
    if (bytes == 0)
        return util_fail(KILN_ERR_INVALID_SIZE, "opencl: cannot allocate 0 bytes");
    if (bytes > dev->max_alloc_bytes)
        return util_fail(KILN_ERR_OUT_OF_MEMORY,
                         "opencl: %zu bytes exceed the largest single allocation of %s "
                         "(CL_DEVICE_MAX_MEM_ALLOC_SIZE = %llu bytes)",
                         bytes, dev->info.name, (unsigned long long)dev->max_alloc_bytes);
    if (!opencl_reserve(dev, bytes))
        return util_fail(KILN_ERR_OUT_OF_MEMORY,
                         "opencl: %zu bytes do not fit: kiln has %llu of %llu bytes of %s "
                         "allocated",
                         bytes, (unsigned long long)atomic_load(&dev->used_bytes),
                         (unsigned long long)dev->info.memory_bytes, dev->info.name);
    port_mem *mem = malloc(sizeof *mem);
    if (!mem) {
        atomic_fetch_sub(&dev->used_bytes, bytes);
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "opencl: no memory for a buffer handle");
    }
    cl_int err = CL_SUCCESS;
    mem->mem = opencl_api.CreateBuffer(dev->context, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (!mem->mem) {
        free(mem);
        atomic_fetch_sub(&dev->used_bytes, bytes);
        return opencl_fail(opencl_alloc_status(err), err, "clCreateBuffer of %zu bytes on %s",
                           bytes, dev->info.name);
    }
    mem->bytes = bytes;
    *out = mem;
    return KILN_OK;
}

static void opencl_free(port_device *dev, port_mem *mem)
{
    if (!mem)
        return;
    /* OpenCL keeps the object alive until queued commands that use it have
     * finished, so releasing here never pulls memory from a running kernel. */
    opencl_api.ReleaseMemObject(mem->mem);
    atomic_fetch_sub(&dev->used_bytes, mem->bytes);
    free(mem);
}

static kiln_status opencl_write(port_stream *s, port_mem *dst, size_t offset, const void *src,
                                size_t bytes)
{
    kiln_status st = opencl_range_check(dst, offset, bytes, "write");
    if (st != KILN_OK || bytes == 0)
        return st;
    cl_int err = opencl_api.EnqueueWriteBuffer(s->queue, dst->mem, CL_TRUE, offset, bytes, src, 0,
                                               NULL, NULL);
    if (err != CL_SUCCESS)
        return opencl_fail(opencl_status(err), err, "clEnqueueWriteBuffer of %zu bytes", bytes);
    return KILN_OK;
}

static kiln_status opencl_read(port_stream *s, port_mem *src, size_t offset, void *dst,
                               size_t bytes)
{
    kiln_status st = opencl_range_check(src, offset, bytes, "read");
    if (st != KILN_OK || bytes == 0)
        return st;
    cl_int err = opencl_api.EnqueueReadBuffer(s->queue, src->mem, CL_TRUE, offset, bytes, dst, 0,
                                              NULL, NULL);
    if (err != CL_SUCCESS)
        return opencl_fail(opencl_status(err), err, "clEnqueueReadBuffer of %zu bytes", bytes);
    return KILN_OK;
}

/* clEnqueueCopyBuffer refuses overlapping ranges of one buffer
 * (CL_MEM_COPY_OVERLAP): such a copy goes through a temporary buffer,
 * released at once (OpenCL frees it after the queued copies finish). */
static cl_int opencl_copy_overlapping(port_stream *s, port_mem *mem, size_t dst_offset,
                                      size_t src_offset, size_t bytes)
{
    cl_int err = CL_SUCCESS;
    cl_mem temp = opencl_api.CreateBuffer(s->dev->context, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (!temp)
        return err;
    err = opencl_api.EnqueueCopyBuffer(s->queue, mem->mem, temp, src_offset, 0, bytes, 0, NULL,
                                       NULL);
    if (err == CL_SUCCESS)
        err = opencl_api.EnqueueCopyBuffer(s->queue, temp, mem->mem, 0, dst_offset, bytes, 0,
                                           NULL, NULL);
    opencl_api.ReleaseMemObject(temp);
    return err;
}

static kiln_status opencl_copy(port_stream *s, port_mem *dst, size_t dst_offset, port_mem *src,
                               size_t src_offset, size_t bytes)
{
    kiln_status st = opencl_range_check(dst, dst_offset, bytes, "copy destination");
    if (st == KILN_OK)
        st = opencl_range_check(src, src_offset, bytes, "copy source");
    if (st != KILN_OK || bytes == 0 || (dst == src && dst_offset == src_offset))
        return st;
    int overlap = dst == src && dst_offset < src_offset + bytes && src_offset < dst_offset + bytes;
    cl_int err = overlap ? opencl_copy_overlapping(s, dst, dst_offset, src_offset, bytes)
                         : opencl_api.EnqueueCopyBuffer(s->queue, src->mem, dst->mem, src_offset,
                                                        dst_offset, bytes, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return opencl_fail(opencl_status(err), err, "copy of %zu bytes", bytes);
    return KILN_OK;
}

static kiln_status opencl_fill(port_stream *s, port_mem *dst, size_t offset, uint8_t byte,
                               size_t bytes)
{
    kiln_status st = opencl_range_check(dst, offset, bytes, "fill");
    if (st != KILN_OK || bytes == 0)
        return st;
    /* The pattern is copied when the command is queued. */
    cl_int err = opencl_api.EnqueueFillBuffer(s->queue, dst->mem, &byte, sizeof byte, offset,
                                              bytes, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return opencl_fail(opencl_status(err), err, "clEnqueueFillBuffer of %zu bytes", bytes);
    return KILN_OK;
}

static kiln_status opencl_usage(port_device *dev, uint64_t *used, uint64_t *total)
{
    /* OpenCL has no query for device-wide memory use: "used" is what this
     * adapter allocated on the device, other processes not counted. */
    *used = atomic_load(&dev->used_bytes);
    *total = dev->info.memory_bytes;
    return KILN_OK;
}

const port_memory opencl_memory_ops = {
    .alloc = opencl_alloc,
    .free = opencl_free,
    .write = opencl_write,
    .read = opencl_read,
    .copy = opencl_copy,
    .fill = opencl_fill,
    .usage = opencl_usage,
    .host_alloc = opencl_host_alloc,
    .host_free = opencl_host_free,
};
