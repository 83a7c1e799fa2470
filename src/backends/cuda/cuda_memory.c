/* The memory port on CUDA. Copies are queued on the caller's stream with
 * the Async calls so they follow its earlier work; write and read then
 * wait for the stream, because the port promises the host memory is free
 * (write) or filled (read) on return. Pageable host memory is staged by
 * the driver; a kiln host buffer is registered (pinned) and copied by DMA. */
#include <string.h>
#include <stdlib.h>

#include "../../util/fail.h"
#include "cuda_host_memory.h"
#include "cuda_internal.h"

static int cuda_range_fits(const port_mem *mem, size_t offset, size_t bytes)
{
    return offset <= mem->bytes && bytes <= mem->bytes - offset;
}

static kiln_status cuda_range_check(const port_mem *mem, size_t offset, size_t bytes,
                                    const char *what)
{
    if (!mem)
        return util_fail(KILN_ERR_NULL_HANDLE, "cuda: %s: no buffer", what);
    if (!cuda_range_fits(mem, offset, bytes))
        return util_fail(KILN_ERR_OUT_OF_RANGE,
                         "cuda: %s of %zu bytes at offset %zu passes the end of a %zu-byte buffer",
                         what, bytes, offset, mem->bytes);
    return KILN_OK;
}

/* Enters the stream's device and checks that every buffer is of the same
 * device and context generation as the stream. */
static kiln_status cuda_enter_stream(port_stream *s, const port_mem *a, const port_mem *b,
                                     const char *what)
{
    if (!s)
        return util_fail(KILN_ERR_NULL_HANDLE, "cuda: %s: no stream", what);
    const port_mem *mems[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        if (mems[i] && mems[i]->dev != s->dev)
            return util_fail(KILN_ERR_INVALID_HANDLE,
                             "cuda: %s: the buffer belongs to another device", what);
        if (mems[i] && mems[i]->generation != s->generation)
            return util_fail(KILN_ERR_DEVICE_LOST,
                             "cuda: %s: the buffer or the stream is from before a device reset",
                             what);
    }
    return cuda_enter(s->dev, s->generation, "stream");
}

static kiln_status cuda_alloc(port_device *dev, size_t bytes, port_mem **out)
{
    *out = NULL;
    if (bytes == 0)
        return util_fail(KILN_ERR_INVALID_SIZE, "cuda: cannot allocate 0 bytes");
    if (bytes > dev->info.memory_bytes)
        return util_fail(KILN_ERR_OUT_OF_MEMORY,
                         "cuda: %zu bytes exceed the %llu bytes of device %d", bytes,
                         (unsigned long long)dev->info.memory_bytes, dev->ordinal);
    port_mem *mem = malloc(sizeof *mem);
    if (!mem)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "cuda: no memory for a buffer");
    unsigned generation = atomic_load(&dev->generation);
    kiln_status st = cuda_enter(dev, generation, "allocation");
    if (st == KILN_OK) {
        st = cuda_check(dev, cuda_driver.MemAlloc(&mem->ptr, bytes), "cuMemAlloc");
        cuda_leave(dev);
    }
    if (st != KILN_OK) {
        free(mem);
        return st;
    }
    mem->dev = dev;
    mem->bytes = bytes;
    mem->generation = generation;
    *out = mem;
    return KILN_OK;
}

static void cuda_free(port_device *dev, port_mem *mem)
{
    if (!mem)
        return;
    if (cuda_enter_release(mem->dev, mem->generation)) {
        cuda_driver.MemFree(mem->ptr);
        cuda_leave(mem->dev);
    }
    free(mem);
}

/* Waits for the stream; the status of the first failure wins. */
static kiln_status cuda_finish(port_stream *s, kiln_status st)
{
    kiln_status sync = cuda_check(s->dev, cuda_driver.StreamSynchronize(s->stream),
                                  "cuStreamSynchronize");
    return st != KILN_OK ? st : sync;
}

static kiln_status cuda_write(port_stream *s, port_mem *dst, size_t offset, const void *src,
                              size_t bytes)
{
    kiln_status st = cuda_range_check(dst, offset, bytes, "write");
    if (st == KILN_OK && bytes && !src)
        st = util_fail(KILN_ERR_NULL_HANDLE, "cuda: write from no host memory");
    if (st != KILN_OK || bytes == 0)
        return st;
    if ((st = cuda_enter_stream(s, dst, NULL, "write")) != KILN_OK)
        return st;
    st = cuda_check(s->dev, cuda_driver.MemcpyHtoDAsync(dst->ptr + offset, src, bytes, s->stream),
                    "cuMemcpyHtoDAsync");
    st = cuda_finish(s, st);
    cuda_leave(s->dev);
    return st;
}

static kiln_status cuda_read(port_stream *s, port_mem *src, size_t offset, void *dst,
                             size_t bytes)
{
    kiln_status st = cuda_range_check(src, offset, bytes, "read");
    if (st == KILN_OK && bytes && !dst)
        st = util_fail(KILN_ERR_NULL_HANDLE, "cuda: read into no host memory");
    if (st != KILN_OK || bytes == 0)
        return st;
    if ((st = cuda_enter_stream(s, src, NULL, "read")) != KILN_OK)
        return st;
    st = cuda_check(s->dev, cuda_driver.MemcpyDtoHAsync(dst, src->ptr + offset, bytes, s->stream),
                    "cuMemcpyDtoHAsync");
    st = cuda_finish(s, st);
    cuda_leave(s->dev);
    return st;
}

/* Overlapping ranges of one buffer go through a scratch allocation: the
 * driver's device-to-device copy does not promise memmove semantics. */
static kiln_status cuda_copy_overlapping(port_stream *s, CUdeviceptr dst, CUdeviceptr src,
                                         size_t bytes)
{
    CUdeviceptr scratch = 0;
    kiln_status st = cuda_check(s->dev, cuda_driver.MemAlloc(&scratch, bytes),
                                "cuMemAlloc (copy scratch)");
    if (st != KILN_OK)
        return st;
    st = cuda_check(s->dev, cuda_driver.MemcpyDtoDAsync(scratch, src, bytes, s->stream),
                    "cuMemcpyDtoDAsync");
    if (st == KILN_OK)
        st = cuda_check(s->dev, cuda_driver.MemcpyDtoDAsync(dst, scratch, bytes, s->stream),
                        "cuMemcpyDtoDAsync");
    /* The scratch may go only once both copies have run. */
    kiln_status sync = cuda_check(s->dev, cuda_driver.StreamSynchronize(s->stream),
                                  "cuStreamSynchronize");
    cuda_driver.MemFree(scratch);
    if (st == KILN_OK)
        st = sync;
    return st;
}

static kiln_status cuda_copy(port_stream *s, port_mem *dst, size_t dst_offset, port_mem *src,
                             size_t src_offset, size_t bytes)
{
    kiln_status st = cuda_range_check(dst, dst_offset, bytes, "copy destination");
    if (st == KILN_OK)
        st = cuda_range_check(src, src_offset, bytes, "copy source");
    if (st != KILN_OK || bytes == 0)
        return st;
    if ((st = cuda_enter_stream(s, dst, src, "copy")) != KILN_OK)
        return st;
    CUdeviceptr to = dst->ptr + dst_offset, from = src->ptr + src_offset;
    int overlap = dst == src && to < from + bytes && from < to + bytes && to != from;
    if (overlap)
        st = cuda_copy_overlapping(s, to, from, bytes);
    else if (to != from)
        st = cuda_check(s->dev, cuda_driver.MemcpyDtoDAsync(to, from, bytes, s->stream),
                        "cuMemcpyDtoDAsync");
    cuda_leave(s->dev);
    return st;
}

static kiln_status cuda_fill(port_stream *s, port_mem *dst, size_t offset, uint8_t byte,
                             size_t bytes)
{
    kiln_status st = cuda_range_check(dst, offset, bytes, "fill");
    if (st != KILN_OK || bytes == 0)
        return st;
    if ((st = cuda_enter_stream(s, dst, NULL, "fill")) != KILN_OK)
        return st;
    st = cuda_check(s->dev, cuda_driver.MemsetD8Async(dst->ptr + offset, byte, bytes, s->stream),
                    "cuMemsetD8Async");
    cuda_leave(s->dev);
    return st;
}

static kiln_status cuda_usage(port_device *dev, uint64_t *used, uint64_t *total)
{
    kiln_status st = cuda_enter(dev, atomic_load(&dev->generation), "usage query");
    if (st != KILN_OK)
        return st;
    size_t free_bytes = 0, total_bytes = 0;
    st = cuda_check(dev, cuda_driver.MemGetInfo(&free_bytes, &total_bytes), "cuMemGetInfo");
    cuda_leave(dev);
    if (st != KILN_OK)
        return st;
    *used = total_bytes - free_bytes;
    *total = total_bytes;
    return KILN_OK;
}

const port_memory cuda_memory_ops = {
    .alloc = cuda_alloc,
    .free = cuda_free,
    .write = cuda_write,
    .read = cuda_read,
    .copy = cuda_copy,
    .fill = cuda_fill,
    .usage = cuda_usage,
    .host_alloc = cuda_host_alloc,
    .host_free = cuda_host_free,
};
