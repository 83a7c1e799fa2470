/* Sum reduction: passes of reduce_sum.kc, each leaving one partial sum per
 * PER_ITEM elements, until one value is left; the first pass reads float4
 * (reduce_sum4) when n is a multiple of 4. Memory bound: 4 bytes per
 * element of the first pass (the later passes add 1/PER_ITEM of that). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baselines.h"
#include "work.h"

/* Elements each work-item adds; passed to the kernel as -DPER_ITEM. */
#define REDUCE_PER_ITEM 32
#define REDUCE_DEFINES "-DPER_ITEM=32"
#define REDUCE_LOCAL_SIZE 256
#define FLOAT4_LANES 4
/* Summing m floats in any order errs by at most (m - 1) 2^-24 sum |x|.
 * kiln adds at most PER_ITEM values at a time over five passes for 2^25
 * elements; the baseline adds a chunk of 4096 per SIMD lane group, then the
 * chunks one by one per thread, which in the worst case is far looser, but
 * for positive random inputs both stay well inside 2^-17 (about 7.6e-6) of
 * sum |x|, while a missing work-group of 8192 elements errs by far more. */
#define REDUCE_REL_TOLERANCE 0x1p-17

typedef struct reduce_state {
    kiln_queue *q;
    kiln_kernel *k;
    kiln_kernel *k4; /* reduce_sum4, for a first pass over n % 4 == 0 */
    kiln_buffer *x;
    kiln_buffer *partial[2];
    kiln_buffer *result; /* where the last pass left the sum */
    uint32_t n;
    const float *host_x;
    float baseline_sum;
} reduce_state;

static size_t round_up(size_t value, size_t multiple)
{
    return (value + multiple - 1) / multiple * multiple;
}

/* Work-items of one pass over count elements, and its local size: whole
 * groups of REDUCE_LOCAL_SIZE while there are enough, one small group at
 * the end so that the sum shrinks to a single value. */
static size_t pass_items(size_t count, size_t *local)
{
    size_t items = (count + REDUCE_PER_ITEM - 1) / REDUCE_PER_ITEM;
    *local = items < REDUCE_LOCAL_SIZE ? items : REDUCE_LOCAL_SIZE;
    return round_up(items, *local);
}

static kiln_status reduce_run(void *state, kiln_event **first, kiln_event **last)
{
    reduce_state *s = state;
    kiln_buffer *in = s->x;
    size_t count = s->n;
    unsigned pass = 0;
    kiln_status st = KILN_OK;
    *first = *last = NULL;
    do {
        size_t local;
        size_t items = pass_items(count, &local);
        kiln_buffer *out = s->partial[pass % 2];
        kiln_range range = { .dims = 1, .global = { items }, .local = { local } };
        bool as_float4 = pass == 0 && count % FLOAT4_LANES == 0;
        uint32_t elements = (uint32_t)(as_float4 ? count / FLOAT4_LANES : count);
        kiln_arg args[] = { KILN_ARG_U32(elements), KILN_ARG_BUFFER(in), KILN_ARG_BUFFER(out) };
        bool is_last = items == 1;
        kiln_event **event = pass == 0 ? first : is_last ? last : NULL;
        st = kiln_launch(s->q, as_float4 ? s->k4 : s->k, &range, args, 3, event);
        in = out;
        count = items;
        pass++;
    } while (st == KILN_OK && count > 1);
    s->result = in;
    if (st == KILN_OK && !*last)
        *last = *first; /* a single pass */
    if (st != KILN_OK) {
        if (*first)
            kiln_event_release(*first);
        *first = NULL;
    }
    return st;
}

static void reduce_baseline(void *state)
{
    reduce_state *s = state;
    s->baseline_sum = baseline_reduce_sum(s->n, s->host_x);
}

static bool reduce_check(const char *who, double got, double want, double magnitude,
                         work_result *res)
{
    double bound = REDUCE_REL_TOLERANCE * magnitude;
    if (!(fabs(got - want) <= bound))
        return work_fail(res, "%s: sum = %.9g, want %.9g (tolerance %.3g)", who, got, want,
                         bound);
    return true;
}

bool work_reduce_sum(const work_env *env, size_t n, work_result *res)
{
    memset(res, 0, sizeof *res);
    res->name = "reduce_sum";
    res->bytes = sizeof(float) * (double)n;
    res->flops = (double)n;
    if (n == 0 || n > UINT32_MAX)
        return work_fail(res, "size %zu out of range", n);

    work_rng rng;
    work_rng_seed(&rng, env->seed);
    reduce_state s = { .q = env->q, .n = (uint32_t)n };
    float *x = malloc(n * sizeof *x);
    kiln_program *prog = NULL;
    bool ok = x != NULL;
    if (!ok)
        work_fail(res, "out of host memory");
    /* Positive inputs: then sum |x| is the sum itself and the tolerance is
     * tight relative to what is being checked. */
    double want = 0.0;
    for (size_t i = 0; ok && i < n; i++) {
        x[i] = work_rng_float(&rng, 0.0f, 1.0f);
        want += x[i];
    }
    size_t local;
    size_t partials = pass_items(n, &local);
    kiln_status st = KILN_OK;
    ok = ok && work_build(env, "reduce_sum", REDUCE_DEFINES, "reduce_sum", &prog, &s.k, res);
    if (ok && (st = kiln_kernel_get(prog, "reduce_sum4", &s.k4)) != KILN_OK)
        ok = work_fail_status(res, "kernel lookup", st);
    ok = ok && work_buffer(env, n * sizeof *x, x, &s.x, res);
    ok = ok && work_buffer(env, partials * sizeof(float), NULL, &s.partial[0], res);
    ok = ok && work_buffer(env, partials * sizeof(float), NULL, &s.partial[1], res);

    kiln_event *first = NULL;
    kiln_event *last = NULL;
    float sum = 0.0f;
    if (ok && (st = reduce_run(&s, &first, &last)) != KILN_OK)
        ok = work_fail_status(res, "launch", st);
    if (first && first != last)
        kiln_event_release(first);
    if (last)
        kiln_event_release(last);
    if (ok && (st = kiln_buffer_read(env->q, s.result, 0, &sum, sizeof sum)) != KILN_OK)
        ok = work_fail_status(res, "read", st);
    ok = ok && reduce_check("kiln", sum, want, want, res);
    if (ok && env->baseline) {
        s.host_x = x;
        reduce_baseline(&s);
        ok = reduce_check("baseline", s.baseline_sum, want, want, res);
    }
    if (ok) {
        snprintf(res->detail, sizeof res->detail,
                 "|sum - ref| <= 2^-17 sum|x| over %zu elements in [0, 1)", n);
        res->ok = true;
    }
    ok = ok && work_time(env, reduce_run, reduce_baseline, &s, res);

    kiln_buffer_release(s.x);
    kiln_buffer_release(s.partial[0]);
    kiln_buffer_release(s.partial[1]);
    kiln_kernel_release(s.k);
    kiln_kernel_release(s.k4);
    kiln_program_release(prog);
    free(x);
    return ok;
}
