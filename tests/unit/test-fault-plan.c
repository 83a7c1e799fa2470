/* The fault plan (src/backends/fault/fault_plan.h): the KILN_FAULT grammar
 * and its errors, which calls count, schedule and probability fail (rates
 * measured), determinism for a seed, the health a device fault forces, and
 * when the fault adapter is present at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kiln/kiln.h>

#include "backends/fault/fault_backend.h"
#include "backends/fault/fault_plan.h"
#include "core/registry.h"
#include "util/fail.h"

/* Calls drawn to measure a probability: the rate's standard deviation is
 * then below 0.4 %. */
#define PLAN_TEST_DRAWS 20000
/* Allowed distance of a measured rate from p, in standard deviations. */
#define PLAN_TEST_SIGMAS 5.0
#define PLAN_TEST_MAX_NTH 50

static void seed_random(void)
{
    const char *fixed = getenv("KILN_TEST_SEED");
    unsigned seed = fixed ? (unsigned)strtoul(fixed, NULL, 10)
                          : (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    printf("# seed %u (set KILN_TEST_SEED to replay)\n", seed);
    srand(seed);
}

static unsigned random_between(unsigned lo, unsigned hi)
{
    return lo + (unsigned)rand() % (hi - lo + 1);
}

static uint64_t random_u64(void)
{
    return ((uint64_t)rand() << 42) ^ ((uint64_t)rand() << 21) ^ (uint64_t)rand();
}

static void install(const char *text)
{
    fault_plan plan;
    assert_int_equal(fault_plan_parse(text, &plan), KILN_OK);
    fault_plan_set(&plan);
}

static int setup(void **state)
{
    (void)state;
    unsetenv("KILN_FAULT");
    fault_plan_clear();
    return 0;
}

static void plan_none_and_empty_fail_nothing(void **state)
{
    (void)state;
    const char *texts[] = {"none", "", ";;"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        fault_plan plan;
        assert_int_equal(fault_plan_parse(texts[i], &plan), KILN_OK);
        assert_int_equal(plan.mode, FAULT_MODE_NONE);
        assert_int_equal(plan.status, KILN_ERR_DEVICE_FAULT);
        fault_plan_set(&plan);
        for (int op = 0; op < FAULT_OP_COUNT; op++)
            assert_int_equal(fault_plan_enter((fault_op)op), KILN_OK);
        fault_stats stats;
        fault_plan_stats(&stats);
        assert_int_equal(stats.total_seen, FAULT_OP_COUNT);
        assert_int_equal(stats.total_injected, 0);
    }
}

static void plan_parses_every_key(void **state)
{
    (void)state;
    uint64_t seed = random_u64();
    char text[256];
    snprintf(text, sizeof text,
             "seed=%llu;p=0.25;calls=memory.alloc,execution.launch;status=out_of_memory;limit=9",
             (unsigned long long)seed);
    fault_plan plan;
    assert_int_equal(fault_plan_parse(text, &plan), KILN_OK);
    assert_int_equal(plan.mode, FAULT_MODE_PROBABILITY);
    assert_true(plan.seed == seed);
    assert_true(fabs(plan.probability - 0.25) < 1e-12);
    assert_int_equal(plan.selected, (1u << FAULT_OP_ALLOC) | (1u << FAULT_OP_LAUNCH));
    assert_int_equal(plan.status, KILN_ERR_OUT_OF_MEMORY);
    assert_int_equal(plan.limit, 9);

    assert_int_equal(fault_plan_parse("schedule=3,1,40;status=KILN_ERR_DEVICE_LOST", &plan),
                     KILN_OK);
    assert_int_equal(plan.mode, FAULT_MODE_SCHEDULE);
    assert_int_equal(plan.schedule_length, 3);
    assert_int_equal(plan.schedule[2], 40);
    assert_int_equal(plan.status, KILN_ERR_DEVICE_LOST);
    assert_int_equal(plan.selected, (1u << FAULT_OP_COUNT) - 1u); /* calls defaults to "*" */

    /* "port.*" selects exactly that port's calls. */
    assert_int_equal(fault_plan_parse("calls=memory.*;count=2", &plan), KILN_OK);
    for (int op = 0; op < FAULT_OP_COUNT; op++) {
        int is_memory = strncmp(fault_op_name((fault_op)op), "memory.", 7) == 0;
        assert_int_equal(!!(plan.selected & (1u << op)), is_memory);
    }
    assert_int_equal(plan.mode, FAULT_MODE_COUNT);
    assert_int_equal(plan.nth, 2);
    assert_null(fault_op_name(FAULT_OP_COUNT));
}

static void plan_rejects_bad_grammar_with_the_item(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *why;
    } bad[] = {
        {"p=1.5", "p is a number from 0 to 1"},
        {"p=-0.1", "p is a number from 0 to 1"},
        {"p=0.1x", "p is a number from 0 to 1"},
        {"count=0", "call numbers start at 1"},
        {"from=x", "call numbers start at 1"},
        {"seed=-1", "seed is a decimal number"},
        {"seed=99999999999999999999", "seed is a decimal number"},
        {"limit=", "limit is a decimal number"},
        {"calls=memory.nope", "unknown call name"},
        {"calls=", "empty list"},
        {"schedule=1,,2", "schedule entries are call numbers >= 1"},
        {"status=melted", "unknown status"},
        {"frob=1", "unknown key"},
        {"p=0.1;count=3", "only one of p, count, from, schedule"},
        {"count", "expected key=value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fault_plan plan;
        assert_int_equal(fault_plan_parse(bad[i].text, &plan), KILN_ERR_INVALID_ARG);
        const char *detail = util_last_error();
        if (!strstr(detail, bad[i].why) || !strstr(detail, "KILN_FAULT: bad item"))
            fail_msg("'%s' gave '%s', expected '%s'", bad[i].text, detail, bad[i].why);
        /* A failed parse leaves a plan that fails nothing. */
        assert_int_equal(plan.mode, FAULT_MODE_NONE);
    }
    char many[512] = "schedule=1";
    for (int i = 2; i <= FAULT_SCHEDULE_MAX + 1; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), ",%d", i);
    fault_plan plan;
    assert_int_equal(fault_plan_parse(many, &plan), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(util_last_error(), "more than 64"));
}

/* The Nth selected call fails, once; unselected calls neither fail nor
 * advance the count. */
static void count_fails_exactly_the_nth_selected_call(void **state)
{
    (void)state;
    unsigned nth = random_between(1, PLAN_TEST_MAX_NTH);
    char text[96];
    snprintf(text, sizeof text, "calls=memory.alloc;count=%u;status=out_of_memory", nth);
    install(text);
    unsigned failed = 0;
    for (unsigned call = 1; call <= 2 * PLAN_TEST_MAX_NTH; call++) {
        assert_int_equal(fault_plan_enter(FAULT_OP_LAUNCH), KILN_OK);
        kiln_status st = fault_plan_enter(FAULT_OP_ALLOC);
        if (call == nth) {
            assert_int_equal(st, KILN_ERR_OUT_OF_MEMORY);
            char want[64];
            snprintf(want, sizeof want, "injected fault: memory.alloc call %u", nth);
            assert_string_equal(util_last_error(), want);
            failed++;
        } else {
            assert_int_equal(st, KILN_OK);
        }
    }
    assert_int_equal(failed, 1);
    fault_stats stats;
    fault_plan_stats(&stats);
    assert_int_equal(stats.seen[FAULT_OP_ALLOC], 2 * PLAN_TEST_MAX_NTH);
    assert_int_equal(stats.seen[FAULT_OP_LAUNCH], 2 * PLAN_TEST_MAX_NTH);
    assert_int_equal(stats.selected, 2 * PLAN_TEST_MAX_NTH);
    assert_int_equal(stats.injected[FAULT_OP_ALLOC], 1);
    assert_int_equal(stats.total_injected, 1);
}

static void from_fails_every_call_after_and_limit_stops_it(void **state)
{
    (void)state;
    unsigned nth = random_between(1, PLAN_TEST_MAX_NTH);
    unsigned limit = random_between(1, PLAN_TEST_MAX_NTH);
    char text[96];
    snprintf(text, sizeof text, "calls=execution.*;from=%u;limit=%u", nth, limit);
    install(text);
    unsigned failed = 0;
    for (unsigned call = 1; call <= 3 * PLAN_TEST_MAX_NTH; call++) {
        kiln_status st = fault_plan_enter(FAULT_OP_SYNCHRONIZE);
        int expect = call >= nth && call < nth + limit;
        assert_int_equal(st, expect ? KILN_ERR_DEVICE_FAULT : KILN_OK);
        failed += st != KILN_OK;
    }
    assert_int_equal(failed, limit);
}

static void schedule_fails_the_listed_calls(void **state)
{
    (void)state;
    int listed[PLAN_TEST_MAX_NTH + 1] = {0};
    char text[512] = "calls=*;status=device;schedule=";
    unsigned entries = random_between(1, 10);
    for (unsigned i = 0; i < entries; i++) {
        unsigned call = random_between(1, PLAN_TEST_MAX_NTH);
        listed[call] = 1;
        snprintf(text + strlen(text), sizeof text - strlen(text), "%s%u", i ? "," : "", call);
    }
    install(text);
    for (unsigned call = 1; call <= PLAN_TEST_MAX_NTH; call++) {
        fault_op op = (fault_op)(call % FAULT_OP_COUNT);
        kiln_status st = fault_plan_enter(op);
        assert_int_equal(st, listed[call] ? KILN_ERR_DEVICE : KILN_OK);
        if (listed[call]) {
            char want[96];
            snprintf(want, sizeof want, "injected fault: %s call %u", fault_op_name(op), call);
            assert_string_equal(util_last_error(), want);
        }
    }
}

/* Runs PLAN_TEST_DRAWS selected calls; returns how many failed and writes
 * the outcome of each into hits. */
static unsigned draw_pattern(uint64_t seed, double p, unsigned char *hits)
{
    char text[128];
    snprintf(text, sizeof text, "seed=%llu;p=%.6f;calls=compile.compile",
             (unsigned long long)seed, p);
    install(text);
    unsigned failed = 0;
    for (unsigned i = 0; i < PLAN_TEST_DRAWS; i++) {
        hits[i] = fault_plan_enter(FAULT_OP_COMPILE) != KILN_OK;
        failed += hits[i];
    }
    return failed;
}

static void probability_rate_matches_and_seed_replays(void **state)
{
    (void)state;
    unsigned char *a = malloc(PLAN_TEST_DRAWS), *b = malloc(PLAN_TEST_DRAWS);
    assert_non_null(a);
    assert_non_null(b);
    for (int round = 0; round < 3; round++) {
        double p = 0.02 + (double)rand() / RAND_MAX * 0.6;
        uint64_t seed = random_u64();
        unsigned failed = draw_pattern(seed, p, a);
        double rate = (double)failed / PLAN_TEST_DRAWS;
        double sigma = sqrt(p * (1 - p) / PLAN_TEST_DRAWS);
        printf("# p=%.4f seed=%llu: measured %.4f (sigma %.4f)\n", p, (unsigned long long)seed,
               rate, sigma);
        assert_true(fabs(rate - p) < PLAN_TEST_SIGMAS * sigma);
        /* The same seed fails the same calls; another seed does not. */
        assert_int_equal(draw_pattern(seed, p, b), failed);
        assert_memory_equal(a, b, PLAN_TEST_DRAWS);
        draw_pattern(seed + 1, p, b);
        assert_true(memcmp(a, b, PLAN_TEST_DRAWS) != 0);
    }
    /* The edges: p=0 fails nothing, p=1 everything. */
    assert_int_equal(draw_pattern(random_u64(), 0.0, a), 0);
    assert_int_equal(draw_pattern(random_u64(), 1.0, a), PLAN_TEST_DRAWS);
    free(a);
    free(b);
}

/* A device fault forces DEGRADED (a lost device LOST) while the plan can
 * still fail calls; when it cannot, or is cleared, health is the inner
 * adapter's again. */
static void device_fault_forces_health_until_the_plan_ends(void **state)
{
    (void)state;
    install("calls=execution.launch;schedule=2,5");
    assert_int_equal(fault_plan_forced_health(), KILN_HEALTH_HEALTHY);
    assert_int_equal(fault_plan_enter(FAULT_OP_LAUNCH), KILN_OK);
    assert_int_equal(fault_plan_forced_health(), KILN_HEALTH_HEALTHY);
    assert_int_equal(fault_plan_enter(FAULT_OP_LAUNCH), KILN_ERR_DEVICE_FAULT);
    assert_int_equal(fault_plan_forced_health(), KILN_HEALTH_DEGRADED);
    assert_int_equal(fault_plan_enter(FAULT_OP_LAUNCH), KILN_OK);
    assert_int_equal(fault_plan_enter(FAULT_OP_LAUNCH), KILN_OK);
    assert_int_equal(fault_plan_forced_health(), KILN_HEALTH_DEGRADED);
    assert_int_equal(fault_plan_enter(FAULT_OP_LAUNCH), KILN_ERR_DEVICE_FAULT);
    assert_int_equal(fault_plan_forced_health(), KILN_HEALTH_HEALTHY); /* schedule done */

    /* A limit ends the plan, so the forced health ends with it. */
    install("calls=execution.launch;from=1;limit=1");
    assert_int_equal(fault_plan_enter(FAULT_OP_LAUNCH), KILN_ERR_DEVICE_FAULT);
    assert_int_equal(fault_plan_forced_health(), KILN_HEALTH_HEALTHY);
    /* A probability plan never ends by itself; a later fault does not
     * make a lost device merely degraded. */
    install("calls=execution.launch;p=1;status=device_lost;seed=3");
    assert_int_equal(fault_plan_enter(FAULT_OP_LAUNCH), KILN_ERR_DEVICE_LOST);
    assert_int_equal(fault_plan_forced_health(), KILN_HEALTH_LOST);

    install("calls=execution.synchronize;from=1;status=device_lost");
    assert_int_equal(fault_plan_enter(FAULT_OP_SYNCHRONIZE), KILN_ERR_DEVICE_LOST);
    assert_int_equal(fault_plan_forced_health(), KILN_HEALTH_LOST);
    fault_plan_clear();
    assert_int_equal(fault_plan_forced_health(), KILN_HEALTH_HEALTHY);
    /* A cleared plan fails nothing but still counts. */
    assert_int_equal(fault_plan_enter(FAULT_OP_SYNCHRONIZE), KILN_OK);
}

/* The adapter opens only when KILN_FAULT is set or a plan is installed. */
static void adapter_is_absent_unless_enabled(void **state)
{
    (void)state;
    const port_backend_ops *ops = registry_find("fault");
    assert_non_null(ops);
    assert_int_equal(ops->backend, KILN_BACKEND_FAULT);
    port_backend *b = NULL;
    char reason[256] = "";
    assert_int_equal(ops->open(&b, reason, sizeof reason), KILN_ERR_BACKEND_UNAVAILABLE);
    assert_string_equal(reason, "fault adapter not enabled (set KILN_FAULT)");
    assert_null(b);

    /* An ordinary context lists it as unavailable, with that reason. */
    kiln_context *ctx = NULL;
    kiln_context_options opts = {.size = sizeof opts,
                                 .backends = KILN_BACKEND_BIT(KILN_BACKEND_FAULT)};
    assert_int_equal(kiln_context_create(&ctx, &opts), KILN_OK);
    kiln_backend_info info;
    assert_int_equal(kiln_backend_get_info(ctx, 0, &info), KILN_OK);
    assert_int_equal(info.backend, KILN_BACKEND_FAULT);
    assert_int_equal(info.status, KILN_ERR_BACKEND_UNAVAILABLE);
    assert_string_equal(info.reason, "fault adapter not enabled (set KILN_FAULT)");
    assert_int_equal(kiln_device_count(ctx), 0);
    kiln_context_destroy(ctx);

    setenv("KILN_FAULT", "count=0", 1);
    assert_int_equal(ops->open(&b, reason, sizeof reason), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(reason, "KILN_FAULT: bad item 'count=0'"));

    setenv("KILN_FAULT", "calls=backend.open;count=1;status=device", 1);
    assert_int_equal(ops->open(&b, reason, sizeof reason), KILN_ERR_DEVICE);
    assert_string_equal(reason, "injected fault: backend.open call 1");
    assert_null(b);
    /* The environment's plan stays installed; its one fault is spent. */
    unsetenv("KILN_FAULT");
    assert_int_equal(ops->open(&b, reason, sizeof reason), KILN_OK);
    assert_non_null(b);
    assert_int_equal(ops->device_count(b), 1);
    /* Its device is the inner CPU device under the fault backend's name;
     * after a device fault its description says degraded. */
    port_device *dev = NULL;
    assert_int_equal(ops->device_open(b, 0, &dev), KILN_OK);
    install("calls=execution.launch,backend.device_info;schedule=1,3");
    assert_int_equal(fault_plan_enter(FAULT_OP_LAUNCH), KILN_ERR_DEVICE_FAULT);
    kiln_device_info described;
    assert_int_equal(ops->device_info(dev, &described), KILN_OK);
    assert_int_equal(described.backend, KILN_BACKEND_FAULT);
    assert_int_equal(described.kind, KILN_DEVICE_KIND_CPU);
    assert_int_equal(described.health, KILN_HEALTH_DEGRADED);
    assert_int_equal(ops->device_info(dev, &described), KILN_ERR_DEVICE_FAULT);
    assert_string_equal(util_last_error(), "injected fault: backend.device_info call 3");
    install("none");
    assert_int_equal(ops->device_info(dev, &described), KILN_OK);
    assert_int_equal(described.health, KILN_HEALTH_HEALTHY);
    ops->device_close(dev);
    ops->close(b);
    /* The wrapped adapter is fixed once: wrapping again changes nothing. */
    assert_ptr_equal(fault_backend_wrap(registry_find("opencl")), ops);
    assert_int_equal(ops->dialect, registry_find("cpu")->dialect);
    /* The environment's plan again, from a clean slate, for the counters. */
    fault_plan_clear();
    setenv("KILN_FAULT", "calls=backend.open;count=1;status=device", 1);
    assert_int_equal(ops->open(&b, reason, sizeof reason), KILN_ERR_DEVICE);
    unsetenv("KILN_FAULT");
    assert_int_equal(ops->open(&b, reason, sizeof reason), KILN_OK);
    ops->close(b);
    fault_stats stats;
    fault_plan_stats(&stats);
    assert_int_equal(stats.seen[FAULT_OP_BACKEND_OPEN], 2);
    assert_int_equal(stats.injected[FAULT_OP_BACKEND_OPEN], 1);
}

int main(void)
{
    seed_random();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(plan_none_and_empty_fail_nothing, setup),
        cmocka_unit_test_setup(plan_parses_every_key, setup),
        cmocka_unit_test_setup(plan_rejects_bad_grammar_with_the_item, setup),
        cmocka_unit_test_setup(count_fails_exactly_the_nth_selected_call, setup),
        cmocka_unit_test_setup(from_fails_every_call_after_and_limit_stops_it, setup),
        cmocka_unit_test_setup(schedule_fails_the_listed_calls, setup),
        cmocka_unit_test_setup(probability_rate_matches_and_seed_replays, setup),
        cmocka_unit_test_setup(device_fault_forces_health_until_the_plan_ends, setup),
        cmocka_unit_test_setup(adapter_is_absent_unless_enabled, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
