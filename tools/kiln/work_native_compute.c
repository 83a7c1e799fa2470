/* The native histogram and tiled SGEMM cases in CUDA C, with the launch
 * shapes and checks of work_histogram.c and work_matmul.c, and cuBLAS SGEMM
 * on the same inputs: the best a CUDA programmer could call. */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_gpu_native.h"
#include "work.h"

#define COMPUTE_WARMUP 2
#define HISTOGRAM_LOCAL_SIZE 256
#define HISTOGRAM_BINS 64
#define HISTOGRAM_LIMIT 1000003u
#define MATMUL_TILE 16
#define MATMUL_UNIT_ROUNDOFF 0x1p-24
#define MATMUL_SAMPLES 4096

/* ---- histogram ---- */

typedef struct histogram_state {
    CUfunction fn;
    CUdeviceptr values;
    CUdeviceptr bins;
    uint32_t n;
    uint32_t limit;
    uint32_t nbins;
} histogram_state;

static CUresult histogram_run(gpu_native *g, void *state)
{
    histogram_state *s = state;
    /* As histogram_run in work_histogram.c: zero the bins, then count. */
    CUresult rc = g->cu.MemsetD8Async(s->bins, 0, HISTOGRAM_BINS * sizeof(uint32_t), g->stream);
    if (rc != CUDA_SUCCESS)
        return rc;
    void *params[] = { &s->n, &s->values, &s->limit, &s->nbins, &s->bins };
    unsigned grid = (s->n + HISTOGRAM_LOCAL_SIZE - 1) / HISTOGRAM_LOCAL_SIZE;
    return g->cu.LaunchKernel(s->fn, grid, 1, 1, HISTOGRAM_LOCAL_SIZE, 1, 1, 0, g->stream,
                              params, NULL);
}

bool gpu_native_histogram(gpu_native *g, size_t n, uint64_t seed, unsigned reps,
                          gpu_native_result *res)
{
    memset(res, 0, sizeof *res);
    work_rng rng;
    work_rng_seed(&rng, seed);
    histogram_state s = { .n = (uint32_t)n, .limit = HISTOGRAM_LIMIT, .nbins = HISTOGRAM_BINS };
    CUmodule mod = NULL;
    uint32_t *values = malloc(n * sizeof *values);
    uint32_t want[HISTOGRAM_BINS] = { 0 };
    uint32_t got[HISTOGRAM_BINS];
    bool ok = values != NULL;
    if (!ok)
        snprintf(res->detail, sizeof res->detail, "out of host memory");
    for (size_t i = 0; ok && i < n; i++) {
        values[i] = work_rng_u32(&rng) % HISTOGRAM_LIMIT;
        want[(uint64_t)values[i] * HISTOGRAM_BINS / HISTOGRAM_LIMIT]++;
    }
    ok = ok && gpu_native_function(g, "histogram", "histogram", &mod, &s.fn, res) &&
         gpu_native_alloc(g, n * sizeof *values, values, &s.values, res) &&
         gpu_native_alloc(g, sizeof got, NULL, &s.bins, res);
    CUresult rc = ok ? histogram_run(g, &s) : CUDA_SUCCESS;
    if (ok && rc != CUDA_SUCCESS)
        ok = gpu_native_fail(g, res, "launch", rc);
    ok = ok && gpu_native_read(g, s.bins, got, sizeof got, res);
    for (unsigned b = 0; ok && b < HISTOGRAM_BINS; b++)
        if (got[b] != want[b]) {
            snprintf(res->detail, sizeof res->detail, "native: bin %u counts %u, want %u", b,
                     got[b], want[b]);
            ok = false;
        }
    if (ok) {
        snprintf(res->detail, sizeof res->detail, "all %d bins exact over %zu values",
                 HISTOGRAM_BINS, n);
        ok = gpu_native_time(g, histogram_run, &s, COMPUTE_WARMUP, reps, res);
    }
    if (s.values)
        g->cu.MemFree(s.values);
    if (s.bins)
        g->cu.MemFree(s.bins);
    if (mod)
        g->cu.ModuleUnload(mod);
    free(values);
    return res->ok = ok;
}

/* ---- tiled SGEMM and cuBLAS ---- */

/* The four cuBLAS entry points used, declared here so that building kiln
 * needs no CUDA toolkit (cublas_api.h; cudaStream_t is a CUstream). */
typedef struct cublas_context *cublas_handle;
#define CUBLAS_STATUS_SUCCESS 0
#define CUBLAS_OP_N 0
typedef struct cublas_api {
    void *library;
    int (*create)(cublas_handle *handle);
    int (*destroy)(cublas_handle handle);
    int (*set_stream)(cublas_handle handle, CUstream stream);
    int (*sgemm)(cublas_handle handle, int transa, int transb, int m, int n, int k,
                 const float *alpha, const float *a, int lda, const float *b, int ldb,
                 const float *beta, float *c, int ldc);
} cublas_api;

static bool cublas_load(cublas_api *api, char *why, size_t why_size)
{
    static const char *const names[] = {
        "libcublas.so.13", "libcublas.so.12", "/usr/local/cuda/lib64/libcublas.so.13",
        "/usr/local/cuda/lib64/libcublas.so.12", "/usr/local/cuda/lib64/libcublas.so",
    };
    memset(api, 0, sizeof *api);
    for (size_t i = 0; !api->library && i < sizeof names / sizeof names[0]; i++)
        api->library = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!api->library) {
        snprintf(why, why_size, "baseline unavailable: libcublas.so.13/.12 not found");
        return false;
    }
    *(void **)&api->create = dlsym(api->library, "cublasCreate_v2");
    *(void **)&api->destroy = dlsym(api->library, "cublasDestroy_v2");
    *(void **)&api->set_stream = dlsym(api->library, "cublasSetStream_v2");
    *(void **)&api->sgemm = dlsym(api->library, "cublasSgemm_v2");
    if (!api->create || !api->destroy || !api->set_stream || !api->sgemm) {
        snprintf(why, why_size, "baseline unavailable: libcublas lacks cublasSgemm_v2 & co.");
        dlclose(api->library);
        api->library = NULL;
        return false;
    }
    return true;
}

typedef struct matmul_state {
    CUfunction fn;
    CUdeviceptr a;
    CUdeviceptr b;
    CUdeviceptr c;
    uint32_t n;
    cublas_api blas;
    cublas_handle handle;
} matmul_state;

static CUresult matmul_run(gpu_native *g, void *state)
{
    matmul_state *s = state;
    void *params[] = { &s->n, &s->a, &s->b, &s->c };
    unsigned grid = s->n / MATMUL_TILE;
    return g->cu.LaunchKernel(s->fn, grid, grid, 1, MATMUL_TILE, MATMUL_TILE, 1, 0, g->stream,
                              params, NULL);
}

/* cuBLAS is column-major: the row-major C = A B is, read column-major,
 * C^T = B^T A^T, so B goes first. */
static CUresult cublas_run(gpu_native *g, void *state)
{
    (void)g;
    matmul_state *s = state;
    const float one = 1.0f;
    const float zero = 0.0f;
    int n = (int)s->n;
    int st = s->blas.sgemm(s->handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one,
                           (const float *)(uintptr_t)s->b, n, (const float *)(uintptr_t)s->a,
                           n, &zero, (float *)(uintptr_t)s->c, n);
    /* A cuBLAS failure has no CUresult; report it as an invalid value. */
    return st == CUBLAS_STATUS_SUCCESS ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

static bool matmul_check(const char *who, const float *got, const float *a, const float *b,
                         uint32_t n, uint64_t seed, gpu_native_result *res)
{
    work_rng rng;
    work_rng_seed(&rng, seed);
    for (unsigned i = 0; i < MATMUL_SAMPLES; i++) {
        uint32_t row = work_rng_u32(&rng) % n;
        uint32_t col = work_rng_u32(&rng) % n;
        double want = 0.0;
        double magnitude = 0.0;
        for (uint32_t k = 0; k < n; k++) {
            double term = (double)a[(size_t)row * n + k] * b[(size_t)k * n + col];
            want += term;
            magnitude += fabs(term);
        }
        float value = got[(size_t)row * n + col];
        if (!(fabs(value - want) <= n * MATMUL_UNIT_ROUNDOFF * magnitude)) {
            snprintf(res->detail, sizeof res->detail, "%s: c[%u][%u] = %.9g, want %.9g", who,
                     row, col, value, want);
            return false;
        }
    }
    return true;
}

/* Checks one run of fn on the inputs, then times it. */
static bool matmul_case(gpu_native *g, gpu_native_run_fn fn, matmul_state *s, const char *who,
                        const float *a, const float *b, float *got, uint64_t seed,
                        unsigned reps, gpu_native_result *res)
{
    size_t bytes = (size_t)s->n * s->n * sizeof(float);
    CUresult rc = g->cu.MemsetD8Async(s->c, 0, bytes, g->stream);
    if (rc == CUDA_SUCCESS)
        rc = fn(g, s);
    if (rc != CUDA_SUCCESS)
        return gpu_native_fail(g, res, who, rc);
    if (!gpu_native_read(g, s->c, got, bytes, res) ||
        !matmul_check(who, got, a, b, s->n, seed, res))
        return false;
    snprintf(res->detail, sizeof res->detail,
             "%s: |c - ref| <= n 2^-24 sum_k |a_ik b_kj| on %d random elements", who,
             MATMUL_SAMPLES);
    return gpu_native_time(g, fn, s, COMPUTE_WARMUP, reps, res);
}

bool gpu_native_matmul(gpu_native *g, uint32_t n, uint64_t seed, unsigned reps, bool cublas,
                       gpu_native_result *res)
{
    memset(res, 0, sizeof *res);
    if (n == 0 || n % MATMUL_TILE != 0) {
        snprintf(res->detail, sizeof res->detail, "size %u is not a multiple of %d", n,
                 MATMUL_TILE);
        return false;
    }
    const size_t elems = (size_t)n * n;
    work_rng rng;
    work_rng_seed(&rng, seed);
    matmul_state s = { .n = n };
    CUmodule mod = NULL;
    float *a = malloc(elems * sizeof *a);
    float *b = malloc(elems * sizeof *b);
    float *got = malloc(elems * sizeof *got);
    bool ok = a && b && got;
    if (!ok)
        snprintf(res->detail, sizeof res->detail, "out of host memory");
    for (size_t i = 0; ok && i < elems; i++) {
        a[i] = work_rng_float(&rng, -1.0f, 1.0f);
        b[i] = work_rng_float(&rng, -1.0f, 1.0f);
    }
    ok = ok && gpu_native_alloc(g, elems * sizeof *a, a, &s.a, res) &&
         gpu_native_alloc(g, elems * sizeof *b, b, &s.b, res) &&
         gpu_native_alloc(g, elems * sizeof *got, NULL, &s.c, res);
    if (ok && cublas) {
        ok = cublas_load(&s.blas, res->detail, sizeof res->detail);
        if (ok && (s.blas.create(&s.handle) != CUBLAS_STATUS_SUCCESS ||
                   s.blas.set_stream(s.handle, g->stream) != CUBLAS_STATUS_SUCCESS)) {
            snprintf(res->detail, sizeof res->detail, "baseline unavailable: cublasCreate failed");
            s.handle = NULL;
            ok = false;
        }
        ok = ok && matmul_case(g, cublas_run, &s, "cuBLAS", a, b, got, seed + 1, reps, res);
    } else if (ok) {
        ok = gpu_native_function(g, "matmul_tiled", "matmul_tiled", &mod, &s.fn, res) &&
             matmul_case(g, matmul_run, &s, "native", a, b, got, seed + 1, reps, res);
    }
    if (s.handle)
        s.blas.destroy(s.handle);
    /* libcublas stays loaded: unloading it while the CUDA runtime it
     * started still runs is not something NVIDIA supports. */
    CUdeviceptr *ptrs[] = { &s.a, &s.b, &s.c };
    for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++)
        if (*ptrs[i])
            g->cu.MemFree(*ptrs[i]);
    if (mod)
        g->cu.ModuleUnload(mod);
    free(a);
    free(b);
    free(got);
    return res->ok = ok;
}
