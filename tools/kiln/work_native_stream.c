/* The memory-bound native cases: copy, saxpy, sum and stencil, in CUDA C,
 * with the launch shapes and checks of work_copy.c, work_saxpy.c,
 * work_reduce.c and work_stencil.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_gpu_native.h"
#include "work.h"

#define STREAM_LOCAL_SIZE 256
#define STREAM_WARMUP 2
#define SAXPY_REL_TOLERANCE 0x1p-22
#define REDUCE_PER_ITEM 32
#define REDUCE_REL_TOLERANCE 0x1p-17
#define FLOAT4_LANES 4
#define STENCIL_LOCAL_X 64
#define STENCIL_LOCAL_Y 4
#define STENCIL_REL_TOLERANCE 0x1p-21

typedef struct stream_state {
    CUfunction fn;
    CUfunction fn4; /* reduce_sum4 */
    CUdeviceptr in;
    CUdeviceptr out;
    CUdeviceptr partial[2];
    CUdeviceptr result;
    uint32_t n;
    uint32_t width;
    uint32_t height;
    float a;
    float side;
} stream_state;

static float *random_floats(size_t n, work_rng *rng, float lo, float hi)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; v && i < n; i++)
        v[i] = work_rng_float(rng, lo, hi);
    return v;
}

static unsigned groups(size_t n, unsigned local)
{
    return (unsigned)((n + local - 1) / local);
}

static void release(gpu_native *g, stream_state *s, CUmodule mod)
{
    CUdeviceptr *ptrs[] = { &s->in, &s->out, &s->partial[0], &s->partial[1] };
    for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++)
        if (*ptrs[i])
            g->cu.MemFree(*ptrs[i]);
    if (mod)
        g->cu.ModuleUnload(mod);
}

/* ---- copy ---- */

static CUresult copy_run(gpu_native *g, void *state)
{
    stream_state *s = state;
    void *params[] = { &s->n, &s->in, &s->out };
    return g->cu.LaunchKernel(s->fn, groups(s->n, STREAM_LOCAL_SIZE), 1, 1, STREAM_LOCAL_SIZE, 1,
                              1, 0, g->stream, params, NULL);
}

bool gpu_native_copy(gpu_native *g, size_t n, bool vec4, uint64_t seed, unsigned reps,
                     gpu_native_result *res)
{
    memset(res, 0, sizeof *res);
    work_rng rng;
    work_rng_seed(&rng, seed);
    stream_state s = { .n = (uint32_t)(vec4 ? n / FLOAT4_LANES : n) };
    CUmodule mod = NULL;
    float *in = random_floats(n, &rng, -1.0f, 1.0f);
    float *got = malloc(n * sizeof *got);
    bool ok = in && got;
    if (!ok)
        snprintf(res->detail, sizeof res->detail, "out of host memory");
    ok = ok && gpu_native_function(g, "copy", vec4 ? "copy4" : "copy", &mod, &s.fn, res) &&
         gpu_native_alloc(g, n * sizeof *in, in, &s.in, res) &&
         gpu_native_alloc(g, n * sizeof *in, NULL, &s.out, res);
    CUresult rc = ok ? copy_run(g, &s) : CUDA_SUCCESS;
    if (ok && rc != CUDA_SUCCESS)
        ok = gpu_native_fail(g, res, "launch", rc);
    ok = ok && gpu_native_read(g, s.out, got, n * sizeof *got, res);
    if (ok && memcmp(got, in, n * sizeof *in) != 0) {
        snprintf(res->detail, sizeof res->detail, "native copy: out differs from in");
        ok = false;
    }
    if (ok) {
        snprintf(res->detail, sizeof res->detail, "out == in bit for bit, all %zu elements", n);
        ok = gpu_native_time(g, copy_run, &s, STREAM_WARMUP, reps, res);
    }
    release(g, &s, mod);
    free(in);
    free(got);
    return res->ok = ok;
}

/* ---- saxpy ---- */

static CUresult saxpy_run(gpu_native *g, void *state)
{
    stream_state *s = state;
    void *params[] = { &s->n, &s->a, &s->in, &s->out };
    return g->cu.LaunchKernel(s->fn, groups(s->n, STREAM_LOCAL_SIZE), 1, 1, STREAM_LOCAL_SIZE, 1,
                              1, 0, g->stream, params, NULL);
}

bool gpu_native_saxpy(gpu_native *g, size_t n, uint64_t seed, unsigned reps,
                      gpu_native_result *res)
{
    memset(res, 0, sizeof *res);
    work_rng rng;
    work_rng_seed(&rng, seed);
    stream_state s = { .n = (uint32_t)n, .a = work_rng_float(&rng, 0.5f, 4.0f) };
    CUmodule mod = NULL;
    float *x = random_floats(n, &rng, -1.0f, 1.0f);
    float *y = random_floats(n, &rng, -1.0f, 1.0f);
    float *got = malloc(n * sizeof *got);
    bool ok = x && y && got;
    if (!ok)
        snprintf(res->detail, sizeof res->detail, "out of host memory");
    ok = ok && gpu_native_function(g, "saxpy", "saxpy", &mod, &s.fn, res) &&
         gpu_native_alloc(g, n * sizeof *x, x, &s.in, res) &&
         gpu_native_alloc(g, n * sizeof *y, y, &s.out, res);
    CUresult rc = ok ? saxpy_run(g, &s) : CUDA_SUCCESS;
    if (ok && rc != CUDA_SUCCESS)
        ok = gpu_native_fail(g, res, "launch", rc);
    ok = ok && gpu_native_read(g, s.out, got, n * sizeof *got, res);
    for (size_t i = 0; ok && i < n; i++) {
        double want = (double)s.a * x[i] + y[i];
        double bound = SAXPY_REL_TOLERANCE * (fabs((double)s.a * x[i]) + fabs(y[i]));
        if (!(fabs(got[i] - want) <= bound)) {
            snprintf(res->detail, sizeof res->detail, "native: y[%zu] = %.9g, want %.9g", i,
                     got[i], want);
            ok = false;
        }
    }
    if (ok) {
        snprintf(res->detail, sizeof res->detail,
                 "|y - ref| <= 2^-22 (|a x| + |y|) for all %zu elements", n);
        ok = gpu_native_time(g, saxpy_run, &s, STREAM_WARMUP, reps, res);
    }
    release(g, &s, mod);
    free(x);
    free(y);
    free(got);
    return res->ok = ok;
}

/* ---- sum: the passes of work_reduce.c ---- */

static size_t pass_items(size_t count, size_t *local)
{
    size_t items = (count + REDUCE_PER_ITEM - 1) / REDUCE_PER_ITEM;
    *local = items < STREAM_LOCAL_SIZE ? items : STREAM_LOCAL_SIZE;
    return (items + *local - 1) / *local * *local;
}

static CUresult reduce_run(gpu_native *g, void *state)
{
    stream_state *s = state;
    CUdeviceptr in = s->in;
    size_t count = s->n;
    unsigned pass = 0;
    CUresult rc = CUDA_SUCCESS;
    do {
        size_t local;
        size_t items = pass_items(count, &local);
        CUdeviceptr out = s->partial[pass % 2];
        bool as_float4 = pass == 0 && count % FLOAT4_LANES == 0;
        uint32_t elements = (uint32_t)(as_float4 ? count / FLOAT4_LANES : count);
        void *params[] = { &elements, &in, &out };
        rc = g->cu.LaunchKernel(as_float4 ? s->fn4 : s->fn, (unsigned)(items / local), 1, 1,
                                (unsigned)local, 1, 1, 0, g->stream, params, NULL);
        in = out;
        count = items;
        pass++;
    } while (rc == CUDA_SUCCESS && count > 1);
    s->result = in;
    return rc;
}

bool gpu_native_reduce_sum(gpu_native *g, size_t n, uint64_t seed, unsigned reps,
                           gpu_native_result *res)
{
    memset(res, 0, sizeof *res);
    work_rng rng;
    work_rng_seed(&rng, seed);
    stream_state s = { .n = (uint32_t)n };
    CUmodule mod = NULL;
    float *x = random_floats(n, &rng, 0.0f, 1.0f);
    bool ok = x != NULL;
    if (!ok)
        snprintf(res->detail, sizeof res->detail, "out of host memory");
    double want = 0.0;
    for (size_t i = 0; ok && i < n; i++)
        want += x[i];
    size_t local;
    size_t partials = pass_items(n, &local);
    CUresult rc = CUDA_SUCCESS;
    ok = ok && gpu_native_function(g, "reduce_sum", "reduce_sum", &mod, &s.fn, res);
    if (ok && (rc = g->cu.ModuleGetFunction(&s.fn4, mod, "reduce_sum4")) != CUDA_SUCCESS)
        ok = gpu_native_fail(g, res, "cuModuleGetFunction", rc);
    ok = ok && gpu_native_alloc(g, n * sizeof *x, x, &s.in, res) &&
         gpu_native_alloc(g, partials * sizeof(float), NULL, &s.partial[0], res) &&
         gpu_native_alloc(g, partials * sizeof(float), NULL, &s.partial[1], res);
    if (ok && (rc = reduce_run(g, &s)) != CUDA_SUCCESS)
        ok = gpu_native_fail(g, res, "launch", rc);
    float sum = 0.0f;
    ok = ok && gpu_native_read(g, s.result, &sum, sizeof sum, res);
    if (ok && !(fabs(sum - want) <= REDUCE_REL_TOLERANCE * want)) {
        snprintf(res->detail, sizeof res->detail, "native: sum = %.9g, want %.9g", sum, want);
        ok = false;
    }
    if (ok) {
        snprintf(res->detail, sizeof res->detail,
                 "|sum - ref| <= 2^-17 sum|x| over %zu elements in [0, 1)", n);
        ok = gpu_native_time(g, reduce_run, &s, STREAM_WARMUP, reps, res);
    }
    release(g, &s, mod);
    free(x);
    return res->ok = ok;
}

/* ---- 5-point stencil ---- */

static CUresult stencil_run(gpu_native *g, void *state)
{
    stream_state *s = state;
    void *params[] = { &s->width, &s->height, &s->a, &s->side, &s->in, &s->out };
    return g->cu.LaunchKernel(s->fn, groups(s->width, STENCIL_LOCAL_X),
                              groups(s->height, STENCIL_LOCAL_Y), 1, STENCIL_LOCAL_X,
                              STENCIL_LOCAL_Y, 1, 0, g->stream, params, NULL);
}

static bool stencil_check(const float *got, const float *in, const stream_state *s,
                          gpu_native_result *res)
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
                want = (double)s->a * in[i] + (double)s->side * sides;
                bound = STENCIL_REL_TOLERANCE *
                        (fabs((double)s->a * in[i]) + fabs(s->side) * magnitude);
            }
            if (!(fabs(got[i] - want) <= bound)) {
                snprintf(res->detail, sizeof res->detail,
                         "native: out[%zu][%zu] = %.9g, want %.9g", y, x, got[i], want);
                return false;
            }
        }
    }
    return true;
}

bool gpu_native_stencil(gpu_native *g, uint32_t edge, uint64_t seed, unsigned reps,
                        gpu_native_result *res)
{
    memset(res, 0, sizeof *res);
    work_rng rng;
    work_rng_seed(&rng, seed);
    /* s.a is the centre weight, as work_stencil.c draws it. */
    stream_state s = { .width = edge, .height = edge, .a = work_rng_float(&rng, 0.2f, 0.6f) };
    s.side = (1.0f - s.a) / 4.0f;
    const size_t cells = (size_t)edge * edge;
    CUmodule mod = NULL;
    float *in = random_floats(cells, &rng, -1.0f, 1.0f);
    float *got = malloc(cells * sizeof *got);
    bool ok = in && got;
    if (!ok)
        snprintf(res->detail, sizeof res->detail, "out of host memory");
    ok = ok && gpu_native_function(g, "stencil5", "stencil5", &mod, &s.fn, res) &&
         gpu_native_alloc(g, cells * sizeof *in, in, &s.in, res) &&
         gpu_native_alloc(g, cells * sizeof *in, NULL, &s.out, res);
    CUresult rc = ok ? stencil_run(g, &s) : CUDA_SUCCESS;
    if (ok && rc != CUDA_SUCCESS)
        ok = gpu_native_fail(g, res, "launch", rc);
    ok = ok && gpu_native_read(g, s.out, got, cells * sizeof *got, res) &&
         stencil_check(got, in, &s, res);
    if (ok) {
        snprintf(res->detail, sizeof res->detail,
                 "|out - ref| <= 2^-21 sum of |terms| for all %zu cells", cells);
        ok = gpu_native_time(g, stencil_run, &s, STREAM_WARMUP, reps, res);
    }
    release(g, &s, mod);
    free(in);
    free(got);
    return res->ok = ok;
}
