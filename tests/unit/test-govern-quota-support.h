/* Helpers shared by the quota engine's single-thread tests
 * (test-govern-quota.c, test-govern-quota-window.c): time units, random
 * values from a printed seed, and a clock the tests move by hand. Included
 * by test files only (static functions). */
#ifndef KILN_TEST_GOVERN_QUOTA_SUPPORT_H
#define KILN_TEST_GOVERN_QUOTA_SUPPORT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "govern/quota.h"

#define MS 1000000ull
#define SECOND 1000000000ull

static unsigned quota_test_seed;

/* A seed from the clock, printed so that a failure can be replayed. */
static inline void quota_test_seed_from_clock(void)
{
    quota_test_seed = (unsigned)time(NULL);
    printf("seed %u\n", quota_test_seed);
}

/* A random value in [lo, hi]. */
static inline uint64_t quota_test_rand_between(uint64_t lo, uint64_t hi)
{
    uint64_t r = ((uint64_t)rand_r(&quota_test_seed) << 31) ^ (uint64_t)rand_r(&quota_test_seed);
    return lo + r % (hi - lo + 1);
}

/* The injected clock: tests move it by hand. */
static uint64_t quota_test_now;

static inline uint64_t quota_test_clock_read(void *ctx)
{
    (void)ctx;
    return quota_test_now;
}

static const quota_clock QUOTA_TEST_CLOCK = { quota_test_clock_read, NULL };

#endif
