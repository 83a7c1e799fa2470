/* The overhead cases of `kiln bench`: compile and cache times, launch
 * latency, and the memory a context costs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "embedded_kernels.h"

/* Goals of the foundation issue. */
#define GOAL_FIRST_BUILD_NS 1.5e9
#define GOAL_DISK_CACHE_NS 5e6
#define GOAL_MEMORY_CACHE_NS 20e3
#define GOAL_LAUNCH_NS 20e3
#define GOAL_CONTEXT_BYTES 10e6
/* Repetitions: a first build costs a compiler run each time, so few. */
#define FIRST_BUILD_REPS 5
#define DISK_CACHE_REPS 21
#define MEMORY_CACHE_REPS 1001
#define LAUNCH_WARMUP 200
#define LAUNCH_REPS 10000
#define LAUNCH_PERCENTILE 99.0
#define LAUNCH_GROUP_SIZE 64
#define BYTES_PER_KIB 1024.0

/* VmRSS of this process in bytes, or -1. */
static double resident_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1.0;
    char line[256];
    double kib = -1.0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %lf kB", &kib) == 1)
            break;
    fclose(f);
    return kib < 0 ? -1.0 : kib * BYTES_PER_KIB;
}

static void row_init(bench_row *row, const char *name, bench_goal_kind kind, double goal)
{
    memset(row, 0, sizeof *row);
    snprintf(row->name, sizeof row->name, "%s", name);
    row->goal_kind = kind;
    row->goal = goal;
}

static void row_fail_status(bench_row *row, const char *what, kiln_status st)
{
    row->ok = false;
    snprintf(row->detail, sizeof row->detail, "%s: %s: %s", what, kiln_status_name(st),
             kiln_last_error());
}

void bench_judge(bench_row *row)
{
    switch (row->goal_kind) {
    case BENCH_GOAL_RATIO:
        row->met = row->ok && row->baseline_ns > 0 && row->kiln_ns / row->baseline_ns <= row->goal;
        break;
    case BENCH_GOAL_TIME:
        row->met = row->ok && row->kiln_ns < row->goal;
        break;
    case BENCH_GOAL_BYTES:
        row->met = row->ok && row->bytes < row->goal;
        break;
    }
}

/* The backend a selector names ("cpu", "opencl:1") as a KILN_BACKEND_BIT
 * mask; 0 (every backend) for a plain index. */
static uint32_t selector_backends(const char *selector)
{
    static const kiln_backend all[] = { KILN_BACKEND_CPU, KILN_BACKEND_CUDA, KILN_BACKEND_OPENCL,
                                        KILN_BACKEND_METAL };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const char *name = kiln_backend_name(all[i]);
        size_t n = strlen(name);
        if (strncmp(selector, name, n) == 0 && (selector[n] == '\0' || selector[n] == ':'))
            return KILN_BACKEND_BIT(all[i]);
    }
    return 0;
}

static kiln_status open_context(const char *cache_dir, const char *selector,
                                kiln_context **ctx, kiln_device **dev)
{
    /* Only the backend of the device measured: another backend's libraries
     * (an OpenCL ICD with its compiler) are not the cost of this device. */
    kiln_context_options opts = { .size = sizeof opts, .cache_dir = cache_dir,
                                  .backends = selector_backends(selector) };
    kiln_status st = kiln_context_create(ctx, &opts);
    if (st != KILN_OK)
        return st;
    st = kiln_device_find(*ctx, selector, dev);
    if (st != KILN_OK) {
        kiln_context_destroy(*ctx);
        *ctx = NULL;
    }
    return st;
}

/* "3 devices: opencl, cpu": what a context loaded, since every backend it
 * opens (an OpenCL ICD and its compiler, say) adds to its memory. */
static void context_backends(kiln_context *ctx, char *out, size_t size)
{
    uint32_t count = kiln_device_count(ctx);
    size_t used = (size_t)snprintf(out, size, "%u device%s:", count, count == 1 ? "" : "s");
    for (uint32_t i = 0; i < count && used < size; i++) {
        kiln_device *dev = NULL;
        kiln_device_info info;
        if (kiln_device_get(ctx, i, &dev) != KILN_OK || kiln_device_get_info(dev, &info) != KILN_OK)
            continue;
        used += (size_t)snprintf(out + used, size - used, "%s %s", i ? "," : "",
                                 kiln_backend_name(info.backend));
    }
}

void bench_context_memory(const bench_overhead_env *env, bench_row *row)
{
    row_init(row, "memory: new context", BENCH_GOAL_BYTES, GOAL_CONTEXT_BYTES);
    kiln_context *ctx = NULL;
    kiln_device *dev = NULL;
    double before = resident_bytes();
    kiln_status st = open_context(env->cache_root, env->selector, &ctx, &dev);
    double after = resident_bytes();
    if (st != KILN_OK) {
        row_fail_status(row, "context", st);
    } else if (before < 0 || after < 0) {
        snprintf(row->detail, sizeof row->detail, "cannot read VmRSS from /proc/self/status");
    } else {
        row->ok = true;
        row->bytes = after - before;
        char backends[128];
        context_backends(ctx, backends, sizeof backends);
        snprintf(row->detail, sizeof row->detail,
                 "VmRSS from /proc/self/status before and after kiln_context_create + "
                 "kiln_device_find(\"%s\"); the context opened %s",
                 env->selector, backends);
    }
    kiln_context_destroy(ctx);
    bench_judge(row);
}

/* Builds saxpy once on dev, timing it; fails unless it came from origin. */
static kiln_status timed_build(kiln_device *dev, kiln_build_origin origin, double *ns,
                               bench_row *row)
{
    const cli_embedded_kernel *saxpy = cli_kernel_find("saxpy");
    kiln_build_options opts = { .size = sizeof opts, .source_name = saxpy->file_name };
    kiln_program *prog = NULL;
    uint64_t start = cli_now_ns();
    kiln_status st = kiln_program_build(dev, saxpy->source, &opts, &prog);
    uint64_t end = cli_now_ns();
    *ns = (double)(end - start);
    if (st != KILN_OK) {
        row_fail_status(row, "build", st);
        return st;
    }
    kiln_build_origin got = kiln_program_origin(prog);
    kiln_program_release(prog);
    if (got != origin) {
        row->ok = false;
        snprintf(row->detail, sizeof row->detail, "build origin %d, expected %d", (int)got,
                 (int)origin);
        return KILN_ERR_INTERNAL;
    }
    return KILN_OK;
}

/* reps builds of saxpy, each in a new context, timed into times and checked
 * to come from origin; the median goes to row. The cache directory is
 * first-i (fresh_dir: empty, so the compiler runs) or first-0 (filled by
 * the first builds). */
static void builds_in_new_contexts(const bench_overhead_env *env, bench_row *row, double *times,
                                   unsigned reps, kiln_build_origin origin, bool fresh_dir)
{
    row->ok = true;
    for (unsigned i = 0; row->ok && i < reps; i++) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/first-%u", env->cache_root, fresh_dir ? i : 0u);
        kiln_context *ctx = NULL;
        kiln_device *dev = NULL;
        kiln_status st = open_context(dir, env->selector, &ctx, &dev);
        if (st != KILN_OK)
            row_fail_status(row, "context", st);
        else
            row->ok = timed_build(dev, origin, &times[i], row) == KILN_OK;
        kiln_context_destroy(ctx);
    }
    if (row->ok)
        row->kiln_ns = work_median(times, reps);
}

/* First builds: each into a fresh cache directory, so the compiler runs. */
static void first_builds(const bench_overhead_env *env, bench_row *row)
{
    double times[FIRST_BUILD_REPS];
    builds_in_new_contexts(env, row, times, FIRST_BUILD_REPS, KILN_BUILD_COMPILED, true);
    if (row->ok)
        snprintf(row->detail, sizeof row->detail,
                 "kiln_program_build of saxpy.kc into an empty cache directory, "
                 "origin COMPILED; median of %d", FIRST_BUILD_REPS);
}

/* Disk-cache builds: a new context on the directory of the first build. */
static void disk_builds(const bench_overhead_env *env, bench_row *row)
{
    static double times[DISK_CACHE_REPS];
    builds_in_new_contexts(env, row, times, DISK_CACHE_REPS, KILN_BUILD_DISK_CACHE, false);
    if (row->ok)
        snprintf(row->detail, sizeof row->detail,
                 "the same build in a new context on the same cache directory, origin "
                 "DISK_CACHE; median of %d", DISK_CACHE_REPS);
}

/* Memory-cache builds: the same context again and again. */
static void memory_builds(const bench_overhead_env *env, bench_row *row)
{
    static double times[MEMORY_CACHE_REPS];
    char dir[512];
    snprintf(dir, sizeof dir, "%s/first-0", env->cache_root);
    kiln_context *ctx = NULL;
    kiln_device *dev = NULL;
    kiln_status st = open_context(dir, env->selector, &ctx, &dev);
    double ignored;
    row->ok = st == KILN_OK;
    if (!row->ok)
        row_fail_status(row, "context", st);
    else
        row->ok = timed_build(dev, KILN_BUILD_DISK_CACHE, &ignored, row) == KILN_OK;
    for (unsigned i = 0; row->ok && i < MEMORY_CACHE_REPS; i++)
        row->ok = timed_build(dev, KILN_BUILD_MEMORY_CACHE, &times[i], row) == KILN_OK;
    if (row->ok) {
        row->kiln_ns = work_median(times, MEMORY_CACHE_REPS);
        snprintf(row->detail, sizeof row->detail,
                 "the same build again in the same context, origin MEMORY_CACHE; "
                 "median of %d", MEMORY_CACHE_REPS);
    }
    kiln_context_destroy(ctx);
}

void bench_compile(const bench_overhead_env *env, bench_row rows[3])
{
    row_init(&rows[0], "compile: first build", BENCH_GOAL_TIME, GOAL_FIRST_BUILD_NS);
    row_init(&rows[1], "compile: disk cache", BENCH_GOAL_TIME, GOAL_DISK_CACHE_NS);
    row_init(&rows[2], "compile: memory cache", BENCH_GOAL_TIME, GOAL_MEMORY_CACHE_NS);
    first_builds(env, &rows[0]);
    if (rows[0].ok) {
        disk_builds(env, &rows[1]);
        memory_builds(env, &rows[2]);
    } else {
        snprintf(rows[1].detail, sizeof rows[1].detail, "needs the first build");
        snprintf(rows[2].detail, sizeof rows[2].detail, "needs the first build");
    }
    for (unsigned i = 0; i < 3; i++)
        bench_judge(&rows[i]);
}

/* Times kiln_launch + kiln_queue_finish of k over range into rows[0] (median)
 * and rows[1] (99th percentile). */
static void launch_times(kiln_queue *q, kiln_kernel *k, const kiln_range *range,
                         const char *shape, bench_row rows[2])
{
    static double times[LAUNCH_REPS];
    for (unsigned i = 0; i < LAUNCH_WARMUP + LAUNCH_REPS; i++) {
        uint64_t start = cli_now_ns();
        kiln_status st = kiln_launch(q, k, range, NULL, 0, NULL);
        if (st == KILN_OK)
            st = kiln_queue_finish(q);
        uint64_t end = cli_now_ns();
        if (st != KILN_OK) {
            row_fail_status(&rows[0], "launch", st);
            row_fail_status(&rows[1], "launch", st);
            return;
        }
        if (i >= LAUNCH_WARMUP)
            times[i - LAUNCH_WARMUP] = (double)(end - start);
    }
    rows[0].kiln_ns = work_median(times, LAUNCH_REPS);
    rows[1].kiln_ns = work_percentile(times, LAUNCH_REPS, LAUNCH_PERCENTILE);
    for (unsigned i = 0; i < 2; i++) {
        rows[i].ok = true;
        snprintf(rows[i].detail, sizeof rows[i].detail,
                 "kiln_launch of empty.kc over %s + kiln_queue_finish, host clock; %s of %d "
                 "after %d warm-up",
                 shape, i == 0 ? "median" : "99th percentile", LAUNCH_REPS, LAUNCH_WARMUP);
    }
}

static void launch_fail(bench_row *rows, unsigned count, const char *detail)
{
    for (unsigned i = 0; i < count; i++)
        snprintf(rows[i].detail, sizeof rows[i].detail, "%s", detail);
}

void bench_launch(const bench_overhead_env *env, bench_row rows[4])
{
    row_init(&rows[0], "launch: empty 1 item p50", BENCH_GOAL_TIME, GOAL_LAUNCH_NS);
    row_init(&rows[1], "launch: empty 1 item p99", BENCH_GOAL_TIME, GOAL_LAUNCH_NS);
    row_init(&rows[2], "launch: empty N groups p50", BENCH_GOAL_TIME, GOAL_LAUNCH_NS);
    row_init(&rows[3], "launch: empty N groups p99", BENCH_GOAL_TIME, GOAL_LAUNCH_NS);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/launch", env->cache_root);
    kiln_context *ctx = NULL;
    kiln_device *dev = NULL;
    kiln_queue *q = NULL;
    kiln_device_info info;
    work_env wenv = { .seed = env->seed };
    work_result res;
    kiln_program *prog = NULL;
    kiln_kernel *k = NULL;
    kiln_status st = open_context(dir, env->selector, &ctx, &dev);
    if (st == KILN_OK)
        st = kiln_device_get_info(dev, &info);
    if (st == KILN_OK)
        st = kiln_queue_create(dev, KILN_PRIORITY_NORMAL, &q);
    if (st != KILN_OK) {
        for (unsigned i = 0; i < 4; i++)
            row_fail_status(&rows[i], "context", st);
    } else {
        wenv.dev = dev;
        wenv.q = q;
        if (work_build(&wenv, "empty", NULL, "empty", &prog, &k, &res)) {
            /* One work-item: the least a launch can do. One group per
             * compute unit: what a launch costs when every thread of the
             * device takes part. */
            kiln_range one = { .dims = 1, .global = { 1 }, .local = { 1 } };
            size_t groups = info.compute_units ? info.compute_units : 1;
            kiln_range spread = { .dims = 1, .global = { groups * LAUNCH_GROUP_SIZE },
                                  .local = { LAUNCH_GROUP_SIZE } };
            char shape[64];
            snprintf(shape, sizeof shape, "%zu groups of %d", groups, LAUNCH_GROUP_SIZE);
            launch_times(q, k, &one, "1 work-item", &rows[0]);
            launch_times(q, k, &spread, shape, &rows[2]);
        } else {
            launch_fail(rows, 4, res.detail);
        }
    }
    kiln_kernel_release(k);
    kiln_program_release(prog);
    kiln_queue_destroy(q);
    kiln_context_destroy(ctx);
    for (unsigned i = 0; i < 4; i++)
        bench_judge(&rows[i]);
}
