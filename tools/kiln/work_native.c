/* The native CUDA layer of `kiln bench --suite gpu`: driver, primary
 * context, cubins, memory and event timing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_gpu_native.h"
#include "work.h"

#ifndef KILN_BENCH_CUBIN_DIR
#define KILN_BENCH_CUBIN_DIR ""
#endif
#define CUBIN_PATH_MAX 1024
#define NS_PER_MS 1e6
#define DTOD_WARMUP 2
/* Knuth's multiplicative hash: a pattern in which no word repeats nearby. */
#define DTOD_PATTERN 2654435761u

bool gpu_native_fail(gpu_native *g, gpu_native_result *res, const char *what, CUresult rc)
{
    const char *name = NULL;
    if (!g->cu.GetErrorName || g->cu.GetErrorName(rc, &name) != CUDA_SUCCESS)
        name = NULL;
    snprintf(res->detail, sizeof res->detail, "%s: CUDA error %d (%s)", what, rc,
             name ? name : "?");
    res->ok = false;
    return false;
}

static bool open_fail(gpu_native *g, const char *what, CUresult rc)
{
    const char *name = NULL;
    if (g->cu.GetErrorName)
        g->cu.GetErrorName(rc, &name);
    snprintf(g->why, sizeof g->why, "%s: CUDA error %d (%s)", what, rc, name ? name : "?");
    return false;
}

bool gpu_native_open(gpu_native *g)
{
    memset(g, 0, sizeof *g);
    if (!cuda_api_load_driver(&g->cu, g->why, sizeof g->why))
        return false;
    int count = 0;
    CUresult rc = g->cu.Init(0);
    if (rc == CUDA_SUCCESS)
        rc = g->cu.DeviceGetCount(&count);
    if (rc != CUDA_SUCCESS)
        return open_fail(g, "cuInit", rc);
    if (count == 0) {
        snprintf(g->why, sizeof g->why, "no CUDA device");
        return false;
    }
    g->cu.DriverGetVersion(&g->driver_version);
    if ((rc = g->cu.DeviceGet(&g->dev, 0)) != CUDA_SUCCESS)
        return open_fail(g, "cuDeviceGet", rc);
    g->cu.DeviceGetName(g->device_name, sizeof g->device_name, g->dev);
    if ((rc = g->cu.DevicePrimaryCtxRetain(&g->ctx, g->dev)) != CUDA_SUCCESS)
        return open_fail(g, "cuDevicePrimaryCtxRetain", rc);
    if ((rc = g->cu.CtxSetCurrent(g->ctx)) != CUDA_SUCCESS ||
        (rc = g->cu.StreamCreateWithPriority(&g->stream, CU_STREAM_NON_BLOCKING, 0)) !=
            CUDA_SUCCESS ||
        (rc = g->cu.EventCreate(&g->start, CU_EVENT_DEFAULT)) != CUDA_SUCCESS ||
        (rc = g->cu.EventCreate(&g->stop, CU_EVENT_DEFAULT)) != CUDA_SUCCESS) {
        gpu_native_close(g);
        return open_fail(g, "stream and events", rc);
    }
    g->ready = true;
    return true;
}

void gpu_native_close(gpu_native *g)
{
    if (!g->ctx)
        return;
    g->cu.CtxSetCurrent(g->ctx);
    if (g->start)
        g->cu.EventDestroy(g->start);
    if (g->stop)
        g->cu.EventDestroy(g->stop);
    if (g->stream)
        g->cu.StreamDestroy(g->stream);
    g->cu.DevicePrimaryCtxRelease(g->dev);
    g->ctx = NULL;
    g->ready = false;
}

static void *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *data = NULL;
    long len = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0)
        data = malloc((size_t)len);
    if (data && fread(data, 1, (size_t)len, f) != (size_t)len) {
        free(data);
        data = NULL;
    }
    fclose(f);
    *size = data ? (size_t)len : 0;
    return data;
}

bool gpu_native_function(gpu_native *g, const char *file, const char *name, CUmodule *mod,
                         CUfunction *fn, gpu_native_result *res)
{
    const char *dir = getenv("KILN_BENCH_CUBIN_DIR");
    if (!dir || !dir[0])
        dir = KILN_BENCH_CUBIN_DIR;
    char path[CUBIN_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s.cubin", dir, file);
    size_t size;
    void *image = read_file(path, &size);
    if (!image) {
        snprintf(res->detail, sizeof res->detail,
                 "baseline unavailable: no %.160s (nvcc was not found when kiln was built?)", path);
        res->ok = false;
        return false;
    }
    g->cu.CtxSetCurrent(g->ctx);
    CUresult rc = g->cu.ModuleLoadDataEx(mod, image, 0, NULL, NULL);
    free(image);
    if (rc != CUDA_SUCCESS)
        return gpu_native_fail(g, res, "baseline unavailable: cuModuleLoadDataEx", rc);
    if ((rc = g->cu.ModuleGetFunction(fn, *mod, name)) != CUDA_SUCCESS) {
        g->cu.ModuleUnload(*mod);
        *mod = NULL;
        return gpu_native_fail(g, res, "cuModuleGetFunction", rc);
    }
    return true;
}

bool gpu_native_alloc(gpu_native *g, size_t bytes, const void *src, CUdeviceptr *ptr,
                      gpu_native_result *res)
{
    g->cu.CtxSetCurrent(g->ctx);
    CUresult rc = g->cu.MemAlloc(ptr, bytes);
    if (rc != CUDA_SUCCESS) {
        *ptr = 0;
        return gpu_native_fail(g, res, "cuMemAlloc", rc);
    }
    if (src) {
        rc = g->cu.MemcpyHtoDAsync(*ptr, src, bytes, g->stream);
        if (rc == CUDA_SUCCESS)
            rc = g->cu.StreamSynchronize(g->stream);
        if (rc != CUDA_SUCCESS)
            return gpu_native_fail(g, res, "cuMemcpyHtoD", rc);
    }
    return true;
}

bool gpu_native_read(gpu_native *g, CUdeviceptr ptr, void *dst, size_t bytes,
                     gpu_native_result *res)
{
    CUresult rc = g->cu.MemcpyDtoHAsync(dst, ptr, bytes, g->stream);
    if (rc == CUDA_SUCCESS)
        rc = g->cu.StreamSynchronize(g->stream);
    return rc == CUDA_SUCCESS || gpu_native_fail(g, res, "run or cuMemcpyDtoH", rc);
}

bool gpu_native_time(gpu_native *g, gpu_native_run_fn fn, void *state, unsigned warmup,
                     unsigned reps, gpu_native_result *res)
{
    double *times = calloc(reps ? reps : 1, sizeof *times);
    if (!times) {
        snprintf(res->detail, sizeof res->detail, "out of host memory");
        return res->ok = false;
    }
    g->cu.CtxSetCurrent(g->ctx);
    CUresult rc = CUDA_SUCCESS;
    for (unsigned i = 0; rc == CUDA_SUCCESS && i < warmup; i++)
        rc = fn(g, state);
    if (rc == CUDA_SUCCESS)
        rc = g->cu.StreamSynchronize(g->stream);
    for (unsigned i = 0; rc == CUDA_SUCCESS && i < reps; i++) {
        float ms = 0.0f;
        rc = g->cu.EventRecord(g->start, g->stream);
        if (rc == CUDA_SUCCESS)
            rc = fn(g, state);
        if (rc == CUDA_SUCCESS)
            rc = g->cu.EventRecord(g->stop, g->stream);
        if (rc == CUDA_SUCCESS)
            rc = g->cu.EventSynchronize(g->stop);
        if (rc == CUDA_SUCCESS)
            rc = g->cu.EventElapsedTime(&ms, g->start, g->stop);
        times[i] = ms * NS_PER_MS;
    }
    bool ok = rc == CUDA_SUCCESS || gpu_native_fail(g, res, "timed run", rc);
    if (ok)
        res->ns = work_median(times, reps);
    free(times);
    return ok;
}

/* ---- the device-to-device copy: the bandwidth every memory-bound case is
 * a share of ---- */

typedef struct dtod_state {
    CUdeviceptr src;
    CUdeviceptr dst;
    size_t bytes;
} dtod_state;

static CUresult dtod_run(gpu_native *g, void *state)
{
    dtod_state *s = state;
    return g->cu.MemcpyDtoDAsync(s->dst, s->src, s->bytes, g->stream);
}

bool gpu_native_dtod(gpu_native *g, size_t n, unsigned reps, gpu_native_result *res)
{
    memset(res, 0, sizeof *res);
    dtod_state s = { .bytes = n * sizeof(float) };
    /* A known pattern rather than random data: the copy's speed does not
     * depend on the values, and the check needs only the pattern. */
    uint32_t *host = malloc(s.bytes);
    bool ok = host != NULL;
    for (size_t i = 0; ok && i < n; i++)
        host[i] = (uint32_t)(i * DTOD_PATTERN);
    ok = ok && gpu_native_alloc(g, s.bytes, host, &s.src, res) &&
         gpu_native_alloc(g, s.bytes, NULL, &s.dst, res);
    CUresult rc = ok ? dtod_run(g, &s) : CUDA_SUCCESS;
    if (rc != CUDA_SUCCESS)
        ok = gpu_native_fail(g, res, "cuMemcpyDtoDAsync", rc);
    if (ok) {
        memset(host, 0, s.bytes);
        ok = gpu_native_read(g, s.dst, host, s.bytes, res);
        for (size_t i = 0; ok && i < n; i++)
            if (host[i] != (uint32_t)(i * DTOD_PATTERN)) {
                snprintf(res->detail, sizeof res->detail, "copy differs at word %zu", i);
                ok = false;
            }
    }
    if (ok) {
        snprintf(res->detail, sizeof res->detail,
                 "cuMemcpyDtoDAsync of %zu bytes, checked word for word", s.bytes);
        res->ok = true;
        ok = gpu_native_time(g, dtod_run, &s, DTOD_WARMUP, reps, res);
    } else if (!host) {
        snprintf(res->detail, sizeof res->detail, "out of host memory");
    }
    if (s.src)
        g->cu.MemFree(s.src);
    if (s.dst)
        g->cu.MemFree(s.dst);
    free(host);
    res->ok = ok;
    return ok;
}
