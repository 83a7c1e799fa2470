/* The fallback journal (journal.h). */
#include <stdlib.h>
#include <string.h>

#include "../util/fail.h"
#include "journal.h"
#include "submit.h"

/* Room for this many entries or buffers at the first append: a typical
 * interval between synchronization points (write, a few launches, read). */
#define JOURNAL_FIRST_CAPACITY 16u

/* Grows *items (of size each) to hold one more; KILN_OK or out of memory. */
static kiln_status journal_grow(void **items, size_t *capacity, size_t count, size_t size)
{
    if (count < *capacity)
        return KILN_OK;
    size_t more = *capacity ? *capacity * 2 : JOURNAL_FIRST_CAPACITY;
    void *grown = realloc(*items, more * size);
    if (!grown)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "no memory for the fallback journal");
    *items = grown;
    *capacity = more;
    return KILN_OK;
}

kiln_status journal_buffer_of(journal *j, kiln_queue *q, kiln_buffer *buf, bool whole,
                              uint32_t *place)
{
    *place = JOURNAL_NO_PLACE;
    if (!buf || buf->magic != CORE_MAGIC_BUFFER || buf->dev != q->dev)
        return KILN_OK; /* the operation refuses it with its own detail */
    if (buf->journal_owner == q) {
        *place = buf->journal_index;
        return KILN_OK;
    }
    if (buf->journal_owner)
        return util_fail(KILN_ERR_UNSUPPORTED,
                         "the buffer is in the journal of another KILN_QUEUE_CPU_FALLBACK queue "
                         "since that queue's last synchronization point: finish that queue first "
                         "(two journals of one buffer could not both be replayed)");
    kiln_status st = journal_grow((void **)&j->buffers, &j->buffer_capacity, j->buffer_count,
                                  sizeof *j->buffers);
    if (st != KILN_OK)
        return st;
    journal_buffer *jb = &j->buffers[j->buffer_count];
    memset(jb, 0, sizeof *jb);
    jb->bytes = buf->bytes;
    jb->flags = buf->flags;
    if (!whole) {
        /* The cost of replayability: one read of the whole buffer per
         * synchronization interval, before the queue changes it. */
        if (!(jb->snapshot = malloc(buf->bytes)))
            return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY,
                             "no memory for a %zu-byte snapshot of a buffer (fallback journal)",
                             buf->bytes);
        if ((st = core_buffer_read(q, buf, 0, jb->snapshot, buf->bytes)) != KILN_OK) {
            free(jb->snapshot);
            return st;
        }
    }
    jb->buf = buf;
    buf->journal_owner = q;
    buf->journal_index = (uint32_t)j->buffer_count;
    *place = (uint32_t)j->buffer_count++;
    return KILN_OK;
}

journal_entry *journal_append(journal *j)
{
    if (journal_grow((void **)&j->entries, &j->capacity, j->count, sizeof *j->entries) != KILN_OK)
        return NULL;
    journal_entry *e = &j->entries[j->count++];
    memset(e, 0, sizeof *e);
    return e;
}

/* A by-value argument with bytes to keep (an empty one keeps nothing). */
static bool journal_keeps_bytes(const kiln_arg *a)
{
    return a->kind == KILN_ARG_KIND_BYTES && a->value.bytes && a->size;
}

kiln_status journal_copy_args(journal *j, kiln_queue *q, journal_entry *e, const kiln_arg *args,
                              uint32_t nargs)
{
    if (nargs == 0 || !args)
        return KILN_OK; /* the launch checks the count against the kernel */
    size_t by_value = 0;
    for (uint32_t i = 0; i < nargs; i++)
        if (journal_keeps_bytes(&args[i]))
            by_value += args[i].size;
    e->args = malloc(nargs * sizeof *e->args);
    /* Never NULL, so the copies below always have somewhere to go. */
    e->data = malloc(by_value ? by_value : 1);
    if (!e->args || !e->data)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "no memory to journal %u arguments", nargs);
    e->nargs = nargs;
    unsigned char *next = e->data;
    for (uint32_t i = 0; i < nargs; i++) {
        e->args[i] = args[i];
        if (journal_keeps_bytes(&args[i])) {
            memcpy(next, args[i].value.bytes, args[i].size);
            e->args[i].value.bytes = next;
            next += args[i].size;
        } else if (args[i].kind == KILN_ARG_KIND_BUFFER) {
            uint32_t place;
            /* A kernel may write any buffer it is given: snapshot it. */
            kiln_status st = journal_buffer_of(j, q, args[i].value.buffer, false, &place);
            if (st != KILN_OK)
                return st;
            e->args[i].value.buffer = NULL;
            e->args[i].size = place;
        }
    }
    return KILN_OK;
}

static void journal_entry_free(journal_entry *e)
{
    free(e->data);
    free(e->args);
    rebuild_release(e->source);
}

void journal_pop(journal *j)
{
    if (j->count)
        journal_entry_free(&j->entries[--j->count]);
}

kiln_buffer *journal_resolve(const journal *j, uint32_t place)
{
    if (place >= j->buffer_count)
        return NULL;
    const journal_buffer *jb = &j->buffers[place];
    return jb->buf ? jb->buf : jb->stand_in;
}

void journal_clear(journal *j)
{
    for (size_t i = 0; i < j->count; i++)
        journal_entry_free(&j->entries[i]);
    j->count = 0;
    for (size_t i = 0; i < j->buffer_count; i++) {
        journal_buffer *jb = &j->buffers[i];
        if (jb->buf)
            jb->buf->journal_owner = NULL;
        kiln_buffer_release(jb->stand_in);
        free(jb->snapshot);
    }
    j->buffer_count = 0;
}

void journal_free(journal *j)
{
    journal_clear(j);
    free(j->entries);
    free(j->buffers);
    memset(j, 0, sizeof *j);
}
