#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedded_kernels.h"
#include "work.h"

/* xorshift64* (Vigna); the multiplier is from the paper. */
#define RNG_MULTIPLIER 0x2545F4914F6CDD1DULL
/* A float has 24 significant bits: draw that many for uniform floats. */
#define FLOAT_MANTISSA_BITS 24

void work_rng_seed(work_rng *rng, uint64_t seed)
{
    rng->state = seed ? seed : 1; /* zero is the one state that stays zero */
}

uint32_t work_rng_u32(work_rng *rng)
{
    uint64_t x = rng->state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng->state = x;
    return (uint32_t)((x * RNG_MULTIPLIER) >> 32);
}

float work_rng_float(work_rng *rng, float lo, float hi)
{
    float unit = (float)(work_rng_u32(rng) >> (32 - FLOAT_MANTISSA_BITS)) /
                 (float)(1u << FLOAT_MANTISSA_BITS);
    return lo + (hi - lo) * unit;
}

bool work_fail(work_result *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->detail, sizeof res->detail, fmt, ap);
    va_end(ap);
    res->ok = false;
    return false;
}

bool work_fail_status(work_result *res, const char *what, kiln_status st)
{
    return work_fail(res, "%s: %s: %s", what, kiln_status_name(st), kiln_last_error());
}

bool work_build(const work_env *env, const char *file, const char *defines, const char *kernel,
                kiln_program **prog, kiln_kernel **k, work_result *res)
{
    const cli_embedded_kernel *embedded = cli_kernel_find(file);
    if (!embedded)
        return work_fail(res, "kernel file %s.kc is not embedded", file);
    kiln_build_options opts = {
        .size = sizeof opts, .defines = defines, .source_name = embedded->file_name,
    };
    kiln_status st = kiln_program_build(env->dev, embedded->source, &opts, prog);
    if (st != KILN_OK)
        return work_fail_status(res, "build", st);
    st = kiln_kernel_get(*prog, kernel, k);
    if (st != KILN_OK) {
        kiln_program_release(*prog);
        *prog = NULL;
        return work_fail_status(res, "kernel lookup", st);
    }
    return true;
}

bool work_buffer(const work_env *env, size_t bytes, const void *src, kiln_buffer **buf,
                 work_result *res)
{
    kiln_status st = kiln_buffer_create(env->dev, bytes, KILN_BUFFER_READ_WRITE, buf);
    if (st != KILN_OK)
        return work_fail_status(res, "buffer", st);
    if (src) {
        st = kiln_buffer_write(env->q, *buf, 0, src, bytes);
        if (st != KILN_OK) {
            kiln_buffer_release(*buf);
            *buf = NULL;
            return work_fail_status(res, "buffer write", st);
        }
    }
    return true;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

double work_median(double *values, size_t n)
{
    if (n == 0)
        return 0.0;
    qsort(values, n, sizeof *values, compare_doubles);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
}

double work_percentile(double *values, size_t n, double p)
{
    if (n == 0)
        return 0.0;
    qsort(values, n, sizeof *values, compare_doubles);
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    return values[rank ? rank - 1 : 0];
}

static kiln_status run_once(work_kiln_run_fn fn, void *state, double *device_ns, double *wall_ns)
{
    kiln_event *first = NULL;
    kiln_event *last = NULL;
    uint64_t start = cli_now_ns();
    kiln_status st = fn(state, &first, &last);
    if (st == KILN_OK)
        st = kiln_event_wait(last);
    uint64_t end = cli_now_ns();
    uint64_t ns = 0;
    if (st == KILN_OK)
        st = kiln_event_elapsed_ns(first, last, &ns);
    *device_ns = (double)ns;
    *wall_ns = (double)(end - start);
    if (first != last)
        kiln_event_release(first);
    kiln_event_release(last);
    return st;
}

/* Timed runs are split into this many rounds, each a block of kiln runs
 * then a block of baseline runs: within a block each side runs back to
 * back, as it would in use (the kiln CPU pool and libgomp both keep their
 * threads spinning briefly between runs, and would steal each other's cores
 * if runs alternated one by one), while a disturbance of the machine that
 * lasts a while still falls on both sides. */
#define TIMING_ROUNDS 3u

/* Runs kiln_fn count times; stores times from slot on, unless discard. */
static bool kiln_block(work_kiln_run_fn fn, void *state, unsigned count, double *device,
                       double *wall, bool discard, work_result *res)
{
    for (unsigned i = 0; i < count; i++) {
        double device_ns;
        double wall_ns;
        kiln_status st = run_once(fn, state, &device_ns, &wall_ns);
        if (st != KILN_OK)
            return work_fail_status(res, "timed run", st);
        if (!discard) {
            device[i] = device_ns;
            wall[i] = wall_ns;
        }
    }
    return true;
}

static void baseline_block(void (*fn)(void *state), void *state, unsigned count, double *wall,
                           bool discard)
{
    for (unsigned i = 0; i < count; i++) {
        uint64_t start = cli_now_ns();
        fn(state);
        uint64_t end = cli_now_ns();
        if (!discard)
            wall[i] = (double)(end - start);
    }
}

bool work_time(const work_env *env, work_kiln_run_fn kiln_fn, void (*baseline_fn)(void *state),
               void *state, work_result *res)
{
    bool with_baseline = env->baseline && baseline_fn;
    double *device = calloc(env->reps, sizeof *device);
    double *wall = calloc(env->reps, sizeof *wall);
    double *base = calloc(env->reps, sizeof *base);
    bool ok = device && wall && base;
    if (!ok)
        work_fail(res, "out of host memory");
    unsigned done = 0;
    for (unsigned round = 0; ok && round < TIMING_ROUNDS; round++) {
        /* Spread reps over the rounds; the last takes the remainder. */
        unsigned count = round + 1 < TIMING_ROUNDS ? env->reps / TIMING_ROUNDS : env->reps - done;
        ok = kiln_block(kiln_fn, state, env->warmup, NULL, NULL, true, res) &&
             kiln_block(kiln_fn, state, count, device + done, wall + done, false, res);
        if (ok && with_baseline) {
            baseline_block(baseline_fn, state, env->warmup, NULL, true);
            baseline_block(baseline_fn, state, count, base + done, false);
        }
        done += count;
    }
    if (ok) {
        res->kiln_ns = work_median(device, env->reps);
        res->kiln_wall_ns = work_median(wall, env->reps);
        res->baseline_ns = with_baseline ? work_median(base, env->reps) : 0.0;
    }
    free(device);
    free(wall);
    free(base);
    return ok;
}

double work_rate(const work_result *res, double ns)
{
    if (ns <= 0.0)
        return 0.0;
    /* Bytes or FLOP per nanosecond are GB/s or GFLOP/s. */
    return (res->compute_bound ? res->flops : res->bytes) / ns;
}

const char *work_rate_unit(const work_result *res)
{
    return res->compute_bound ? "GFLOP/s" : "GB/s";
}
