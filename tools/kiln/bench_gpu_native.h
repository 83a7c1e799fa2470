/* The native side of `kiln bench --suite gpu`: the same kernels written by
 * hand in CUDA C (bench/cuda, compiled by nvcc at build time to cubins),
 * loaded and launched through the CUDA driver API on the device's primary
 * context, the one kiln's CUDA backend uses, and timed with CUDA events.
 * Also the device-to-device copy and cuBLAS SGEMM references. */
#ifndef KILN_CLI_BENCH_GPU_NATIVE_H
#define KILN_CLI_BENCH_GPU_NATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cuda_api.h"

typedef struct gpu_native {
    bool ready;          /* the driver, context, stream and events are up */
    char why[256];       /* why not, when !ready */
    cuda_driver_api cu;
    CUdevice dev;
    CUcontext ctx;       /* the primary context, shared with kiln */
    CUstream stream;
    CUevent start;
    CUevent stop;
    char device_name[128];
    int driver_version;  /* CUDA driver API version, 13000 for 13.0 */
} gpu_native;

/* What one native case reports. */
typedef struct gpu_native_result {
    bool ok;
    char detail[256];    /* the check that held, or why the case failed */
    double ns;           /* median device time of one run, CUDA events */
} gpu_native_result;

/* Opens CUDA device 0 (where kiln's cuda:0 is). */
bool gpu_native_open(gpu_native *g);
void gpu_native_close(gpu_native *g);

/* Loads kernel `name` from FILE.cubin in the cubin directory (env
 * KILN_BENCH_CUBIN_DIR, else the build's). On failure res->detail says
 * "baseline unavailable" and why. */
bool gpu_native_function(gpu_native *g, const char *file, const char *name, CUmodule *mod,
                         CUfunction *fn, gpu_native_result *res);

/* Device memory: allocated and, when src is not NULL, filled from src. */
bool gpu_native_alloc(gpu_native *g, size_t bytes, const void *src, CUdeviceptr *ptr,
                      gpu_native_result *res);
bool gpu_native_read(gpu_native *g, CUdeviceptr ptr, void *dst, size_t bytes,
                     gpu_native_result *res);

/* One run of a case, queued on g->stream. */
typedef CUresult (*gpu_native_run_fn)(gpu_native *g, void *state);

/* warmup untimed runs, then reps runs each between two events; stores the
 * median in res->ns. */
bool gpu_native_time(gpu_native *g, gpu_native_run_fn fn, void *state, unsigned warmup,
                     unsigned reps, gpu_native_result *res);

/* Formats a failed driver call into res and returns false. */
bool gpu_native_fail(gpu_native *g, gpu_native_result *res, const char *what, CUresult rc);

/* The cases, at the sizes and launch shapes of the kiln workloads (work_*.c);
 * every one checks its result against a host reference on fresh random
 * inputs drawn from seed before it is timed. */
bool gpu_native_dtod(gpu_native *g, size_t n, unsigned reps, gpu_native_result *res);
/* copy, or with vec4 copy4 (float4 per thread). */
bool gpu_native_copy(gpu_native *g, size_t n, bool vec4, uint64_t seed, unsigned reps,
                     gpu_native_result *res);
bool gpu_native_saxpy(gpu_native *g, size_t n, uint64_t seed, unsigned reps,
                      gpu_native_result *res);
bool gpu_native_reduce_sum(gpu_native *g, size_t n, uint64_t seed, unsigned reps,
                           gpu_native_result *res);
bool gpu_native_stencil(gpu_native *g, uint32_t edge, uint64_t seed, unsigned reps,
                        gpu_native_result *res);
bool gpu_native_histogram(gpu_native *g, size_t n, uint64_t seed, unsigned reps,
                          gpu_native_result *res);
/* matmul_tiled.cu, and when cublas is true cuBLAS SGEMM on the same inputs. */
bool gpu_native_matmul(gpu_native *g, uint32_t n, uint64_t seed, unsigned reps, bool cublas,
                       gpu_native_result *res);

#endif
