/* One Jacobi step of the 5-point stencil (stencil5.kc). Memory bound: each
 * cell is read once and written once when the neighbouring rows stay in
 * cache. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baselines.h"
#include "work.h"

/* 64 cells of a row per work-group row: a run the CPU can vectorize and a
 * GPU can coalesce. */
#define STENCIL_LOCAL_X 64
#define STENCIL_LOCAL_Y 4
/* Four additions and two multiplications per interior cell. */
#define STENCIL_FLOPS_PER_CELL 6
/* Five rounded operations on terms of the given magnitude. */
#define STENCIL_REL_TOLERANCE 0x1p-21

typedef struct stencil_state {
    kiln_queue *q;
    kiln_kernel *k;
    kiln_buffer *in;
    kiln_buffer *out;
    uint32_t width;
    uint32_t height;
    float center;
    float side;
    const float *host_in;
    float *host_out;
} stencil_state;

static kiln_status stencil_run(void *state, kiln_event **first, kiln_event **last)
{
    stencil_state *s = state;
    kiln_range range = { .dims = 2, .global = { s->width, s->height },
                         .local = { STENCIL_LOCAL_X, STENCIL_LOCAL_Y } };
    kiln_arg args[] = { KILN_ARG_U32(s->width), KILN_ARG_U32(s->height), KILN_ARG_F32(s->center),
                        KILN_ARG_F32(s->side), KILN_ARG_BUFFER(s->in), KILN_ARG_BUFFER(s->out) };
    kiln_status st = kiln_launch(s->q, s->k, &range, args, 6, last);
    *first = *last;
    return st;
}

static void stencil_baseline(void *state)
{
    stencil_state *s = state;
    baseline_stencil5(s->width, s->height, s->center, s->side, s->host_in, s->host_out);
}

static bool stencil_check(const char *who, const float *got, const stencil_state *s,
                          const float *in, work_result *res)
{
    const size_t w = s->width;
    for (size_t y = 0; y < s->height; y++) {
        for (size_t x = 0; x < w; x++) {
            size_t i = y * w + x;
            double want = in[i];
            double bound = 0.0;
            if (x > 0 && y > 0 && x < w - 1 && y < s->height - 1) {
                double sides = (double)in[i - 1] + in[i + 1] + in[i - w] + in[i + w];
                double magnitude = fabs(in[i - 1]) + fabs(in[i + 1]) + fabs(in[i - w]) +
                                   fabs(in[i + w]);
                want = (double)s->center * in[i] + (double)s->side * sides;
                bound = STENCIL_REL_TOLERANCE *
                        (fabs((double)s->center * in[i]) + fabs(s->side) * magnitude);
            }
            if (!(fabs(got[i] - want) <= bound))
                return work_fail(res, "%s: out[%zu][%zu] = %.9g, want %.9g (tolerance %.3g)",
                                 who, y, x, got[i], want, bound);
        }
    }
    return true;
}

bool work_stencil(const work_env *env, uint32_t width, uint32_t height, work_result *res)
{
    memset(res, 0, sizeof *res);
    res->name = "stencil5";
    const size_t cells = (size_t)width * height;
    res->bytes = 2.0 * sizeof(float) * (double)cells;
    res->flops = STENCIL_FLOPS_PER_CELL * (double)cells;
    if (cells == 0)
        return work_fail(res, "empty grid");

    work_rng rng;
    work_rng_seed(&rng, env->seed);
    stencil_state s = { .q = env->q, .width = width, .height = height,
                        .center = work_rng_float(&rng, 0.2f, 0.6f) };
    s.side = (1.0f - s.center) / 4.0f;
    float *in = malloc(cells * sizeof *in);
    float *got = malloc(cells * sizeof *got);
    kiln_program *prog = NULL;
    bool ok = in && got;
    if (!ok)
        work_fail(res, "out of host memory");
    for (size_t i = 0; ok && i < cells; i++)
        in[i] = work_rng_float(&rng, -1.0f, 1.0f);
    ok = ok && work_build(env, "stencil5", NULL, "stencil5", &prog, &s.k, res);
    ok = ok && work_buffer(env, cells * sizeof *in, in, &s.in, res);
    ok = ok && work_buffer(env, cells * sizeof *got, NULL, &s.out, res);

    kiln_event *first = NULL;
    kiln_event *last = NULL;
    kiln_status st = KILN_OK;
    if (ok && (st = stencil_run(&s, &first, &last)) != KILN_OK)
        ok = work_fail_status(res, "launch", st);
    if (last)
        kiln_event_release(last);
    if (ok && (st = kiln_buffer_read(env->q, s.out, 0, got, cells * sizeof *got)) != KILN_OK)
        ok = work_fail_status(res, "read", st);
    ok = ok && stencil_check("kiln", got, &s, in, res);
    if (ok && env->baseline) {
        memset(got, 0, cells * sizeof *got);
        s.host_in = in;
        s.host_out = got;
        stencil_baseline(&s);
        ok = stencil_check("baseline", got, &s, in, res);
    }
    if (ok) {
        snprintf(res->detail, sizeof res->detail,
                 "|out - ref| <= 2^-21 sum of |terms| for all %zu cells", cells);
        res->ok = true;
    }
    ok = ok && work_time(env, stencil_run, stencil_baseline, &s, res);

    kiln_buffer_release(s.in);
    kiln_buffer_release(s.out);
    kiln_kernel_release(s.k);
    kiln_program_release(prog);
    free(in);
    free(got);
    return ok;
}
