/* Zeroing new buffers of a governed context (hygiene.h). */
#include "hygiene.h"

#include "../util/fail.h"
#include "device_open.h"

/* The zeroing stream asks for no priority: it runs once per allocation, on
 * the allocating thread, which waits for it anyway. */
#define HYGIENE_STREAM_PRIORITY ((int)KILN_PRIORITY_NORMAL)

/* The base device's stream, made under its lock on first use. */
static kiln_status hygiene_stream(kiln_device *base, port_stream **out)
{
    if (!base->hygiene_stream) {
        kiln_status st = base->ops->execution->stream_create(base->port, HYGIENE_STREAM_PRIORITY,
                                                             &base->hygiene_stream);
        if (st != KILN_OK) {
            base->hygiene_stream = NULL;
            return st;
        }
    }
    *out = base->hygiene_stream;
    return KILN_OK;
}

kiln_status hygiene_clear(kiln_device *dev, port_mem **mem, size_t bytes)
{
    if (!dev->ctx->gov)
        return KILN_OK;
    kiln_device *base = dev->base;
    port_stream *stream = NULL;
    pthread_mutex_lock(&base->hygiene_lock);
    kiln_status st = hygiene_stream(base, &stream);
    if (st == KILN_OK)
        st = base->ops->memory->fill(stream, *mem, 0, 0, bytes);
    if (st == KILN_OK)
        st = base->ops->execution->synchronize(stream);
    if (st != KILN_OK && base->hygiene_stream) {
        /* A fault may leave the stream unusable (an adapter recovers with a
         * fresh device context): the next allocation makes a new one. */
        base->ops->execution->stream_destroy(base->hygiene_stream);
        base->hygiene_stream = NULL;
    }
    pthread_mutex_unlock(&base->hygiene_lock);
    st = core_device_note(base, st);
    if (st != KILN_OK) {
        /* Never handed out unzeroed: the caller gets the error instead. */
        base->ops->memory->free(base->port, *mem);
        *mem = NULL;
        return util_fail(st, "device '%s' could not zero a new buffer of %zu bytes: %s",
                         base->info.name, bytes, util_last_error());
    }
    return KILN_OK;
}

void hygiene_close(kiln_device *base)
{
    if (base->hygiene_stream)
        base->ops->execution->stream_destroy(base->hygiene_stream);
    base->hygiene_stream = NULL;
    pthread_mutex_destroy(&base->hygiene_lock);
}
