/* The device-time quota on an injected clock: launches are refused once the
 * rolling window's use reaches the limit and admitted again as charges age
 * out; a charge is remembered for at least the window and at most one bucket
 * (1/64 of it) longer; a reload that changes the window keeps what is in it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "govern/quota.h"
#include "test-govern-quota-support.h"
#include "util/fail.h"

/* The window's resolution, as quota_impl.h documents it. */
#define BUCKETS 64u

static const govern_principal ALICE = { "alice", { "ml" }, 1 };
static const quota_request LAUNCH = { 0, 0, 1 };

static uint64_t bucket_of(uint64_t window)
{
    return (window + BUCKETS - 1) / BUCKETS;
}

static quota_table *time_table(uint64_t limit, uint64_t window)
{
    quota_limit_entry e = { QUOTA_SUBJECT_PRINCIPAL, "alice", quota_limits_unlimited() };
    e.limits.device_time_ns = limit;
    e.limits.window_ns = window;
    quota_table *t = NULL;
    assert_int_equal(quota_table_create(&e, 1, NULL, &QUOTA_TEST_CLOCK, &t), KILN_OK);
    return t;
}

static uint64_t time_used(quota_table *t, quota_subject_kind kind, const char *name)
{
    quota_usage u;
    assert_int_equal(quota_usage_get(t, kind, name, &u), KILN_OK);
    return u.device_time_ns;
}

static kiln_status try_launch(quota_table *t)
{
    quota_reservation r;
    kiln_status st = quota_reserve(t, &ALICE, &LAUNCH, &r);
    quota_release(&r);
    return st;
}

static void launches_refused_at_limit_and_admitted_as_window_slides(void **state)
{
    (void)state;
    const uint64_t window = SECOND, limit = 100 * MS, bucket = bucket_of(window);
    quota_test_now =
        quota_test_rand_between(1, 1000) * SECOND + quota_test_rand_between(0, SECOND);
    const uint64_t t0 = quota_test_now;
    quota_table *t = time_table(limit, window);
    assert_int_equal(try_launch(t), KILN_OK);
    assert_int_equal(quota_charge_time(t, &ALICE, 60 * MS), KILN_OK);
    assert_int_equal(try_launch(t), KILN_OK);
    quota_test_now = t0 + 100 * MS;
    assert_int_equal(quota_charge_time(t, &ALICE, 50 * MS), KILN_OK);
    /* Over the limit by the second launch's own time: refused from now on. */
    assert_int_equal(try_launch(t), KILN_ERR_QUOTA);
    assert_string_equal(util_last_error(),
                        "quota \"device_time_ns\" of principal \"alice\" exceeded: limit 100000000 "
                        "per 1000000000 ns window, in use 110000000, requested a launch");
    /* Device time does not limit what holds no launch. */
    quota_reservation mem;
    assert_int_equal(quota_reserve(t, &ALICE, &(quota_request){ 4096, 1, 0 }, &mem), KILN_OK);
    assert_true(quota_release(&mem));
    /* Never forgotten early: the first charge counts until t0 + window. */
    quota_test_now = t0 + window - 1;
    assert_int_equal(time_used(t, QUOTA_SUBJECT_PRINCIPAL, "alice"), 110 * MS);
    assert_int_equal(try_launch(t), KILN_ERR_QUOTA);
    /* At most one bucket late. */
    quota_test_now = t0 + window + bucket;
    assert_int_equal(time_used(t, QUOTA_SUBJECT_PRINCIPAL, "alice"), 50 * MS);
    assert_int_equal(try_launch(t), KILN_OK);
    quota_test_now = t0 + 100 * MS + window + bucket;
    assert_int_equal(time_used(t, QUOTA_SUBJECT_PRINCIPAL, "alice"), 0);
    quota_table_release(t);
}

#define CHARGES 400

/* Random charges at random times: the window's figure lies between the
 * charges of the exact window and those of 65 buckets (the window rounded
 * up to 64 buckets, plus the one that is filling). */
static void random_charges_stay_within_resolution(void **state)
{
    (void)state;
    const uint64_t window = quota_test_rand_between(SECOND / 10, 30 * SECOND);
    const uint64_t bucket = bucket_of(window);
    quota_table *t = time_table(QUOTA_UNLIMITED - 1, window);
    uint64_t at[CHARGES], ns[CHARGES];
    quota_test_now = quota_test_rand_between(0, 1ull << 50);
    for (int i = 0; i < CHARGES; i++) {
        quota_test_now += quota_test_rand_between(0, window / 16);
        at[i] = quota_test_now;
        ns[i] = quota_test_rand_between(1, 10 * MS);
        assert_int_equal(quota_charge_time(t, &ALICE, ns[i]), KILN_OK);
        if (quota_test_rand_between(0, 3) == 0)
            quota_test_now += quota_test_rand_between(0, 2 * window);
        uint64_t exact = 0, loose = 0;
        for (int j = 0; j <= i; j++) {
            if (at[j] + window > quota_test_now)
                exact += ns[j];
            if (at[j] + (BUCKETS + 1) * bucket > quota_test_now)
                loose += ns[j];
        }
        uint64_t used = time_used(t, QUOTA_SUBJECT_PRINCIPAL, "alice");
        if (used < exact || used > loose)
            fail_msg("charge %d: window %llu ns, used %llu outside [%llu, %llu]", i,
                     (unsigned long long)window, (unsigned long long)used,
                     (unsigned long long)exact, (unsigned long long)loose);
    }
    quota_table_release(t);
}

/* Device time of a subject without a device-time limit is tracked over the
 * default window; a principal without an entry is not tracked. Every
 * account that applies is charged once. */
static void charges_reach_every_account_once(void **state)
{
    (void)state;
    quota_limit_entry e[2] = { { QUOTA_SUBJECT_ROLE, "ml", quota_limits_unlimited() },
                               { QUOTA_SUBJECT_PRINCIPAL, "alice", quota_limits_unlimited() } };
    e[1].limits.live_buffers = 3;
    quota_test_now = quota_test_rand_between(0, 1ull << 40);
    quota_table *t = NULL;
    assert_int_equal(quota_table_create(e, 2, NULL, &QUOTA_TEST_CLOCK, &t), KILN_OK);
    uint64_t ns = quota_test_rand_between(1, SECOND);
    static const govern_principal twice = { "alice", { "ml", "ml" }, 2 };
    static const govern_principal eve = { "eve", { "ml" }, 1 };
    assert_int_equal(quota_charge_time(t, &twice, ns), KILN_OK);
    assert_int_equal(quota_charge_time(t, &eve, ns), KILN_OK);
    assert_int_equal(time_used(t, QUOTA_SUBJECT_ROLE, "ml"), 2 * ns);
    assert_int_equal(time_used(t, QUOTA_SUBJECT_PRINCIPAL, "alice"), ns);
    quota_usage u;
    assert_int_equal(quota_usage_get(t, QUOTA_SUBJECT_ROLE, "ml", &u), KILN_OK);
    assert_int_equal(u.window_ns, 60 * SECOND);
    assert_int_equal(u.limits.window_ns, 0);
    assert_int_equal(quota_charge_time(t, &eve, 0), KILN_OK);
    assert_int_equal(time_used(t, QUOTA_SUBJECT_ROLE, "ml"), 2 * ns);
    quota_table_release(t);
}

/* A reload that changes the window keeps what was charged in it, which
 * then ages out over the new window. One that keeps the window keeps the
 * buckets as they are. */
static void reload_with_new_window_keeps_charged_time(void **state)
{
    (void)state;
    quota_test_now = quota_test_rand_between(1, 1ull << 40);
    quota_table *t1 = time_table(400 * MS, SECOND);
    assert_int_equal(quota_charge_time(t1, &ALICE, 300 * MS), KILN_OK);
    quota_test_now += 500 * MS;
    quota_limit_entry e = { QUOTA_SUBJECT_PRINCIPAL, "alice", quota_limits_unlimited() };
    e.limits.device_time_ns = 250 * MS;
    e.limits.window_ns = 10 * SECOND;
    quota_table *t2 = NULL;
    assert_int_equal(quota_table_create(&e, 1, t1, NULL, &t2), KILN_OK);
    quota_usage u;
    assert_int_equal(quota_usage_get(t2, QUOTA_SUBJECT_PRINCIPAL, "alice", &u), KILN_OK);
    assert_int_equal(u.device_time_ns, 300 * MS);
    assert_int_equal(u.window_ns, 10 * SECOND);
    assert_int_equal(u.limits.device_time_ns, 250 * MS);
    assert_int_equal(try_launch(t2), KILN_ERR_QUOTA);
    /* Past the old window's end, still inside the new one. */
    quota_test_now += 2 * SECOND;
    assert_int_equal(time_used(t2, QUOTA_SUBJECT_PRINCIPAL, "alice"), 300 * MS);
    assert_int_equal(try_launch(t2), KILN_ERR_QUOTA);
    quota_test_now += 10 * SECOND + bucket_of(10 * SECOND);
    assert_int_equal(time_used(t2, QUOTA_SUBJECT_PRINCIPAL, "alice"), 0);
    assert_int_equal(try_launch(t2), KILN_OK);
    /* Same window again: the charge made under t2 stays where it was. */
    assert_int_equal(quota_charge_time(t2, &ALICE, 100 * MS), KILN_OK);
    quota_table *t3 = NULL;
    assert_int_equal(quota_table_create(&e, 1, t2, NULL, &t3), KILN_OK);
    quota_test_now += 5 * SECOND;
    assert_int_equal(time_used(t3, QUOTA_SUBJECT_PRINCIPAL, "alice"), 100 * MS);
    quota_test_now += 5 * SECOND + bucket_of(10 * SECOND);
    assert_int_equal(time_used(t3, QUOTA_SUBJECT_PRINCIPAL, "alice"), 0);
    quota_table_release(t1);
    quota_table_release(t2);
    quota_table_release(t3);
}

/* An injected clock that steps back charges the newest bucket instead of
 * one already expired: nothing is lost. */
static void clock_stepping_back_loses_nothing(void **state)
{
    (void)state;
    quota_test_now = quota_test_rand_between(10 * SECOND, 1ull << 40);
    quota_table *t = time_table(SECOND, SECOND);
    assert_int_equal(quota_charge_time(t, &ALICE, 10 * MS), KILN_OK);
    quota_test_now -= 3 * SECOND;
    assert_int_equal(quota_charge_time(t, &ALICE, 20 * MS), KILN_OK);
    assert_int_equal(time_used(t, QUOTA_SUBJECT_PRINCIPAL, "alice"), 30 * MS);
    quota_table_release(t);
}

/* The monotonic clock (no injected one): a charge is seen at once. */
static void real_clock_counts_charges(void **state)
{
    (void)state;
    quota_limit_entry e = { QUOTA_SUBJECT_PRINCIPAL, "alice", quota_limits_unlimited() };
    e.limits.device_time_ns = 50 * MS;
    e.limits.window_ns = 60 * SECOND;
    quota_table *t = NULL;
    assert_int_equal(quota_table_create(&e, 1, NULL, NULL, &t), KILN_OK);
    uint64_t ns = quota_test_rand_between(1, 49 * MS);
    assert_int_equal(try_launch(t), KILN_OK);
    assert_int_equal(quota_charge_time(t, &ALICE, ns), KILN_OK);
    assert_int_equal(time_used(t, QUOTA_SUBJECT_PRINCIPAL, "alice"), ns);
    assert_int_equal(try_launch(t), KILN_OK);
    assert_int_equal(quota_charge_time(t, &ALICE, 50 * MS), KILN_OK);
    assert_int_equal(try_launch(t), KILN_ERR_QUOTA);
    quota_table_release(t);
}

int main(void)
{
    quota_test_seed_from_clock();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(launches_refused_at_limit_and_admitted_as_window_slides),
        cmocka_unit_test(random_charges_stay_within_resolution),
        cmocka_unit_test(charges_reach_every_account_once),
        cmocka_unit_test(reload_with_new_window_keeps_charged_time),
        cmocka_unit_test(clock_stepping_back_loses_nothing),
        cmocka_unit_test(real_clock_counts_charges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
