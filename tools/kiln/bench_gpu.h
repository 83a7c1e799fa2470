/* `kiln bench --suite gpu` (kiln's CUDA and OpenCL backends against native
 * CUDA C, cuBLAS and a device-to-device copy, on one GPU in one run) and
 * `kiln bench --suite pocl` (kiln's CPU backend against PoCL through kiln's
 * OpenCL adapter). */
#ifndef KILN_CLI_BENCH_GPU_H
#define KILN_CLI_BENCH_GPU_H

#include "bench.h"
#include "bench_gpu_native.h"
#include "work.h"

typedef enum gpu_goal_kind {
    GPU_GOAL_NONE,      /* reported, no goal */
    GPU_GOAL_RATIO_MAX, /* kiln time / baseline time <= goal */
    GPU_GOAL_SHARE_MIN, /* share >= goal */
    GPU_GOAL_TIME_MAX,  /* kiln time < goal (ns) */
    GPU_GOAL_EXTRA_MAX  /* kiln time - baseline time <= goal (ns) */
} gpu_goal_kind;

typedef struct gpu_row {
    const char *section;
    char name[64];
    bool ok;              /* measured, every result checked out */
    char detail[512];     /* the checks that held, or why it could not run */
    char kiln_text[32];   /* what the kiln and baseline columns show: */
    char base_text[32];   /* a time, or a rate for bandwidth rows */
    double kiln_ns;
    double baseline_ns;   /* 0 when the row has no baseline */
    double share;         /* GPU_GOAL_SHARE_MIN rows (and cuBLAS): a fraction */
    gpu_goal_kind goal_kind;
    double goal;
    bool met;
} gpu_row;

typedef struct bench_gpu_options {
    const char *selector;   /* --device, or NULL for the suite's default */
    bool json;
    uint64_t seed;
    unsigned reps;          /* 0 = the suite's defaults */
    const char *cache_root; /* a fresh temporary directory */
} bench_gpu_options;

/* Both return the exit status: 1 when a case failed or could not run. */
int bench_gpu_suite(const bench_gpu_options *opts);
int bench_pocl_suite(const bench_gpu_options *opts);

/* ---- rows and their report (bench_gpu_report.c) ---- */

void gpu_row_init(gpu_row *row, const char *section, const char *name, gpu_goal_kind kind,
                  double goal);
/* Fills the time columns from kiln_ns and baseline_ns (unless a case wrote
 * its own text) and decides row->met. */
void gpu_row_finish(gpu_row *row);
/* A row that compares two measured times (kiln, baseline). */
void gpu_row_times(gpu_row *row, bool ok, const char *detail, double kiln_ns,
                   double baseline_ns);
void gpu_format_time(char *out, size_t size, double ns);
/* Copies a row of the CPU suite's overhead cases (compile times). */
void gpu_row_from_bench(gpu_row *row, const char *section, const bench_row *from);

void gpu_report_table(const char *heading, const gpu_row *rows, unsigned count);
void gpu_report_json(const char *suite, const char *device, uint64_t seed, const gpu_row *rows,
                     unsigned count);
int gpu_report_status(const gpu_row *rows, unsigned count);

/* ---- pieces of the GPU suite ---- */

/* An empty kernel: kiln_launch vs cuLaunchKernel back to back, and launch +
 * synchronize median and p99. Fills 3 rows; returns 3. */
unsigned bench_gpu_launch(kiln_device *dev, kiln_queue *q, gpu_native *g, gpu_row *rows);

/* The same workload on two kiln devices: one row with times a (kiln column)
 * and b (baseline column), both checked. Where kiln_b is given it is
 * reused rather than measured again. */
typedef bool (*gpu_work_fn)(const work_env *env, size_t size, work_result *res);
void bench_gpu_compare(const work_env *a, const work_env *b, gpu_work_fn fn, size_t size,
                       const work_result *known_b, gpu_row *row);

/* The first OpenCL device of kind want ("opencl:N (name)" into name); for
 * KILN_DEVICE_KIND_GPU only such a device, otherwise any OpenCL device
 * when none is of that kind. NULL when there is none. */
kiln_device *bench_gpu_find_opencl(kiln_context *ctx, kiln_device_kind want, char *name,
                                   size_t name_size);

/* work_* functions in the gpu_work_fn shape. */
bool gpu_work_copy(const work_env *env, size_t n, work_result *res);
bool gpu_work_copy4(const work_env *env, size_t n, work_result *res);
bool gpu_work_saxpy(const work_env *env, size_t n, work_result *res);
bool gpu_work_sum(const work_env *env, size_t n, work_result *res);
bool gpu_work_stencil(const work_env *env, size_t edge, work_result *res);
bool gpu_work_histogram(const work_env *env, size_t n, work_result *res);
bool gpu_work_matmul(const work_env *env, size_t n, work_result *res);

#endif
