/* Driving the fault adapter from tests (test files only, after <cmocka.h>:
 * it asserts).
 *
 * test_fault_plan installs a plan in fault_plan.h's text form ("none" fails
 * nothing).
 *
 * leaping_clock is a health clock for tests about something other than the
 * probe rate limit (test-core-health.c's subject): it leaps past the longest
 * probe interval at every reading, so every call on an unhealthy device
 * probes it. Install with health_set_clock(leaping_clock);
 * health_set_clock(NULL) restores the real one. */
#ifndef KILN_TEST_FAULT_SUPPORT_H
#define KILN_TEST_FAULT_SUPPORT_H

#include <stdint.h>

#include "backends/fault/fault_plan.h"
#include "core/health.h"

static inline void test_fault_plan(const char *text)
{
    fault_plan p;
    assert_int_equal(fault_plan_parse(text, &p), KILN_OK);
    fault_plan_set(&p);
}

static inline uint64_t leaping_clock(void)
{
    static uint64_t now;
    return now += 2 * HEALTH_PROBE_MAX_NS;
}

#endif
