/* Tiled matrix multiply through shared memory and barriers
 * (matmul_tiled.kc): c = a * b for n x n floats, 2 n^3 FLOP. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baselines.h"
#include "work.h"

#define MATMUL_TILE BASELINE_SGEMM_TILE
#define MATMUL_DEFINES "-DTILE=16"
/* A dot product of n float terms errs by at most n 2^-24 sum |a_ik b_kj|
 * (Higham, Accuracy and Stability of Numerical Algorithms, 3.1). */
#define MATMUL_UNIT_ROUNDOFF 0x1p-24
/* Up to this size every element is checked against the double reference;
 * above it, this many random elements are, and kiln and the baseline are
 * compared element by element. */
#define MATMUL_FULL_CHECK_MAX 512
#define MATMUL_SAMPLES 4096

typedef struct matmul_state {
    kiln_queue *q;
    kiln_kernel *k;
    kiln_buffer *a;
    kiln_buffer *b;
    kiln_buffer *c;
    uint32_t n;
    const float *host_a;
    const float *host_b;
    float *host_c;
} matmul_state;

static kiln_status matmul_run(void *state, kiln_event **first, kiln_event **last)
{
    matmul_state *s = state;
    kiln_range range = { .dims = 2, .global = { s->n, s->n },
                         .local = { MATMUL_TILE, MATMUL_TILE } };
    kiln_arg args[] = { KILN_ARG_U32(s->n), KILN_ARG_BUFFER(s->a), KILN_ARG_BUFFER(s->b),
                        KILN_ARG_BUFFER(s->c) };
    kiln_status st = kiln_launch(s->q, s->k, &range, args, 4, last);
    *first = *last;
    return st;
}

static void matmul_baseline(void *state)
{
    matmul_state *s = state;
    baseline_sgemm_tiled(s->n, s->host_a, s->host_b, s->host_c);
}

static bool check_element(const char *who, const float *got, const float *a, const float *b,
                          uint32_t n, uint32_t row, uint32_t col, work_result *res)
{
    double want = 0.0;
    double magnitude = 0.0;
    for (uint32_t k = 0; k < n; k++) {
        double term = (double)a[(size_t)row * n + k] * b[(size_t)k * n + col];
        want += term;
        magnitude += fabs(term);
    }
    double bound = n * MATMUL_UNIT_ROUNDOFF * magnitude;
    float value = got[(size_t)row * n + col];
    if (!(fabs(value - want) <= bound))
        return work_fail(res, "%s: c[%u][%u] = %.9g, want %.9g (tolerance %.3g)", who, row,
                         col, value, want, bound);
    return true;
}

static bool matmul_check(const char *who, const float *got, const float *a, const float *b,
                         uint32_t n, uint64_t seed, work_result *res)
{
    if (n <= MATMUL_FULL_CHECK_MAX) {
        for (uint32_t row = 0; row < n; row++)
            for (uint32_t col = 0; col < n; col++)
                if (!check_element(who, got, a, b, n, row, col, res))
                    return false;
        return true;
    }
    work_rng rng;
    work_rng_seed(&rng, seed);
    for (unsigned i = 0; i < MATMUL_SAMPLES; i++)
        if (!check_element(who, got, a, b, n, work_rng_u32(&rng) % n, work_rng_u32(&rng) % n,
                           res))
            return false;
    return true;
}

/* Inputs lie in [-1, 1), so |sum| <= n and each result errs by at most
 * n * 2^-24 * n against the exact value; two results by twice that. */
static bool matmul_compare(const float *kiln, const float *baseline, uint32_t n,
                           work_result *res)
{
    double bound = 2.0 * n * MATMUL_UNIT_ROUNDOFF * n;
    for (size_t i = 0; i < (size_t)n * n; i++)
        if (!(fabs((double)kiln[i] - baseline[i]) <= bound))
            return work_fail(res, "kiln c[%zu] = %.9g but baseline %.9g (tolerance %.3g)", i,
                             kiln[i], baseline[i], bound);
    return true;
}

bool work_matmul(const work_env *env, uint32_t n, work_result *res)
{
    memset(res, 0, sizeof *res);
    res->name = "matmul_tiled";
    res->flops = 2.0 * n * (double)n * n;
    res->bytes = 3.0 * sizeof(float) * n * (double)n;
    res->compute_bound = true;
    if (n == 0 || n % MATMUL_TILE != 0)
        return work_fail(res, "size %u is not a multiple of %d", n, MATMUL_TILE);

    const size_t elems = (size_t)n * n;
    work_rng rng;
    work_rng_seed(&rng, env->seed);
    matmul_state s = { .q = env->q, .n = n };
    float *a = malloc(elems * sizeof *a);
    float *b = malloc(elems * sizeof *b);
    float *got = malloc(elems * sizeof *got);
    float *base = env->baseline ? malloc(elems * sizeof *base) : NULL;
    kiln_program *prog = NULL;
    bool ok = a && b && got && (base || !env->baseline);
    if (!ok)
        work_fail(res, "out of host memory");
    for (size_t i = 0; ok && i < elems; i++) {
        a[i] = work_rng_float(&rng, -1.0f, 1.0f);
        b[i] = work_rng_float(&rng, -1.0f, 1.0f);
    }
    ok = ok && work_build(env, "matmul_tiled", MATMUL_DEFINES, "matmul_tiled", &prog, &s.k, res);
    ok = ok && work_buffer(env, elems * sizeof *a, a, &s.a, res);
    ok = ok && work_buffer(env, elems * sizeof *b, b, &s.b, res);
    ok = ok && work_buffer(env, elems * sizeof *got, NULL, &s.c, res);

    kiln_event *first = NULL;
    kiln_event *last = NULL;
    kiln_status st = KILN_OK;
    if (ok && (st = matmul_run(&s, &first, &last)) != KILN_OK)
        ok = work_fail_status(res, "launch", st);
    if (last)
        kiln_event_release(last);
    if (ok && (st = kiln_buffer_read(env->q, s.c, 0, got, elems * sizeof *got)) != KILN_OK)
        ok = work_fail_status(res, "read", st);
    ok = ok && matmul_check("kiln", got, a, b, n, env->seed + 1, res);
    if (ok && env->baseline) {
        s.host_a = a;
        s.host_b = b;
        s.host_c = base;
        matmul_baseline(&s);
        ok = matmul_check("baseline", base, a, b, n, env->seed + 1, res) &&
             matmul_compare(got, base, n, res);
    }
    if (ok) {
        if (n <= MATMUL_FULL_CHECK_MAX)
            snprintf(res->detail, sizeof res->detail,
                     "|c - ref| <= n 2^-24 sum_k |a_ik b_kj| for all %zu elements", elems);
        else if (!env->baseline)
            snprintf(res->detail, sizeof res->detail,
                     "|c - ref| <= n 2^-24 sum_k |a_ik b_kj| on %d random elements",
                     MATMUL_SAMPLES);
        else
            snprintf(res->detail, sizeof res->detail,
                     "|c - ref| <= n 2^-24 sum_k |a_ik b_kj| on %d random elements; "
                     "kiln and baseline agree on all %zu",
                     MATMUL_SAMPLES, elems);
        res->ok = true;
    }
    ok = ok && work_time(env, matmul_run, matmul_baseline, &s, res);

    kiln_buffer_release(s.a);
    kiln_buffer_release(s.b);
    kiln_buffer_release(s.c);
    kiln_kernel_release(s.k);
    kiln_program_release(prog);
    free(a);
    free(b);
    free(got);
    free(base);
    return ok;
}
