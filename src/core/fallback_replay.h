/* The fallback itself, for fallback.c: record it, move the queue and every
 * buffer of its journal to the context's CPU device (the caller's handles
 * stay and now name CPU memory), rebuild the journaled kernels there, and
 * replay the journal in order. */
#ifndef KILN_CORE_FALLBACK_REPLAY_H
#define KILN_CORE_FALLBACK_REPLAY_H

#include "fallback.h"

/* Room for the fault's detail carried into the fallback's own messages. */
#define FALLBACK_DETAIL_MAX 1024

/* A write, copy or fill, as the caller gave it or as a replay resolves it. */
typedef struct fallback_transfer {
    journal_kind kind;
    kiln_buffer *dst;
    const kiln_buffer *src; /* copies */
    size_t dst_offset, src_offset, bytes;
    const void *data; /* writes */
    uint8_t byte;     /* fills */
} fallback_transfer;

/* Runs t through the plain forms (submit.h). */
kiln_status fallback_run_transfer(kiln_queue *q, const fallback_transfer *t);

/* The device failed with fault (its detail is the last error): falls back
 * and replays; the journal's last entry, a launch, gets event. KILN_OK when
 * everything ran on the CPU; the fault with why when the context has no CPU
 * device; KILN_ERR_AUDIT when the fallback could not be recorded (then
 * nothing moved). The journal is empty afterwards. */
kiln_status fallback_run(kiln_queue *q, fallback_queue *fb, kiln_status fault, kiln_event **event);

#endif
