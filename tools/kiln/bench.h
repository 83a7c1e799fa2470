/* The cases of `kiln bench`: one row of its table each. */
#ifndef KILN_CLI_BENCH_H
#define KILN_CLI_BENCH_H

#include "work.h"

typedef enum bench_goal_kind {
    BENCH_GOAL_RATIO, /* kiln time / baseline time <= goal */
    BENCH_GOAL_TIME,  /* kiln time in ns < goal */
    BENCH_GOAL_BYTES  /* measured bytes < goal */
} bench_goal_kind;

typedef struct bench_row {
    char name[64];
    bool ok;              /* measured, and every result checked out */
    char detail[512];     /* the check that held, or why the case failed */
    double kiln_ns;       /* kiln's median (device time for kernels) */
    double kiln_wall_ns;  /* kernels: launch to completion on the host clock */
    double baseline_ns;   /* 0 when the case has no baseline */
    double bytes;         /* BENCH_GOAL_BYTES: what was measured */
    double kiln_rate;     /* GB/s or GFLOP/s, 0 when not meaningful */
    double baseline_rate;
    const char *rate_unit;
    bench_goal_kind goal_kind;
    double goal;
    bool met;
} bench_row;

/* Where the compile, launch and memory cases keep their kernel cache: a
 * fresh temporary directory, removed at the end of the run. */
typedef struct bench_overhead_env {
    const char *selector; /* the device, as --device gave it */
    const char *cache_root;
    uint64_t seed;
} bench_overhead_env;

/* Resident memory a context and its CPU device add. Runs first, before
 * anything else in the process has warmed up the library. */
void bench_context_memory(const bench_overhead_env *env, bench_row *row);

/* First build of saxpy into an empty cache, then from the disk cache in a
 * new context, then from the memory cache of the same context. rows[3]. */
void bench_compile(const bench_overhead_env *env, bench_row rows[3]);

/* An empty kernel launch plus kiln_queue_finish, median and p99: over one
 * work-item, then over one group per compute unit. rows[4]. */
void bench_launch(const bench_overhead_env *env, bench_row rows[4]);

/* Decides row->met from the goal and what was measured. */
void bench_judge(bench_row *row);

#endif
