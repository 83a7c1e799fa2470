/* The quota engine when host memory runs out: the executable replaces the
 * allocator (test-alloc-interpose.h, forwarding to glibc's own) so that the
 * k-th allocation of a sequence fails, for k = 1, 2, ... until a run completes.
 * The sequence builds a table, reserves, rebuilds it from the first (shared
 * accounts, a new subject, a changed window) and releases everything. Every
 * step either succeeds or returns KILN_ERR_OUT_OF_HOST_MEMORY, the usage it
 * leaves is consistent, and nothing allocated during the run is left over.
 *
 * Sanitizers replace malloc themselves: under ASan or TSan the test skips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "govern/quota.h"
#include "util/fail.h"

#include "test-alloc-interpose.h"

#if !ALLOC_INTERPOSE_ACTIVE

ALLOC_INTERPOSE_SKIPPED_MAIN

#else

/* The sequence makes a few dozen allocations. */
#define SWEEP_MAX_K 1000

static bool ok_or_oom(kiln_status st)
{
    if (st == KILN_OK)
        return true;
    assert_int_equal(st, KILN_ERR_OUT_OF_HOST_MEMORY);
    assert_true(strlen(util_last_error()) > 0);
    return false;
}

/* One run of the sequence; true when it reached its end. */
static bool run_sequence(void)
{
    quota_limit_entry e[3] = {
        { QUOTA_SUBJECT_PRINCIPAL, "alice", quota_limits_unlimited() },
        { QUOTA_SUBJECT_ROLE, "ml", quota_limits_unlimited() },
        { QUOTA_SUBJECT_ROLE, "new", quota_limits_unlimited() },
    };
    e[0].limits.device_time_ns = 1000000;
    e[0].limits.window_ns = 1000000000;
    e[1].limits.device_memory_bytes = 1000;
    static const govern_principal alice = { "alice", { "ml", "new" }, 2 };
    quota_table *t1 = NULL, *t2 = NULL;
    quota_reservation r = { 0 };
    bool complete = false;
    if (!ok_or_oom(quota_table_create(e, 2, NULL, NULL, &t1)))
        goto done;
    assert_int_equal(quota_reserve(t1, &alice, &(quota_request){ 600, 1, 1 }, &r), KILN_OK);
    e[0].limits.window_ns = 2000000000;
    e[1].limits.device_memory_bytes = 500;
    if (!ok_or_oom(quota_table_create(e, 3, t1, NULL, &t2)))
        goto done;
    quota_usage u;
    assert_int_equal(quota_usage_get(t2, QUOTA_SUBJECT_ROLE, "ml", &u), KILN_OK);
    assert_int_equal(u.device_memory_bytes, 600);
    assert_int_equal(u.limits.device_memory_bytes, 500);
    complete = true;
done:
    /* A failed rebuild must leave the first table's usage as it was. */
    if (t1) {
        quota_usage before;
        assert_int_equal(quota_usage_get(t1, QUOTA_SUBJECT_ROLE, "ml", &before), KILN_OK);
        assert_int_equal(before.device_memory_bytes, 600);
    }
    assert_null(complete ? NULL : t2);
    quota_table_release(t1);
    assert_int_equal(quota_release(&r), t1 != NULL);
    if (t2) {
        quota_usage after;
        assert_int_equal(quota_usage_get(t2, QUOTA_SUBJECT_ROLE, "ml", &after), KILN_OK);
        assert_int_equal(after.device_memory_bytes, 0);
    }
    quota_table_release(t2);
    return complete;
}

static void every_allocation_failure_is_reported_and_leaks_nothing(void **state)
{
    (void)state;
    int k;
    for (k = 1; k < SWEEP_MAX_K; k++) {
        atomic_store(&alloc_injected, 0);
        alloc_track(1);
        alloc_fail_arm(k);
        bool complete = run_sequence();
        alloc_fail_disarm();
        size_t left = alloc_track_live();
        assert_false(alloc_track_overflowed());
        alloc_track(0);
        if (left != 0)
            fail_msg("k=%d: %zu block(s) left allocated", k, left);
        if (complete && !atomic_load(&alloc_injected))
            break;
    }
    assert_true(k > 1 && k < SWEEP_MAX_K);
    printf("%d allocation points checked\n", k - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_allocation_failure_is_reported_and_leaks_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
