/* Host buffers: page-locked host memory allocated through the device's
 * memory port, so that the device's copies from and into it skip the
 * driver's staging through its own pinned bounce buffer. The memory is the
 * caller's to fill and read; kiln_buffer_write/read take its pointer like
 * any other host memory. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/fail.h"
#include "device_open.h"
#include "handles.h"
#include "session.h"

struct kiln_host_buffer {
    uint32_t magic; /* first, as every handle (handles.h) */
    kiln_device *dev;
    port_host_mem *mem;
    void *data;
    size_t bytes;
};

/* Physical RAM in bytes; 0 when the system does not say. Page-locked
 * memory cannot be swapped out, so no request beyond it can succeed. */
static uint64_t host_physical_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES);
    long page_size = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page_size <= 0)
        return 0;
    return (uint64_t)pages * (uint64_t)page_size;
}

KILN_API kiln_status kiln_host_buffer_create(kiln_device *dev, size_t bytes,
                                             kiln_host_buffer **out)
{
    CORE_CHECK(dev, CORE_MAGIC_DEVICE, "device");
    CORE_CHECK_OUT(out, "out");
    *out = NULL;
    if (bytes == 0)
        return util_fail(KILN_ERR_INVALID_SIZE, "host buffer size is zero");
    uint64_t physical = host_physical_memory();
    if (physical && bytes > physical)
        return util_fail(KILN_ERR_INVALID_SIZE,
                         "host buffer size %zu bytes is larger than the host's memory "
                         "(%llu bytes)",
                         bytes, (unsigned long long)physical);
    const port_memory *memory = dev->ops->memory;
    if (!memory->host_alloc || !memory->host_free)
        return util_fail(KILN_ERR_NOT_IMPLEMENTED, "device '%s' has no page-locked host memory",
                         dev->info.name);
    kiln_status st = core_device_usable(dev);
    if (st != KILN_OK)
        return st;
    kiln_host_buffer *hb = calloc(1, sizeof *hb);
    if (!hb)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "no memory for a host buffer handle");
    st = core_device_note(dev, memory->host_alloc(dev->port, bytes, &hb->data, &hb->mem));
    if (st != KILN_OK) {
        free(hb);
        return st;
    }
    /* Memory hygiene: host memory passes between principals through the
     * allocator as device memory does, so a governed context hands it out
     * zeroed too (on the host: no device work). */
    if (dev->ctx->gov)
        memset(hb->data, 0, bytes);
    hb->dev = dev;
    hb->bytes = bytes;
    hb->magic = CORE_MAGIC_HOST_BUFFER;
    session_object_made(dev);
    *out = hb;
    return KILN_OK;
}

KILN_API void *kiln_host_buffer_data(const kiln_host_buffer *hb)
{
    if (core_check_handle(hb, CORE_MAGIC_HOST_BUFFER, "host buffer") != KILN_OK)
        return NULL;
    return hb->data;
}

KILN_API size_t kiln_host_buffer_size(const kiln_host_buffer *hb)
{
    if (core_check_handle(hb, CORE_MAGIC_HOST_BUFFER, "host buffer") != KILN_OK)
        return 0;
    return hb->bytes;
}

KILN_API void kiln_host_buffer_release(kiln_host_buffer *hb)
{
    if (!hb || hb->magic != CORE_MAGIC_HOST_BUFFER)
        return;
    hb->dev->ops->memory->host_free(hb->dev->port, hb->mem);
    session_object_gone(hb->dev);
    hb->magic = CORE_MAGIC_RELEASED;
    free(hb);
}
