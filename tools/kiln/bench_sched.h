/* `kiln bench --suite sched` (bench_sched.c): the priority scheduler of a
 * governed context on one device. */
#ifndef KILN_CLI_BENCH_SCHED_H
#define KILN_CLI_BENCH_SCHED_H

typedef struct bench_sched_options {
    const char *selector;   /* --device, or NULL for the best device */
    const char *cache_root; /* a fresh temporary directory: the policy and the cache */
} bench_sched_options;

/* Prints the table; the exit status: 1 when a case could not run. */
int bench_sched_suite(const bench_sched_options *opts);

#endif
