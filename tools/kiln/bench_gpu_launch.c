/* Launch overhead on the GPU: kiln_launch of empty.kc against a raw
 * cuLaunchKernel of the same empty kernel (bench/cuda/empty.cu), on the
 * same device and context. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_gpu.h"

/* Launches queued back to back before one synchronize: enough that the
 * synchronize at the end is a small part of the total. */
#define BACK_TO_BACK_LAUNCHES 20000
#define BACK_TO_BACK_TRIALS 5
#define SYNC_WARMUP 200
#define SYNC_REPS 5000
#define SYNC_PERCENTILE 99.0
/* Goals: a kiln launch costs at most 1 us more than a raw one; launch plus
 * synchronize under 20 us (the foundation issue's latency goal). */
#define GOAL_EXTRA_NS 1e3
#define GOAL_SYNC_NS 20e3

typedef struct launch_state {
    kiln_queue *q;
    kiln_kernel *k;
    gpu_native *g;
    CUfunction fn;
} launch_state;

static const kiln_range one_item = { .dims = 1, .global = { 1 }, .local = { 1 } };

/* Per-launch host time of count back-to-back launches and one sync. */
static bool kiln_back_to_back(launch_state *s, unsigned count, double *per_launch)
{
    uint64_t start = cli_now_ns();
    for (unsigned i = 0; i < count; i++)
        if (kiln_launch(s->q, s->k, &one_item, NULL, 0, NULL) != KILN_OK)
            return false;
    if (kiln_queue_finish(s->q) != KILN_OK)
        return false;
    *per_launch = (double)(cli_now_ns() - start) / count;
    return true;
}

static bool raw_back_to_back(launch_state *s, unsigned count, double *per_launch)
{
    gpu_native *g = s->g;
    g->cu.CtxSetCurrent(g->ctx);
    uint64_t start = cli_now_ns();
    for (unsigned i = 0; i < count; i++)
        if (g->cu.LaunchKernel(s->fn, 1, 1, 1, 1, 1, 1, 0, g->stream, NULL, NULL) != CUDA_SUCCESS)
            return false;
    if (g->cu.StreamSynchronize(g->stream) != CUDA_SUCCESS)
        return false;
    *per_launch = (double)(cli_now_ns() - start) / count;
    return true;
}

static bool kiln_sync(launch_state *s, double *ns)
{
    uint64_t start = cli_now_ns();
    bool ok = kiln_launch(s->q, s->k, &one_item, NULL, 0, NULL) == KILN_OK &&
              kiln_queue_finish(s->q) == KILN_OK;
    *ns = (double)(cli_now_ns() - start);
    return ok;
}

static bool raw_sync(launch_state *s, double *ns)
{
    gpu_native *g = s->g;
    uint64_t start = cli_now_ns();
    bool ok = g->cu.LaunchKernel(s->fn, 1, 1, 1, 1, 1, 1, 0, g->stream, NULL, NULL) ==
                  CUDA_SUCCESS &&
              g->cu.StreamSynchronize(g->stream) == CUDA_SUCCESS;
    *ns = (double)(cli_now_ns() - start);
    return ok;
}

/* Alternating blocks of kiln and raw, so that a disturbance falls on both. */
static bool measure(launch_state *s, double back[2], double sync_p50[2], double sync_p99[2])
{
    double trials[2][BACK_TO_BACK_TRIALS];
    double warm;
    bool ok = kiln_back_to_back(s, BACK_TO_BACK_LAUNCHES / 10, &warm) &&
              raw_back_to_back(s, BACK_TO_BACK_LAUNCHES / 10, &warm);
    for (unsigned t = 0; ok && t < BACK_TO_BACK_TRIALS; t++)
        ok = kiln_back_to_back(s, BACK_TO_BACK_LAUNCHES, &trials[0][t]) &&
             raw_back_to_back(s, BACK_TO_BACK_LAUNCHES, &trials[1][t]);
    double *sync[2] = { calloc(SYNC_REPS, sizeof(double)), calloc(SYNC_REPS, sizeof(double)) };
    ok = ok && sync[0] && sync[1];
    for (unsigned i = 0; ok && i < SYNC_WARMUP; i++)
        ok = kiln_sync(s, &warm) && raw_sync(s, &warm);
    /* Blocks of a tenth each, alternating sides. */
    const unsigned block = SYNC_REPS / 10;
    for (unsigned b = 0; ok && b < SYNC_REPS; b += block)
        for (unsigned side = 0; ok && side < 2; side++)
            for (unsigned i = b; ok && i < b + block && i < SYNC_REPS; i++)
                ok = side == 0 ? kiln_sync(s, &sync[0][i]) : raw_sync(s, &sync[1][i]);
    for (unsigned side = 0; ok && side < 2; side++) {
        back[side] = work_median(trials[side], BACK_TO_BACK_TRIALS);
        sync_p50[side] = work_median(sync[side], SYNC_REPS);
        sync_p99[side] = work_percentile(sync[side], SYNC_REPS, SYNC_PERCENTILE);
    }
    free(sync[0]);
    free(sync[1]);
    return ok;
}

unsigned bench_gpu_launch(kiln_device *dev, kiln_queue *q, gpu_native *g, gpu_row *rows)
{
    static const char section[] =
        "launch overhead: empty kernel, 1 item, host clock (baseline: raw cuLaunchKernel)";
    gpu_row_init(&rows[0], section, "launch, back to back", GPU_GOAL_EXTRA_MAX, GOAL_EXTRA_NS);
    gpu_row_init(&rows[1], section, "launch + sync p50", GPU_GOAL_TIME_MAX, GOAL_SYNC_NS);
    gpu_row_init(&rows[2], section, "launch + sync p99", GPU_GOAL_TIME_MAX, GOAL_SYNC_NS);
    const unsigned count = 3;

    work_env env = { .dev = dev, .q = q };
    work_result res = { 0 };
    kiln_program *prog = NULL;
    gpu_native_result nres = { 0 };
    CUmodule mod = NULL;
    launch_state s = { .q = q, .g = g };
    char why[sizeof rows[0].detail] = "";
    if (!dev)
        snprintf(why, sizeof why, "cannot run: no kiln CUDA device");
    else if (!g->ready)
        snprintf(why, sizeof why, "baseline unavailable: %s", g->why);
    else if (!work_build(&env, "empty", NULL, "empty", &prog, &s.k, &res))
        snprintf(why, sizeof why, "%s", res.detail);
    else if (!gpu_native_function(g, "empty", "empty", &mod, &s.fn, &nres))
        snprintf(why, sizeof why, "%s", nres.detail);
    double back[2], p50[2], p99[2];
    if (!why[0] && !measure(&s, back, p50, p99))
        snprintf(why, sizeof why, "a launch or synchronize failed: %s", kiln_last_error());
    if (why[0]) {
        for (unsigned i = 0; i < count; i++)
            snprintf(rows[i].detail, sizeof rows[i].detail, "%s", why);
    } else {
        char detail[sizeof rows[0].detail];
        snprintf(detail, sizeof detail,
                 "median over %d trials of %d launches then one synchronize, total / %d",
                 BACK_TO_BACK_TRIALS, BACK_TO_BACK_LAUNCHES, BACK_TO_BACK_LAUNCHES);
        gpu_row_times(&rows[0], true, detail, back[0], back[1]);
        snprintf(detail, sizeof detail,
                 "kiln_launch + kiln_queue_finish vs cuLaunchKernel + cuStreamSynchronize, "
                 "%d each after %d warm-up",
                 SYNC_REPS, SYNC_WARMUP);
        gpu_row_times(&rows[1], true, detail, p50[0], p50[1]);
        gpu_row_times(&rows[2], true, detail, p99[0], p99[1]);
    }
    if (mod)
        g->cu.ModuleUnload(mod);
    kiln_kernel_release(s.k);
    kiln_program_release(prog);
    return count;
}
