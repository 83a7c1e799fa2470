/* `kiln bench --suite gpu`: kiln's CUDA backend on one GPU against the
 * device-to-device copy, the same kernels hand-written in CUDA C, cuBLAS
 * and raw driver launches, then kiln's OpenCL adapter on the same card.
 * Every result is checked on fresh random inputs before it is timed;
 * kernel times are medians of device time between events. */
#include <stdio.h>
#include <string.h>

#include "bench_gpu.h"

/* Sizes that fill an H100/H200: 1 GiB per streamed array, well past the
 * 50-60 MB L2, so every byte comes from HBM. */
#define GPU_STREAM_N (1u << 28)
#define GPU_STENCIL_EDGE 16384u
#define GPU_HISTOGRAM_N (1u << 28)
#define GPU_SGEMM_N 4096u
#define GPU_WARMUP 2
#define GPU_REPS 51
#define GPU_SGEMM_REPS 21
/* Goals of the GPU issue. */
#define GOAL_BANDWIDTH_SHARE 0.90
#define GOAL_NATIVE_RATIO 1.03
#define MAX_ROWS 32
/* The foundation issue's compile goals, as bench_overhead.c holds them. */
#define GOAL_FIRST_BUILD_NS 1.5e9
#define GOAL_DISK_CACHE_NS 5e6
#define GOAL_MEMORY_CACHE_NS 20e3
/* A device-to-device copy reads and writes every byte. */
#define DTOD_BYTES_PER_BYTE 2.0

enum { CASE_COPY, CASE_COPY4, CASE_SAXPY, CASE_SUM, CASE_STENCIL, CASE_HISTOGRAM, CASE_SGEMM, CASE_COUNT };

static const struct {
    const char *name;
    gpu_work_fn kiln;
    size_t size;
    bool streaming; /* measured against the copy's bandwidth */
} cases[CASE_COUNT] = {
    [CASE_COPY] = { "copy 2^28", gpu_work_copy, GPU_STREAM_N, true },
    [CASE_COPY4] = { "copy float4 2^28", gpu_work_copy4, GPU_STREAM_N, true },
    [CASE_SAXPY] = { "saxpy 2^28", gpu_work_saxpy, GPU_STREAM_N, true },
    [CASE_SUM] = { "sum 2^28", gpu_work_sum, GPU_STREAM_N, true },
    [CASE_STENCIL] = { "stencil5 16384^2", gpu_work_stencil, GPU_STENCIL_EDGE, true },
    [CASE_HISTOGRAM] = { "histogram 2^28", gpu_work_histogram, GPU_HISTOGRAM_N, false },
    [CASE_SGEMM] = { "sgemm tiled 4096^2", gpu_work_matmul, GPU_SGEMM_N, false },
};

typedef struct gpu_suite {
    const bench_gpu_options *opts;
    kiln_context *ctx;
    work_env cuda;          /* kiln on the CUDA device; cuda.dev NULL if none */
    work_env ocl;           /* kiln on NVIDIA's OpenCL device; ocl.dev NULL if none */
    char cuda_why[256];
    char ocl_why[256];
    char cuda_name[160];
    char ocl_name[160];
    gpu_native g;
    work_result kiln[CASE_COUNT];
    gpu_row rows[MAX_ROWS];
    unsigned count;
} gpu_suite;

static gpu_row *add_row(gpu_suite *s, const char *section, const char *name, gpu_goal_kind kind,
                        double goal)
{
    gpu_row *row = &s->rows[s->count++];
    gpu_row_init(row, section, name, kind, goal);
    return row;
}

static unsigned reps_of(const gpu_suite *s, unsigned c)
{
    if (s->opts->reps)
        return s->opts->reps;
    return c == CASE_SGEMM ? GPU_SGEMM_REPS : GPU_REPS;
}

static void open_devices(gpu_suite *s)
{
    const char *selector = s->opts->selector ? s->opts->selector : "cuda:0";
    kiln_context_options copts = { .size = sizeof copts, .cache_dir = s->opts->cache_root };
    kiln_device_info info;
    s->cuda.warmup = s->ocl.warmup = GPU_WARMUP;
    if (kiln_context_create(&s->ctx, &copts) != KILN_OK) {
        snprintf(s->cuda_why, sizeof s->cuda_why, "no context: %s", kiln_last_error());
        snprintf(s->ocl_why, sizeof s->ocl_why, "%s", s->cuda_why);
        return;
    }
    if (kiln_device_find(s->ctx, selector, &s->cuda.dev) != KILN_OK ||
        kiln_device_get_info(s->cuda.dev, &info) != KILN_OK ||
        kiln_queue_create(s->cuda.dev, KILN_PRIORITY_NORMAL, &s->cuda.q) != KILN_OK) {
        snprintf(s->cuda_why, sizeof s->cuda_why, "no CUDA device '%s': %s", selector,
                 kiln_last_error());
        s->cuda.dev = NULL;
    } else {
        snprintf(s->cuda_name, sizeof s->cuda_name, "%.32s (%.64s, driver %.48s)", selector, info.name,
                 info.driver_version);
    }
    s->ocl.dev = bench_gpu_find_opencl(s->ctx, KILN_DEVICE_KIND_GPU, s->ocl_name,
                                       sizeof s->ocl_name);
    if (!s->ocl.dev)
        snprintf(s->ocl_why, sizeof s->ocl_why, "no OpenCL device of kind GPU");
    else if (kiln_queue_create(s->ocl.dev, KILN_PRIORITY_NORMAL, &s->ocl.q) != KILN_OK) {
        snprintf(s->ocl_why, sizeof s->ocl_why, "OpenCL queue: %s", kiln_last_error());
        s->ocl.dev = NULL;
    }
    if (s->cuda.dev)
        gpu_native_open(&s->g);
    else
        snprintf(s->g.why, sizeof s->g.why, "%s", s->cuda_why);
}

/* kiln's CUDA backend on every case, once; the sections below share it. */
static void run_kiln(gpu_suite *s)
{
    for (unsigned c = 0; c < CASE_COUNT; c++) {
        work_result *res = &s->kiln[c];
        memset(res, 0, sizeof *res);
        if (!s->cuda.dev) {
            snprintf(res->detail, sizeof res->detail, "cannot run: %s", s->cuda_why);
            continue;
        }
        s->cuda.seed = s->opts->seed + c;
        s->cuda.reps = reps_of(s, c);
        cases[c].kiln(&s->cuda, cases[c].size, res);
    }
}

static void bandwidth_section(gpu_suite *s)
{
    static const char section[] = "memory bandwidth: bytes that must move / kiln time, as a "
                                  "share of cuMemcpyDtoD (read + write bytes)";
    gpu_native_result dtod = { 0 };
    if (s->g.ready)
        gpu_native_dtod(&s->g, GPU_STREAM_N, GPU_REPS, &dtod);
    else
        snprintf(dtod.detail, sizeof dtod.detail, "baseline unavailable: %.200s", s->g.why);
    double dtod_rate = dtod.ok && dtod.ns > 0
                           ? DTOD_BYTES_PER_BYTE * GPU_STREAM_N * sizeof(float) / dtod.ns
                           : 0.0;
    gpu_row *ref = add_row(s, section, "cuMemcpyDtoD 2^28 floats", GPU_GOAL_NONE, 0);
    ref->ok = dtod_rate > 0;
    ref->kiln_ns = dtod.ns;
    snprintf(ref->detail, sizeof ref->detail, "%s", dtod.detail);
    if (ref->ok)
        snprintf(ref->base_text, sizeof ref->base_text, "%.1f GB/s", dtod_rate);
    gpu_row_finish(ref);
    for (unsigned c = 0; c < CASE_COUNT; c++) {
        if (!cases[c].streaming)
            continue;
        const work_result *res = &s->kiln[c];
        gpu_row *row = add_row(s, section, cases[c].name, GPU_GOAL_SHARE_MIN,
                               GOAL_BANDWIDTH_SHARE);
        row->ok = res->ok && res->kiln_ns > 0 && dtod_rate > 0;
        double rate = res->kiln_ns > 0 ? res->bytes / res->kiln_ns : 0.0;
        if (row->ok) {
            row->kiln_ns = res->kiln_ns;
            row->share = rate / dtod_rate;
            snprintf(row->kiln_text, sizeof row->kiln_text, "%.1f GB/s", rate);
            snprintf(row->base_text, sizeof row->base_text, "%.1f GB/s", dtod_rate);
            snprintf(row->detail, sizeof row->detail, "%.0f bytes in %.3f ms; %.400s",
                     res->bytes, res->kiln_ns / 1e6, res->detail);
        } else {
            snprintf(row->detail, sizeof row->detail, "%s", res->ok ? dtod.detail : res->detail);
        }
        gpu_row_finish(row);
    }
}

static void native_section(gpu_suite *s)
{
    static const char section[] =
        "kiln CUDA vs the same kernels in CUDA C (nvcc -O3 -arch=sm_90), device time";
    for (unsigned c = 0; c < CASE_COUNT; c++) {
        gpu_row *row = add_row(s, section, cases[c].name, GPU_GOAL_RATIO_MAX, GOAL_NATIVE_RATIO);
        gpu_native_result nat = { 0 };
        uint64_t seed = s->opts->seed + c;
        unsigned reps = reps_of(s, c);
        if (!s->g.ready) {
            snprintf(nat.detail, sizeof nat.detail, "baseline unavailable: %.200s", s->g.why);
        } else {
            switch (c) {
            case CASE_COPY: gpu_native_copy(&s->g, GPU_STREAM_N, false, seed, reps, &nat); break;
            case CASE_COPY4: gpu_native_copy(&s->g, GPU_STREAM_N, true, seed, reps, &nat); break;
            case CASE_SAXPY: gpu_native_saxpy(&s->g, GPU_STREAM_N, seed, reps, &nat); break;
            case CASE_SUM: gpu_native_reduce_sum(&s->g, GPU_STREAM_N, seed, reps, &nat); break;
            case CASE_STENCIL: gpu_native_stencil(&s->g, GPU_STENCIL_EDGE, seed, reps, &nat); break;
            case CASE_HISTOGRAM:
                gpu_native_histogram(&s->g, GPU_HISTOGRAM_N, seed, reps, &nat);
                break;
            case CASE_SGEMM: gpu_native_matmul(&s->g, GPU_SGEMM_N, seed, reps, false, &nat); break;
            }
        }
        const work_result *k = &s->kiln[c];
        char detail[sizeof row->detail];
        if (!k->ok)
            snprintf(detail, sizeof detail, "kiln: %.480s", k->detail);
        else
            snprintf(detail, sizeof detail, "kiln and native: %.480s", nat.detail);
        gpu_row_times(row, k->ok && nat.ok, detail, k->kiln_ns, nat.ns);

        if (c == CASE_SGEMM) {
            gpu_row *blas = add_row(s, section, "sgemm tiled 4096^2 vs cuBLAS", GPU_GOAL_NONE, 0);
            gpu_native_result cub = { 0 };
            if (s->g.ready)
                gpu_native_matmul(&s->g, GPU_SGEMM_N, seed, reps, true, &cub);
            else
                snprintf(cub.detail, sizeof cub.detail, "baseline unavailable: %.200s", s->g.why);
            snprintf(detail, sizeof detail, "share = cuBLAS time / kiln time; %s", cub.detail);
            gpu_row_times(blas, k->ok && cub.ok, detail, k->kiln_ns, cub.ns);
        }
    }
}

static void compile_section(gpu_suite *s)
{
    static const char section[] = "NVRTC compile of saxpy.kc (kiln_program_build)";
    bench_overhead_env oenv = {
        .selector = s->opts->selector ? s->opts->selector : "cuda:0",
        .cache_root = s->opts->cache_root,
        .seed = s->opts->seed,
    };
    bench_row rows[3];
    if (s->cuda.dev) {
        bench_compile(&oenv, rows);
    } else {
        static const char *const names[] = { "compile: first build", "compile: disk cache",
                                             "compile: memory cache" };
        static const double goals[] = { GOAL_FIRST_BUILD_NS, GOAL_DISK_CACHE_NS,
                                        GOAL_MEMORY_CACHE_NS };
        for (unsigned i = 0; i < 3; i++) {
            memset(&rows[i], 0, sizeof rows[i]);
            rows[i].goal = goals[i];
            snprintf(rows[i].name, sizeof rows[i].name, "%s", names[i]);
            snprintf(rows[i].detail, sizeof rows[i].detail, "cannot run: %s", s->cuda_why);
        }
    }
    for (unsigned i = 0; i < 3; i++)
        gpu_row_from_bench(&s->rows[s->count++], section, &rows[i]);
}

static void opencl_section(gpu_suite *s)
{
    static const char section[] =
        "kiln OpenCL on the NVIDIA driver (kiln column) vs kiln CUDA (baseline)";
    for (unsigned c = 0; c < CASE_COUNT; c++) {
        if (c == CASE_COPY || c == CASE_COPY4)
            continue;
        gpu_row *row = add_row(s, section, cases[c].name, GPU_GOAL_NONE, 0);
        if (!s->ocl.dev) {
            snprintf(row->detail, sizeof row->detail, "cannot run: %s", s->ocl_why);
            continue;
        }
        s->ocl.seed = s->opts->seed + c;
        s->ocl.reps = reps_of(s, c);
        bench_gpu_compare(&s->ocl, &s->cuda, cases[c].kiln, cases[c].size, &s->kiln[c], row);
    }
}

int bench_gpu_suite(const bench_gpu_options *opts)
{
    static gpu_suite s; /* large: the rows and results */
    memset(&s, 0, sizeof s);
    s.opts = opts;
    open_devices(&s);
    run_kiln(&s);
    bandwidth_section(&s);
    native_section(&s);
    s.count += bench_gpu_launch(s.cuda.dev, s.cuda.q, &s.g, &s.rows[s.count]);
    compile_section(&s);
    opencl_section(&s);

    const char *device = s.cuda.dev ? s.cuda_name : "none";
    if (opts->json) {
        gpu_report_json("gpu", device, opts->seed, s.rows, s.count);
    } else {
        char heading[640];
        snprintf(heading, sizeof heading,
                 "kiln bench --suite gpu: %s; native CUDA: %.200s (driver API %d); OpenCL: %.160s; "
                 "seed %llu",
                 device, s.g.ready ? s.g.device_name : s.g.why, s.g.driver_version,
                 s.ocl.dev ? s.ocl_name : s.ocl_why, (unsigned long long)opts->seed);
        gpu_report_table(heading, s.rows, s.count);
    }
    gpu_native_close(&s.g);
    kiln_queue_destroy(s.cuda.q);
    kiln_queue_destroy(s.ocl.q);
    kiln_context_destroy(s.ctx);
    return gpu_report_status(s.rows, s.count);
}
