/* `kiln bench --suite govern`: the host time governance adds to a launch,
 * and the durable audit log's group-commit throughput. */
#ifndef KILN_CLI_BENCH_GOVERN_H
#define KILN_CLI_BENCH_GOVERN_H

typedef struct bench_govern_options {
    const char *selector;   /* the device measured */
    const char *cache_root; /* a fresh temporary directory: cache, policies, logs */
} bench_govern_options;

/* Prints the table; returns the exit status (failure when a case could not
 * run or the goal was missed). */
int bench_govern_suite(const bench_govern_options *opts);

#endif
