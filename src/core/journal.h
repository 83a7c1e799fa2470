/* A fallback queue's journal (fallback.h): what the queue did since its last
 * synchronization point, enough to do it again on the CPU. Buffers are named
 * by their place in the journal's buffer table, so a buffer the caller
 * releases before the next synchronization point can still be stood in for. */
#ifndef KILN_CORE_JOURNAL_H
#define KILN_CORE_JOURNAL_H

#include "core_types.h"
#include "rebuild.h"

typedef enum journal_kind {
    JOURNAL_LAUNCH = 1,
    JOURNAL_WRITE,
    JOURNAL_COPY,
    JOURNAL_FILL
} journal_kind;

typedef struct journal_buffer {
    kiln_buffer *buf;      /* NULL once the caller released it */
    void *snapshot;        /* its contents at the synchronization point; NULL
                            * when the first operation wrote or filled it whole */
    size_t bytes;
    uint32_t flags;
    kiln_buffer *stand_in; /* during a replay: the CPU buffer of a released one */
} journal_buffer;

typedef struct journal_entry {
    journal_kind kind;
    bool ran_on_device; /* a launch the device accepted (counted there) */
    uint32_t dst, src;  /* buffer table places */
    size_t dst_offset, src_offset, bytes;
    uint8_t byte;
    void *data; /* a write's data; a launch's by-value argument bytes */
    /* Launches: the kernel's kept source and CPU twin (a reference to the
     * source is held), the range, and the arguments with each buffer given
     * as .size = its table place and .value.buffer = NULL. */
    core_source *source;
    rebuild_twin *twin;
    kiln_range range;
    kiln_arg *args;
    uint32_t nargs;
} journal_entry;

typedef struct journal {
    journal_entry *entries;
    size_t count, capacity;
    journal_buffer *buffers;
    size_t buffer_count, buffer_capacity;
} journal;

/* What journal_buffer_of gives a buffer the operation itself will refuse
 * (not a live buffer of the queue's device): nothing is recorded for it. */
#define JOURNAL_NO_PLACE UINT32_MAX

/* The table place of buf for queue q, adding it (and reading its snapshot
 * through q unless whole is set: the operation defines all of it) on first
 * use since the synchronization point. A buffer in another fallback queue's
 * journal is KILN_ERR_UNSUPPORTED; a snapshot read's failure is returned. */
kiln_status journal_buffer_of(journal *j, kiln_queue *q, kiln_buffer *buf, bool whole,
                              uint32_t *place);

/* A new zeroed entry at the end (NULL with a detail when out of memory). */
journal_entry *journal_append(journal *j);

/* Copies args into e (buffers by table place, adding them through
 * journal_buffer_of; by-value bytes copied). */
kiln_status journal_copy_args(journal *j, kiln_queue *q, journal_entry *e, const kiln_arg *args,
                              uint32_t nargs);

/* Drops the last entry (an operation that failed for another reason than
 * the device). Its buffers stay in the table: harmless. */
void journal_pop(journal *j);

/* The buffer an entry names, for a replay. */
kiln_buffer *journal_resolve(const journal *j, uint32_t place);

/* A synchronization point: forgets everything (stand-ins released). */
void journal_clear(journal *j);

/* Frees what journal_clear leaves (the arrays). */
void journal_free(journal *j);

#endif
