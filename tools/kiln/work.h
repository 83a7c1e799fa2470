/* Workloads: the example kernels run on a kiln device against fresh random
 * inputs, checked against a host reference, then timed. `kiln demo` runs
 * them at small sizes; `kiln bench` at large sizes and against the OpenMP
 * baselines of bench/baselines. */
#ifndef KILN_CLI_WORK_H
#define KILN_CLI_WORK_H

#include "cli.h"

typedef struct work_env {
    kiln_device *dev;
    kiln_queue *q;
    uint64_t seed;     /* of the random inputs; each workload draws fresh ones */
    unsigned warmup;   /* untimed runs before each block of timed ones */
    unsigned reps;     /* timed runs; the median is reported */
    bool baseline;     /* also check and time the OpenMP baseline */
} work_env;

/* What one workload reports. Times are medians over env->reps runs. */
typedef struct work_result {
    const char *name;
    bool ok;               /* every result matched the reference */
    char detail[512];      /* the failed check, or the tolerance that held */
    double kiln_ns;        /* device time of one run, from kiln events */
    double kiln_wall_ns;   /* launch to completion on the host clock */
    double baseline_ns;    /* the OpenMP baseline's wall time; 0 if none */
    double bytes;          /* bytes one run must move, for GB/s */
    double flops;          /* floating-point operations of one run, for GFLOP/s */
    bool compute_bound;    /* GFLOP/s is the telling rate, not GB/s */
} work_result;

/* The rate that tells how well a run went: GFLOP/s for a compute-bound
 * workload, GB/s otherwise; for a time in nanoseconds. */
double work_rate(const work_result *res, double ns);
const char *work_rate_unit(const work_result *res);

bool work_copy(const work_env *env, size_t n, work_result *res);
/* The same copy through float4, n a multiple of 4 (copy.kc's copy4). */
bool work_copy4(const work_env *env, size_t n, work_result *res);
bool work_saxpy(const work_env *env, size_t n, work_result *res);
bool work_reduce_sum(const work_env *env, size_t n, work_result *res);
bool work_matmul(const work_env *env, uint32_t n, work_result *res);
bool work_histogram(const work_env *env, size_t n, work_result *res);
bool work_stencil(const work_env *env, uint32_t width, uint32_t height, work_result *res);

/* ---- helpers shared by the workloads (work_common.c) ---- */

/* Fresh reproducible random numbers: xorshift64*. */
typedef struct work_rng {
    uint64_t state;
} work_rng;

void work_rng_seed(work_rng *rng, uint64_t seed);
uint32_t work_rng_u32(work_rng *rng);
/* Uniform in [lo, hi). */
float work_rng_float(work_rng *rng, float lo, float hi);

/* Sets res->ok = false and formats the reason into res->detail. Returns
 * false so that callers can `return work_fail(...)`. */
bool work_fail(work_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* work_fail with the status name and kiln_last_error() appended. */
bool work_fail_status(work_result *res, const char *what, kiln_status st);

/* Builds the embedded example kernel file `file` with defines (may be NULL)
 * and looks up kernel `kernel`. */
bool work_build(const work_env *env, const char *file, const char *defines, const char *kernel,
                kiln_program **prog, kiln_kernel **k, work_result *res);

/* Allocates a buffer and, when src is not NULL, writes bytes of src to it. */
bool work_buffer(const work_env *env, size_t bytes, const void *src, kiln_buffer **buf,
                 work_result *res);

/* Queues one run of a workload on the device. *first receives the event of
 * its first launch, *last of its last (the same event for one launch). */
typedef kiln_status (*work_kiln_run_fn)(void *state, kiln_event **first, kiln_event **last);

/* Times kiln_fn and, when env->baseline, baseline_fn: env->reps timed runs
 * of each, in rounds of a block of each side, every block after
 * env->warmup untimed runs, so that a disturbance of the machine that lasts
 * a while hits both sides alike. Stores the medians in
 * res->kiln_ns (kiln events), res->kiln_wall_ns and res->baseline_ns (host
 * clock). baseline_fn may be NULL. */
bool work_time(const work_env *env, work_kiln_run_fn kiln_fn, void (*baseline_fn)(void *state),
               void *state, work_result *res);

/* Median of n values (reorders them). */
double work_median(double *values, size_t n);

/* The p-th percentile (0..100) of n values, nearest rank (reorders them). */
double work_percentile(double *values, size_t n, double p);

#endif
