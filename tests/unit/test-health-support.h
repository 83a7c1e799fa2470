/* A health clock for tests about something other than the probe rate limit
 * (test-core-health.c's subject): it leaps past the longest probe interval
 * at every reading, so every call on an unhealthy device probes it, as
 * before the limit existed. Install with health_set_clock(leaping_clock);
 * health_set_clock(NULL) restores the real one. */
#ifndef KILN_TEST_HEALTH_SUPPORT_H
#define KILN_TEST_HEALTH_SUPPORT_H

#include <stdint.h>

#include "core/health.h"

static uint64_t leaping_clock(void)
{
    static uint64_t now;
    return now += 2 * HEALTH_PROBE_MAX_NS;
}

#endif
