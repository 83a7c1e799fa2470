/* One workload on two kiln devices, and `kiln bench --suite pocl`: kiln's
 * CPU backend against PoCL running the same .kc kernels through kiln's
 * OpenCL adapter, in one process on fresh random inputs. */
#include <stdio.h>
#include <string.h>

#include "bench_gpu.h"

/* The CPU suite's sizes: inputs that fit a CPU's caches and memory. */
#define POCL_STREAM_N (1u << 25)
#define POCL_STENCIL_EDGE 4096u
#define POCL_HISTOGRAM_N (1u << 25)
#define POCL_SGEMM_N 1024u
#define POCL_WARMUP 2
#define POCL_REPS 21
#define POCL_SGEMM_REPS 9
/* Ours: the CPU backend should be no slower than PoCL on the same kernel. */
#define POCL_GOAL_RATIO 1.0
#define POCL_MAX_ROWS 8

bool gpu_work_copy(const work_env *env, size_t n, work_result *res)
{
    return work_copy(env, n, res);
}

bool gpu_work_copy4(const work_env *env, size_t n, work_result *res)
{
    return work_copy4(env, n, res);
}

bool gpu_work_saxpy(const work_env *env, size_t n, work_result *res)
{
    return work_saxpy(env, n, res);
}

bool gpu_work_sum(const work_env *env, size_t n, work_result *res)
{
    return work_reduce_sum(env, n, res);
}

bool gpu_work_stencil(const work_env *env, size_t edge, work_result *res)
{
    return work_stencil(env, (uint32_t)edge, (uint32_t)edge, res);
}

bool gpu_work_histogram(const work_env *env, size_t n, work_result *res)
{
    return work_histogram(env, n, res);
}

bool gpu_work_matmul(const work_env *env, size_t n, work_result *res)
{
    return work_matmul(env, (uint32_t)n, res);
}

void bench_gpu_compare(const work_env *a, const work_env *b, gpu_work_fn fn, size_t size,
                       const work_result *known_b, gpu_row *row)
{
    work_result ra;
    work_result rb;
    if (known_b)
        rb = *known_b;
    else
        fn(b, size, &rb);
    fn(a, size, &ra);
    char detail[sizeof row->detail];
    if (!ra.ok || ra.kiln_ns <= 0)
        snprintf(detail, sizeof detail, "%.60s: %.440s", row->name, ra.detail);
    else if (!rb.ok || rb.kiln_ns <= 0)
        snprintf(detail, sizeof detail, "baseline: %.480s", rb.detail);
    else
        snprintf(detail, sizeof detail, "both: %.480s", ra.detail);
    gpu_row_times(row, ra.ok && rb.ok, detail, ra.kiln_ns, rb.kiln_ns);
}

kiln_device *bench_gpu_find_opencl(kiln_context *ctx, kiln_device_kind want, char *name,
                                size_t name_size)
{
    kiln_device *any = NULL;
    for (uint32_t i = 0; i < kiln_device_count(ctx); i++) {
        kiln_device *dev = NULL;
        kiln_device_info info;
        if (kiln_device_get(ctx, i, &dev) != KILN_OK || kiln_device_get_info(dev, &info) != KILN_OK ||
            info.backend != KILN_BACKEND_OPENCL)
            continue;
        if (info.kind == want || !any) {
            any = dev;
            snprintf(name, name_size, "opencl:%u (%s)", info.backend_index, info.name);
        }
        if (info.kind == want)
            return dev;
    }
    return want == KILN_DEVICE_KIND_GPU ? NULL : any;
}

int bench_pocl_suite(const bench_gpu_options *opts)
{
    static const char section[] = "kiln CPU backend (kiln column) vs PoCL through kiln's "
                                  "OpenCL adapter (baseline), same .kc kernels";
    static const struct {
        const char *name;
        gpu_work_fn fn;
        size_t size;
        unsigned reps;
    } cases[] = {
        { "saxpy 2^25", gpu_work_saxpy, POCL_STREAM_N, POCL_REPS },
        { "sum 2^25", gpu_work_sum, POCL_STREAM_N, POCL_REPS },
        { "stencil5 4096^2", gpu_work_stencil, POCL_STENCIL_EDGE, POCL_REPS },
        { "histogram 2^25", gpu_work_histogram, POCL_HISTOGRAM_N, POCL_REPS },
        { "sgemm tiled 1024^2", gpu_work_matmul, POCL_SGEMM_N, POCL_SGEMM_REPS },
    };
    const unsigned count = sizeof cases / sizeof cases[0];
    gpu_row rows[POCL_MAX_ROWS];
    kiln_context *ctx = NULL;
    kiln_context_options copts = { .size = sizeof copts, .cache_dir = opts->cache_root };
    work_env cpu = { .warmup = POCL_WARMUP };
    work_env pocl = { .warmup = POCL_WARMUP };
    char pocl_name[160] = "none";
    char why[256] = "";
    kiln_status st = kiln_context_create(&ctx, &copts);
    if (st != KILN_OK)
        snprintf(why, sizeof why, "no context: %s", kiln_last_error());
    if (!why[0] && (st = kiln_device_find(ctx, opts->selector ? opts->selector : "cpu",
                                          &cpu.dev)) != KILN_OK)
        snprintf(why, sizeof why, "no CPU device: %s", kiln_last_error());
    if (!why[0] && !(pocl.dev = bench_gpu_find_opencl(ctx, KILN_DEVICE_KIND_CPU, pocl_name,
                                            sizeof pocl_name)))
        snprintf(why, sizeof why, "no OpenCL device (is pocl-opencl-icd installed?)");
    if (!why[0] && ((st = kiln_queue_create(cpu.dev, KILN_PRIORITY_NORMAL, &cpu.q)) != KILN_OK ||
                    (st = kiln_queue_create(pocl.dev, KILN_PRIORITY_NORMAL, &pocl.q)) != KILN_OK))
        snprintf(why, sizeof why, "queue: %s", kiln_last_error());
    for (unsigned i = 0; i < count; i++) {
        gpu_row_init(&rows[i], section, cases[i].name, GPU_GOAL_RATIO_MAX, POCL_GOAL_RATIO);
        if (why[0]) {
            snprintf(rows[i].detail, sizeof rows[i].detail, "cannot run: %s", why);
            continue;
        }
        cpu.seed = pocl.seed = opts->seed + i;
        cpu.reps = pocl.reps = opts->reps ? opts->reps : cases[i].reps;
        bench_gpu_compare(&cpu, &pocl, cases[i].fn, cases[i].size, NULL, &rows[i]);
    }
    if (opts->json) {
        gpu_report_json("pocl", pocl_name, opts->seed, rows, count);
    } else {
        char heading[256];
        snprintf(heading, sizeof heading,
                 "kiln bench --suite pocl: kiln cpu vs %s, seed %llu; device times from kiln "
                 "events, medians",
                 pocl_name, (unsigned long long)opts->seed);
        gpu_report_table(heading, rows, count);
    }
    kiln_queue_destroy(cpu.q);
    kiln_queue_destroy(pocl.q);
    kiln_context_destroy(ctx);
    return gpu_report_status(rows, count);
}
