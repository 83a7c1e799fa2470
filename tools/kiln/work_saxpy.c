/* saxpy: y = a * x + y. Memory bound: 12 bytes move per element. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baselines.h"
#include "work.h"

#define SAXPY_LOCAL_SIZE 256
/* The result may differ from the double-precision reference by the
 * rounding of the multiply and the add (or one rounding under FMA
 * contraction): two units in the last place of the operands' magnitude. */
#define SAXPY_REL_TOLERANCE 0x1p-22

typedef struct saxpy_state {
    kiln_queue *q;
    kiln_kernel *k;
    kiln_buffer *x;
    kiln_buffer *y;
    uint32_t n;
    float a;
    const float *host_x; /* the baseline's inputs */
    float *host_y;
} saxpy_state;

static kiln_status saxpy_run(void *state, kiln_event **first, kiln_event **last)
{
    saxpy_state *s = state;
    kiln_range range = { .dims = 1, .global = { s->n }, .local = { SAXPY_LOCAL_SIZE } };
    kiln_arg args[] = { KILN_ARG_U32(s->n), KILN_ARG_F32(s->a), KILN_ARG_BUFFER(s->x),
                        KILN_ARG_BUFFER(s->y) };
    kiln_status st = kiln_launch(s->q, s->k, &range, args, 4, last);
    *first = *last;
    return st;
}

static void saxpy_baseline(void *state)
{
    saxpy_state *s = state;
    baseline_saxpy(s->n, s->a, s->host_x, s->host_y);
}

static bool saxpy_check(const char *who, const float *got, const float *x, const float *y,
                        float a, size_t n, work_result *res)
{
    for (size_t i = 0; i < n; i++) {
        double want = (double)a * x[i] + y[i];
        double bound = SAXPY_REL_TOLERANCE * (fabs((double)a * x[i]) + fabs(y[i]));
        if (!(fabs(got[i] - want) <= bound))
            return work_fail(res, "%s: y[%zu] = %.9g, want %.9g (tolerance %.3g)", who, i,
                             got[i], want, bound);
    }
    return true;
}

bool work_saxpy(const work_env *env, size_t n, work_result *res)
{
    memset(res, 0, sizeof *res);
    res->name = "saxpy";
    res->bytes = 3.0 * sizeof(float) * (double)n;
    res->flops = 2.0 * (double)n;
    if (n == 0 || n > UINT32_MAX)
        return work_fail(res, "size %zu out of range", n);

    work_rng rng;
    work_rng_seed(&rng, env->seed);
    saxpy_state s = { .q = env->q, .n = (uint32_t)n, .a = work_rng_float(&rng, 0.5f, 4.0f) };
    float *x = malloc(n * sizeof *x);
    float *y = malloc(n * sizeof *y);
    float *got = malloc(n * sizeof *got);
    kiln_program *prog = NULL;
    bool ok = x && y && got;
    if (!ok)
        work_fail(res, "out of host memory");
    for (size_t i = 0; ok && i < n; i++) {
        x[i] = work_rng_float(&rng, -1.0f, 1.0f);
        y[i] = work_rng_float(&rng, -1.0f, 1.0f);
    }
    ok = ok && work_build(env, "saxpy", NULL, "saxpy", &prog, &s.k, res);
    ok = ok && work_buffer(env, n * sizeof *x, x, &s.x, res);
    ok = ok && work_buffer(env, n * sizeof *y, y, &s.y, res);

    /* Check one run on the fresh inputs before timing anything. */
    kiln_event *first = NULL;
    kiln_event *last = NULL;
    kiln_status st = KILN_OK;
    if (ok && (st = saxpy_run(&s, &first, &last)) != KILN_OK)
        ok = work_fail_status(res, "launch", st);
    if (last)
        kiln_event_release(last);
    if (ok && (st = kiln_buffer_read(env->q, s.y, 0, got, n * sizeof *got)) != KILN_OK)
        ok = work_fail_status(res, "read", st);
    ok = ok && saxpy_check("kiln", got, x, y, s.a, n, res);
    if (ok && env->baseline) {
        memcpy(got, y, n * sizeof *got);
        s.host_x = x;
        s.host_y = got;
        saxpy_baseline(&s);
        ok = saxpy_check("baseline", got, x, y, s.a, n, res);
    }
    if (ok) {
        snprintf(res->detail, sizeof res->detail,
                 "|y - ref| <= 2^-22 (|a x| + |y|) for all %zu elements", n);
        res->ok = true;
    }
    ok = ok && work_time(env, saxpy_run, saxpy_baseline, &s, res);

    kiln_buffer_release(s.x);
    kiln_buffer_release(s.y);
    kiln_kernel_release(s.k);
    kiln_program_release(prog);
    free(x);
    free(y);
    free(got);
    return ok;
}
