/* Histogram with shared and global atomics (histogram.kc): every count must match the
 * host's exactly. No baseline: it is a demo of atomics, not a benchmark. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "work.h"

#define HISTOGRAM_LOCAL_SIZE 256
#define HISTOGRAM_BINS 64
/* The kernel's shared counters: exactly the bins used. */
#define HISTOGRAM_DEFINES "-DMAX_BINS=64"
/* Values are drawn from [0, HISTOGRAM_LIMIT); not a multiple of the bin
 * count, so that the bin arithmetic's rounding is exercised too. */
#define HISTOGRAM_LIMIT 1000003u

typedef struct histogram_state {
    kiln_queue *q;
    kiln_kernel *k;
    kiln_buffer *values;
    kiln_buffer *bins;
    uint32_t n;
} histogram_state;

static kiln_status histogram_run(void *state, kiln_event **first, kiln_event **last)
{
    histogram_state *s = state;
    kiln_status st = kiln_buffer_fill(s->q, s->bins, 0, 0, HISTOGRAM_BINS * sizeof(uint32_t));
    if (st != KILN_OK)
        return st;
    kiln_range range = { .dims = 1, .global = { s->n }, .local = { HISTOGRAM_LOCAL_SIZE } };
    kiln_arg args[] = { KILN_ARG_U32(s->n), KILN_ARG_BUFFER(s->values),
                        KILN_ARG_U32(HISTOGRAM_LIMIT), KILN_ARG_U32(HISTOGRAM_BINS),
                        KILN_ARG_BUFFER(s->bins) };
    st = kiln_launch(s->q, s->k, &range, args, 5, last);
    *first = *last;
    return st;
}

bool work_histogram(const work_env *env, size_t n, work_result *res)
{
    memset(res, 0, sizeof *res);
    res->name = "histogram";
    res->bytes = sizeof(uint32_t) * (double)n;
    if (n == 0 || n > UINT32_MAX)
        return work_fail(res, "size %zu out of range", n);

    work_rng rng;
    work_rng_seed(&rng, env->seed);
    histogram_state s = { .q = env->q, .n = (uint32_t)n };
    uint32_t *values = malloc(n * sizeof *values);
    uint32_t want[HISTOGRAM_BINS] = { 0 };
    uint32_t got[HISTOGRAM_BINS];
    kiln_program *prog = NULL;
    bool ok = values != NULL;
    if (!ok)
        work_fail(res, "out of host memory");
    for (size_t i = 0; ok && i < n; i++) {
        values[i] = work_rng_u32(&rng) % HISTOGRAM_LIMIT;
        want[(uint64_t)values[i] * HISTOGRAM_BINS / HISTOGRAM_LIMIT]++;
    }
    ok = ok && work_build(env, "histogram", HISTOGRAM_DEFINES, "histogram", &prog, &s.k, res);
    ok = ok && work_buffer(env, n * sizeof *values, values, &s.values, res);
    ok = ok && work_buffer(env, sizeof got, NULL, &s.bins, res);

    kiln_event *first = NULL;
    kiln_event *last = NULL;
    kiln_status st = KILN_OK;
    if (ok && (st = histogram_run(&s, &first, &last)) != KILN_OK)
        ok = work_fail_status(res, "launch", st);
    if (last)
        kiln_event_release(last);
    if (ok && (st = kiln_buffer_read(env->q, s.bins, 0, got, sizeof got)) != KILN_OK)
        ok = work_fail_status(res, "read", st);
    for (unsigned b = 0; ok && b < HISTOGRAM_BINS; b++)
        if (got[b] != want[b])
            ok = work_fail(res, "kiln: bin %u counts %u, want %u", b, got[b], want[b]);
    if (ok) {
        snprintf(res->detail, sizeof res->detail, "all %d bins exact over %zu values",
                 HISTOGRAM_BINS, n);
        res->ok = true;
    }
    ok = ok && work_time(env, histogram_run, NULL, &s, res);

    kiln_buffer_release(s.values);
    kiln_buffer_release(s.bins);
    kiln_kernel_release(s.k);
    kiln_program_release(prog);
    free(values);
    return ok;
}
