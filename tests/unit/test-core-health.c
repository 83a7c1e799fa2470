/* The device health circuit breaker (src/core/health.h), driven through the
 * fault adapter with a clock the test moves: a faulted device takes no work,
 * is probed at most once per interval (10 ms doubling to 1 s while probes
 * fail), and is readmitted by the first probe that passes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kiln/kiln.h>

#include "backends/fault/fault_plan.h"
#include "test-fault-support.h"
#include "core/health.h"

#define MS 1000000ull

static uint64_t test_now;

static uint64_t test_clock(void)
{
    return test_now;
}

static struct {
    kiln_context *ctx;
    kiln_device *dev;
    kiln_queue *q;
    kiln_buffer *buf;
} env;

static uint64_t probes(void)
{
    fault_stats stats;
    fault_plan_stats(&stats);
    return stats.seen[FAULT_OP_HEALTH];
}

static kiln_health health(void)
{
    kiln_device_info info;
    assert_int_equal(kiln_device_get_info(env.dev, &info), KILN_OK);
    return info.health;
}

static int setup(void **state)
{
    (void)state;
    unsetenv("KILN_FAULT");
    test_now = 1000 * MS;
    health_set_clock(test_clock);
    test_fault_plan("none");
    kiln_context_options o = {.size = sizeof o,
                              .backends = KILN_BACKEND_BIT(KILN_BACKEND_FAULT),
                              .flags = KILN_CONTEXT_NO_DISK_CACHE};
    if (kiln_context_create(&env.ctx, &o) != KILN_OK ||
        kiln_device_find(env.ctx, "fault:0", &env.dev) != KILN_OK ||
        kiln_queue_create(env.dev, KILN_PRIORITY_NORMAL, &env.q) != KILN_OK ||
        kiln_buffer_create(env.dev, 64, 0, &env.buf) != KILN_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_fault_plan("none");
    test_now += 10 * HEALTH_PROBE_MAX_NS;
    kiln_buffer_release(env.buf);
    kiln_queue_destroy(env.q);
    kiln_context_destroy(env.ctx);
    fault_plan_clear();
    health_set_clock(NULL);
    return 0;
}

/* Opens the breaker with a fault that keeps failing (the plan stays live). */
static void fault_the_device(void)
{
    test_fault_plan("calls=memory.fill;from=1;status=device_fault");
    assert_int_equal(kiln_buffer_fill(env.q, env.buf, 0, 7, 64), KILN_ERR_DEVICE_FAULT);
    /* The caller sees the adapter's detail. */
    assert_string_equal(kiln_last_error(), "injected fault: memory.fill call 1");
    assert_int_equal(health(), KILN_HEALTH_DEGRADED);
}

static void a_faulted_device_refuses_work_without_probing_until_the_interval_ends(void **state)
{
    (void)state;
    fault_the_device();
    uint64_t before = probes();
    kiln_buffer *other = NULL;
    for (int i = 0; i < 9; i++) {
        test_now += MS;
        assert_int_equal(kiln_buffer_create(env.dev, 64, 0, &other), KILN_ERR_DEVICE_LOST);
        assert_non_null(strstr(kiln_last_error(), "is degraded after a fault"));
        assert_null(other);
    }
    assert_int_equal(probes(), before);
    test_now += MS; /* 10 ms after the fault: one probe, which fails */
    assert_int_equal(kiln_buffer_create(env.dev, 64, 0, &other), KILN_ERR_DEVICE_LOST);
    assert_int_equal(kiln_buffer_create(env.dev, 64, 0, &other), KILN_ERR_DEVICE_LOST);
    assert_int_equal(probes(), before + 1);
}

static void probe_intervals_double_up_to_one_second_while_probes_fail(void **state)
{
    (void)state;
    fault_the_device();
    uint64_t wait = HEALTH_PROBE_FIRST_NS;
    kiln_buffer *other = NULL;
    for (int round = 0; round < 10; round++) {
        uint64_t before = probes();
        test_now += wait - 1;
        assert_int_equal(kiln_buffer_create(env.dev, 64, 0, &other), KILN_ERR_DEVICE_LOST);
        assert_int_equal(probes(), before); /* 1 ns early: no probe */
        test_now += 1;
        assert_int_equal(kiln_buffer_create(env.dev, 64, 0, &other), KILN_ERR_DEVICE_LOST);
        assert_int_equal(probes(), before + 1);
        wait = wait * 2 > HEALTH_PROBE_MAX_NS ? HEALTH_PROBE_MAX_NS : wait * 2;
    }
    assert_int_equal(wait, HEALTH_PROBE_MAX_NS); /* the cap was reached and held */
}

static void the_first_passing_probe_readmits_the_device_and_resets_the_interval(void **state)
{
    (void)state;
    fault_the_device();
    kiln_buffer *other = NULL;
    test_now += HEALTH_PROBE_FIRST_NS;
    assert_int_equal(kiln_buffer_create(env.dev, 64, 0, &other), KILN_ERR_DEVICE_LOST);
    test_fault_plan("none"); /* the device recovers; the next probe is 20 ms after the last */
    test_now += HEALTH_PROBE_FIRST_NS;
    assert_int_equal(kiln_buffer_create(env.dev, 64, 0, &other), KILN_ERR_DEVICE_LOST);
    assert_int_equal(health(), KILN_HEALTH_DEGRADED);
    test_now += HEALTH_PROBE_FIRST_NS;
    assert_int_equal(kiln_buffer_create(env.dev, 64, 0, &other), KILN_OK);
    assert_int_equal(health(), KILN_HEALTH_HEALTHY);
    unsigned char back[64];
    assert_int_equal(kiln_buffer_fill(env.q, other, 0, 9, sizeof back), KILN_OK);
    assert_int_equal(kiln_buffer_read(env.q, other, 0, back, sizeof back), KILN_OK);
    for (size_t i = 0; i < sizeof back; i++)
        assert_int_equal(back[i], 9);
    kiln_buffer_release(other);
    /* A new fault waits the first interval again, not the doubled one. */
    fault_the_device();
    test_now += HEALTH_PROBE_FIRST_NS;
    test_fault_plan("none");
    assert_int_equal(kiln_buffer_create(env.dev, 64, 0, &other), KILN_OK);
    kiln_buffer_release(other);
}

static void a_lost_device_stays_refused_while_its_probe_fails(void **state)
{
    (void)state;
    test_fault_plan("calls=memory.fill,execution.health;from=1;status=device_lost");
    assert_int_equal(kiln_buffer_fill(env.q, env.buf, 0, 7, 64), KILN_ERR_DEVICE_LOST);
    assert_non_null(strstr(kiln_last_error(), "injected fault: memory.fill call"));
    kiln_buffer *other = NULL;
    test_now += HEALTH_PROBE_FIRST_NS;
    assert_int_equal(kiln_buffer_create(env.dev, 64, 0, &other), KILN_ERR_DEVICE_LOST);
    assert_non_null(strstr(kiln_last_error(), "is lost after a fault"));
    assert_int_equal(health(), KILN_HEALTH_LOST);
}

/* Threads that find the interval over at the same moment: one probes. */
#define HEALTH_TEST_THREADS 8
#define HEALTH_TEST_CALLS 50

static void *refused_calls(void *arg)
{
    (void)arg;
    for (int i = 0; i < HEALTH_TEST_CALLS; i++) {
        kiln_buffer *other = NULL;
        if (kiln_buffer_create(env.dev, 64, 0, &other) != KILN_ERR_DEVICE_LOST || other)
            return (void *)1;
    }
    return NULL;
}

static void concurrent_callers_share_one_probe_per_interval(void **state)
{
    (void)state;
    fault_the_device();
    uint64_t before = probes();
    test_now += HEALTH_PROBE_FIRST_NS;
    pthread_t threads[HEALTH_TEST_THREADS];
    for (int i = 0; i < HEALTH_TEST_THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, refused_calls, NULL), 0);
    for (int i = 0; i < HEALTH_TEST_THREADS; i++) {
        void *failed = NULL;
        assert_int_equal(pthread_join(threads[i], &failed), 0);
        assert_null(failed);
    }
    assert_int_equal(probes(), before + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            a_faulted_device_refuses_work_without_probing_until_the_interval_ends, setup, teardown),
        cmocka_unit_test_setup_teardown(probe_intervals_double_up_to_one_second_while_probes_fail,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            the_first_passing_probe_readmits_the_device_and_resets_the_interval, setup, teardown),
        cmocka_unit_test_setup_teardown(a_lost_device_stays_refused_while_its_probe_fails, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(concurrent_callers_share_one_probe_per_interval, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
