/* The memory port on the CPU: device memory is host memory. Every copy runs
 * when called; the stream's earlier work is already done then, because a
 * CPU launch completes before it returns (README.md, threading model). */
#include <stdlib.h>
#include <string.h>

#include "../../util/fail.h"
#include "cpu_host_memory.h"
#include "cpu_internal.h"

/* Whether [offset, offset + bytes) lies inside mem, without overflow. */
static int cpu_range_fits(const port_mem *mem, size_t offset, size_t bytes)
{
    return offset <= mem->bytes && bytes <= mem->bytes - offset;
}

static kiln_status cpu_range_check(const port_mem *mem, size_t offset, size_t bytes,
                                   const char *what)
{
    if (!mem)
        return util_fail(KILN_ERR_NULL_HANDLE, "cpu: %s: no buffer", what);
    if (!cpu_range_fits(mem, offset, bytes))
        return util_fail(KILN_ERR_OUT_OF_RANGE,
                         "cpu: %s of %zu bytes at offset %zu passes the end of a %zu-byte buffer",
                         what, bytes, offset, mem->bytes);
    return KILN_OK;
}

/* Reserves bytes against physical memory; 0 if the device cannot hold them. */
static int cpu_reserve(port_device *dev, size_t bytes)
{
    uint64_t total = dev->info.memory_bytes;
    uint64_t used = atomic_load(&dev->used_bytes);
    do {
        if (total && (bytes > total || used > total - bytes))
            return 0;
    } while (!atomic_compare_exchange_weak(&dev->used_bytes, &used, used + bytes));
    return 1;
}

static kiln_status cpu_alloc(port_device *dev, size_t bytes, port_mem **out)
{
    if (bytes == 0)
        return util_fail(KILN_ERR_INVALID_SIZE, "cpu: cannot allocate 0 bytes");
    if (!cpu_reserve(dev, bytes))
        return util_fail(KILN_ERR_OUT_OF_MEMORY,
                         "cpu: %zu bytes do not fit: %llu of %llu bytes of RAM are allocated",
                         bytes, (unsigned long long)atomic_load(&dev->used_bytes),
                         (unsigned long long)dev->info.memory_bytes);
    port_mem *mem = malloc(sizeof *mem);
    /* aligned_alloc wants a size that is a multiple of the alignment. */
    size_t rounded = (bytes + CPU_ALLOC_ALIGNMENT - 1) & ~(size_t)(CPU_ALLOC_ALIGNMENT - 1);
    void *data = mem && rounded >= bytes ? aligned_alloc(CPU_ALLOC_ALIGNMENT, rounded) : NULL;
    if (!data) {
        free(mem);
        atomic_fetch_sub(&dev->used_bytes, bytes);
        return util_fail(KILN_ERR_OUT_OF_MEMORY, "cpu: the system refused %zu bytes", bytes);
    }
    mem->data = data;
    mem->bytes = bytes;
    *out = mem;
    return KILN_OK;
}

static void cpu_free(port_device *dev, port_mem *mem)
{
    if (!mem)
        return;
    atomic_fetch_sub(&dev->used_bytes, mem->bytes);
    free(mem->data);
    free(mem);
}

static kiln_status cpu_write(port_stream *s, port_mem *dst, size_t offset, const void *src,
                             size_t bytes)
{
    kiln_status st = cpu_range_check(dst, offset, bytes, "write");
    if (st != KILN_OK)
        return st;
    if (bytes)
        memcpy((char *)dst->data + offset, src, bytes);
    return KILN_OK;
}

static kiln_status cpu_read(port_stream *s, port_mem *src, size_t offset, void *dst, size_t bytes)
{
    kiln_status st = cpu_range_check(src, offset, bytes, "read");
    if (st != KILN_OK)
        return st;
    if (bytes)
        memcpy(dst, (const char *)src->data + offset, bytes);
    return KILN_OK;
}

static kiln_status cpu_copy(port_stream *s, port_mem *dst, size_t dst_offset, port_mem *src,
                            size_t src_offset, size_t bytes)
{
    kiln_status st = cpu_range_check(dst, dst_offset, bytes, "copy destination");
    if (st == KILN_OK)
        st = cpu_range_check(src, src_offset, bytes, "copy source");
    if (st != KILN_OK)
        return st;
    /* memmove: a copy within one buffer may overlap. */
    if (bytes)
        memmove((char *)dst->data + dst_offset, (const char *)src->data + src_offset, bytes);
    return KILN_OK;
}

static kiln_status cpu_fill(port_stream *s, port_mem *dst, size_t offset, uint8_t byte,
                            size_t bytes)
{
    kiln_status st = cpu_range_check(dst, offset, bytes, "fill");
    if (st != KILN_OK)
        return st;
    if (bytes)
        memset((char *)dst->data + offset, byte, bytes);
    return KILN_OK;
}

static kiln_status cpu_usage(port_device *dev, uint64_t *used, uint64_t *total)
{
    *used = atomic_load(&dev->used_bytes);
    *total = dev->info.memory_bytes;
    return KILN_OK;
}

const port_memory cpu_memory_ops = {
    .alloc = cpu_alloc,
    .free = cpu_free,
    .write = cpu_write,
    .read = cpu_read,
    .copy = cpu_copy,
    .fill = cpu_fill,
    .usage = cpu_usage,
    .host_alloc = cpu_host_alloc,
    .host_free = cpu_host_free,
};
