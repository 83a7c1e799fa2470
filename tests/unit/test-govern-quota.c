/* The quota engine on one thread: each quota's limit, zero and unlimited;
 * principal and roles charged together or not at all; the refusal's text;
 * release (once only); a reload that keeps usage; the device-time window
 * sliding on an injected clock; and a random sequence checked against a
 * model. The threaded proofs are in test-govern-quota-threads.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "govern/quota.h"
#include "test-govern-quota-support.h"
#include "util/fail.h"

static quota_limit_entry entry(quota_subject_kind kind, const char *name)
{
    return (quota_limit_entry){ kind, name, quota_limits_unlimited() };
}

static quota_table *make_table(const quota_limit_entry *e, uint32_t n)
{
    quota_table *t = NULL;
    assert_int_equal(quota_table_create(e, n, NULL, &QUOTA_TEST_CLOCK, &t), KILN_OK);
    return t;
}

static quota_usage usage_of(quota_table *t, quota_subject_kind kind, const char *name)
{
    quota_usage u;
    assert_int_equal(quota_usage_get(t, kind, name, &u), KILN_OK);
    return u;
}

static const govern_principal ALICE_ML = { "alice", { "ml" }, 1 };

static void memory_limit_admits_up_to_the_byte(void **state)
{
    (void)state;
    uint64_t limit = quota_test_rand_between(2, 1ull << 40);
    quota_limit_entry e = entry(QUOTA_SUBJECT_ROLE, "ml");
    e.limits.device_memory_bytes = limit;
    quota_table *t = make_table(&e, 1);
    uint64_t first = quota_test_rand_between(1, limit - 1);
    quota_reservation a, b, c;
    assert_int_equal(quota_reserve(t, &ALICE_ML, &(quota_request){ first, 1, 0 }, &a), KILN_OK);
    assert_int_equal(quota_reserve(t, &ALICE_ML, &(quota_request){ limit - first + 1, 1, 0 }, &b),
                     KILN_ERR_QUOTA);
    assert_int_equal(quota_reserve(t, &ALICE_ML, &(quota_request){ limit - first, 1, 0 }, &c),
                     KILN_OK);
    assert_int_equal(usage_of(t, QUOTA_SUBJECT_ROLE, "ml").device_memory_bytes, limit);
    assert_int_equal(usage_of(t, QUOTA_SUBJECT_ROLE, "ml").live_buffers, 2);
    assert_false(quota_release(&b)); /* refused: nothing to give back */
    assert_true(quota_release(&a));
    assert_true(quota_release(&c));
    assert_int_equal(usage_of(t, QUOTA_SUBJECT_ROLE, "ml").device_memory_bytes, 0);
    quota_table_release(t);
}

static void refusal_names_quota_subject_limit_use_and_request(void **state)
{
    (void)state;
    quota_limit_entry e = entry(QUOTA_SUBJECT_ROLE, "ml");
    e.limits.device_memory_bytes = 1073741824;
    quota_table *t = make_table(&e, 1);
    quota_reservation a, b;
    assert_int_equal(quota_reserve(t, &ALICE_ML, &(quota_request){ 1073000000, 0, 0 }, &a), KILN_OK);
    assert_int_equal(quota_reserve(t, &ALICE_ML, &(quota_request){ 1000000, 0, 0 }, &b),
                     KILN_ERR_QUOTA);
    assert_string_equal(util_last_error(),
                        "quota \"device_memory_bytes\" of role \"ml\" exceeded: limit 1073741824, "
                        "in use 1073000000, requested 1000000");
    quota_release(&a);
    quota_table_release(t);
}

/* Buffers and launches, each with a random limit n: n fit, n+1 do not. */
static void count_limits_admit_exactly_n(void **state)
{
    (void)state;
    for (int which = 0; which < 2; which++) {
        uint64_t n = quota_test_rand_between(1, 40);
        quota_limit_entry e = entry(QUOTA_SUBJECT_PRINCIPAL, "alice");
        if (which == 0)
            e.limits.live_buffers = n;
        else
            e.limits.concurrent_launches = n;
        quota_table *t = make_table(&e, 1);
        quota_request one = { 0, which == 0, which == 1 };
        quota_reservation r[41];
        for (uint64_t i = 0; i < n; i++)
            assert_int_equal(quota_reserve(t, &ALICE_ML, &one, &r[i]), KILN_OK);
        assert_int_equal(quota_reserve(t, &ALICE_ML, &one, &r[n]), KILN_ERR_QUOTA);
        assert_non_null(strstr(util_last_error(),
                               which == 0 ? "\"live_buffers\" of principal \"alice\""
                                          : "\"concurrent_launches\" of principal \"alice\""));
        assert_true(quota_release(&r[0]));
        assert_int_equal(quota_reserve(t, &ALICE_ML, &one, &r[n]), KILN_OK);
        for (uint64_t i = 1; i <= n; i++)
            assert_true(quota_release(&r[i]));
        quota_usage u = usage_of(t, QUOTA_SUBJECT_PRINCIPAL, "alice");
        assert_int_equal(u.live_buffers + u.concurrent_launches, 0);
        quota_table_release(t);
    }
}

/* 0 forbids the resource; a request that does not use it still passes. */
static void zero_limit_forbids_that_resource_only(void **state)
{
    (void)state;
    quota_limit_entry e = entry(QUOTA_SUBJECT_ROLE, "ml");
    e.limits.device_memory_bytes = 0;
    e.limits.device_time_ns = 0;
    e.limits.window_ns = SECOND;
    quota_table *t = make_table(&e, 1);
    quota_reservation r;
    assert_int_equal(quota_reserve(t, &ALICE_ML, &(quota_request){ 1, 1, 0 }, &r), KILN_ERR_QUOTA);
    assert_non_null(strstr(util_last_error(), "limit 0, in use 0, requested 1"));
    assert_int_equal(quota_reserve(t, &ALICE_ML, &(quota_request){ 0, 0, 1 }, &r), KILN_ERR_QUOTA);
    assert_non_null(strstr(util_last_error(), "\"device_time_ns\" of role \"ml\""));
    assert_int_equal(quota_reserve(t, &ALICE_ML, &(quota_request){ 0, 5, 0 }, &r), KILN_OK);
    assert_true(quota_release(&r));
    quota_table_release(t);
}

/* A principal without any entry is unlimited and not tracked; a subject
 * with an unlimited resource is admitted anything and its use is counted. */
static void unlimited_admits_and_counts(void **state)
{
    (void)state;
    quota_limit_entry e = entry(QUOTA_SUBJECT_ROLE, "ml");
    e.limits.live_buffers = 1000;
    quota_table *t = make_table(&e, 1);
    static const govern_principal bob = { "bob", { "web" }, 1 };
    uint64_t big = quota_test_rand_between(1ull << 50, 1ull << 60);
    quota_reservation a, b;
    assert_int_equal(quota_reserve(t, &bob, &(quota_request){ big, 1, 1 }, &a), KILN_OK);
    assert_int_equal(quota_reserve(t, &ALICE_ML, &(quota_request){ big, 1, 1 }, &b), KILN_OK);
    quota_usage u = usage_of(t, QUOTA_SUBJECT_ROLE, "ml");
    assert_int_equal(u.device_memory_bytes, big);
    assert_int_equal(u.concurrent_launches, 1);
    assert_int_equal(u.limits.device_memory_bytes, QUOTA_UNLIMITED);
    assert_int_equal(quota_usage_get(t, QUOTA_SUBJECT_PRINCIPAL, "bob", &u), KILN_ERR_NOT_FOUND);
    /* Unlimited still refuses a counter that would wrap around. */
    quota_reservation c;
    assert_int_equal(quota_reserve(t, &ALICE_ML, &(quota_request){ UINT64_MAX, 0, 0 }, &c),
                     KILN_ERR_QUOTA);
    assert_true(quota_release(&a));
    assert_true(quota_release(&b));
    quota_table_release(t);
}

/* alice is subject to her own entry and to each role's: the tightest one
 * refuses, and a refusal by any account leaves every account unchanged. */
static void principal_and_roles_all_must_admit_all_or_nothing(void **state)
{
    (void)state;
    quota_limit_entry e[3] = { entry(QUOTA_SUBJECT_PRINCIPAL, "alice"),
                               entry(QUOTA_SUBJECT_ROLE, "ml"), entry(QUOTA_SUBJECT_ROLE, "gpu") };
    e[0].limits.device_memory_bytes = 1000;
    e[1].limits.device_memory_bytes = 600;
    e[2].limits.live_buffers = 2;
    quota_table *t = make_table(e, 3);
    static const govern_principal alice = { "alice", { "ml", "gpu" }, 2 };
    static const govern_principal carol = { "carol", { "ml" }, 1 };
    quota_reservation r1, r2, r3, r4;
    assert_int_equal(quota_reserve(t, &alice, &(quota_request){ 400, 1, 0 }, &r1), KILN_OK);
    assert_int_equal(quota_reserve(t, &carol, &(quota_request){ 150, 1, 0 }, &r2), KILN_OK);
    /* alice: 400 + 300 <= 1000 but ml: 550 + 300 > 600. */
    assert_int_equal(quota_reserve(t, &alice, &(quota_request){ 300, 1, 0 }, &r3), KILN_ERR_QUOTA);
    assert_string_equal(util_last_error(), "quota \"device_memory_bytes\" of role \"ml\" exceeded: "
                                           "limit 600, in use 550, requested 300");
    assert_int_equal(usage_of(t, QUOTA_SUBJECT_PRINCIPAL, "alice").device_memory_bytes, 400);
    assert_int_equal(usage_of(t, QUOTA_SUBJECT_ROLE, "gpu").live_buffers, 1);
    /* Fits alice and ml; gpu refuses the second buffer... */
    assert_int_equal(quota_reserve(t, &alice, &(quota_request){ 50, 2, 0 }, &r3), KILN_ERR_QUOTA);
    assert_non_null(strstr(util_last_error(), "\"live_buffers\" of role \"gpu\""));
    /* ...and nothing was charged to alice or ml. */
    assert_int_equal(usage_of(t, QUOTA_SUBJECT_PRINCIPAL, "alice").device_memory_bytes, 400);
    assert_int_equal(usage_of(t, QUOTA_SUBJECT_ROLE, "ml").device_memory_bytes, 550);
    assert_int_equal(quota_reserve(t, &alice, &(quota_request){ 50, 1, 0 }, &r4), KILN_OK);
    quota_usage ml = usage_of(t, QUOTA_SUBJECT_ROLE, "ml");
    assert_int_equal(ml.device_memory_bytes, 600);
    assert_int_equal(ml.live_buffers, 3);
    assert_int_equal(usage_of(t, QUOTA_SUBJECT_ROLE, "gpu").live_buffers, 2);
    assert_true(quota_release(&r1));
    assert_true(quota_release(&r2));
    assert_true(quota_release(&r4));
    assert_int_equal(usage_of(t, QUOTA_SUBJECT_ROLE, "ml").device_memory_bytes, 0);
    assert_int_equal(usage_of(t, QUOTA_SUBJECT_ROLE, "gpu").live_buffers, 0);
    quota_table_release(t);
}

/* A role named twice is one account charged once (a NULL role is skipped);
 * a principal and a role of the same name are different subjects. */
static void repeated_role_is_charged_once(void **state)
{
    (void)state;
    quota_limit_entry e[2] = { entry(QUOTA_SUBJECT_ROLE, "ml"), entry(QUOTA_SUBJECT_PRINCIPAL, "ml") };
    e[0].limits.device_memory_bytes = 100;
    e[1].limits.device_memory_bytes = 10;
    quota_table *t = make_table(e, 2);
    static const govern_principal p = { "x", { "ml", NULL, "ml", "ml" }, 4 };
    quota_reservation r;
    assert_int_equal(quota_reserve(t, &p, &(quota_request){ 60, 0, 0 }, &r), KILN_OK);
    assert_int_equal(usage_of(t, QUOTA_SUBJECT_ROLE, "ml").device_memory_bytes, 60);
    assert_int_equal(usage_of(t, QUOTA_SUBJECT_PRINCIPAL, "ml").device_memory_bytes, 0);
    assert_true(quota_release(&r));
    quota_table_release(t);
}

static void release_returns_exactly_once(void **state)
{
    (void)state;
    quota_limit_entry e = entry(QUOTA_SUBJECT_ROLE, "ml");
    e.limits.device_memory_bytes = 1ull << 40;
    quota_table *t = make_table(&e, 1);
    uint64_t keep = quota_test_rand_between(1, 1ull << 30);
    uint64_t drop = quota_test_rand_between(1, 1ull << 30);
    quota_reservation k, d;
    assert_int_equal(quota_reserve(t, &ALICE_ML, &(quota_request){ keep, 1, 1 }, &k), KILN_OK);
    assert_int_equal(quota_reserve(t, &ALICE_ML, &(quota_request){ drop, 2, 1 }, &d), KILN_OK);
    assert_true(quota_release(&d));
    assert_false(quota_release(&d));
    assert_false(quota_release(&d));
    quota_usage u = usage_of(t, QUOTA_SUBJECT_ROLE, "ml");
    assert_int_equal(u.device_memory_bytes, keep);
    assert_int_equal(u.live_buffers, 1);
    assert_int_equal(u.concurrent_launches, 1);
    quota_reservation zero = { 0 };
    assert_false(quota_release(&zero));
    assert_false(quota_release(NULL));
    assert_true(quota_release(&k));
    assert_int_equal(usage_of(t, QUOTA_SUBJECT_ROLE, "ml").device_memory_bytes, 0);
    quota_table_release(t);
}

/* A reload keeps the use of subjects that remain; a limit lowered below the
 * use admits nothing new until use drops; a release after the swap returns
 * to the account it came from, even once the old table is gone. */
static void reload_keeps_usage_and_releases_reach_their_account(void **state)
{
    (void)state;
    quota_limit_entry old_e[2] = { entry(QUOTA_SUBJECT_ROLE, "ml"), entry(QUOTA_SUBJECT_ROLE, "gone") };
    old_e[0].limits.device_memory_bytes = 1000;
    old_e[1].limits.live_buffers = 5;
    quota_table *t1 = make_table(old_e, 2);
    static const govern_principal dave = { "dave", { "ml", "gone" }, 2 };
    quota_reservation r1, r2;
    assert_int_equal(quota_reserve(t1, &dave, &(quota_request){ 700, 1, 0 }, &r1), KILN_OK);

    quota_limit_entry new_e[2] = { entry(QUOTA_SUBJECT_ROLE, "ml"), entry(QUOTA_SUBJECT_ROLE, "new") };
    new_e[0].limits.device_memory_bytes = 500;
    new_e[1].limits.live_buffers = 1;
    quota_table *t2 = NULL;
    assert_int_equal(quota_table_create(new_e, 2, t1, NULL, &t2), KILN_OK);
    quota_table_release(t1); /* the reservation keeps its accounts alive */
    quota_usage u = usage_of(t2, QUOTA_SUBJECT_ROLE, "ml");
    assert_int_equal(u.device_memory_bytes, 700);
    assert_int_equal(u.limits.device_memory_bytes, 500);
    assert_int_equal(usage_of(t2, QUOTA_SUBJECT_ROLE, "new").live_buffers, 0);
    assert_int_equal(quota_reserve(t2, &dave, &(quota_request){ 1, 0, 0 }, &r2), KILN_ERR_QUOTA);
    assert_string_equal(util_last_error(), "quota \"device_memory_bytes\" of role \"ml\" exceeded: "
                                           "limit 500, in use 700, requested 1");
    assert_true(quota_release(&r1));
    assert_false(quota_release(&r1));
    assert_int_equal(usage_of(t2, QUOTA_SUBJECT_ROLE, "ml").device_memory_bytes, 0);
    assert_int_equal(quota_reserve(t2, &dave, &(quota_request){ 500, 0, 0 }, &r2), KILN_OK);
    assert_true(quota_release(&r2));
    quota_table_release(t2);
}

static void bad_tables_are_refused(void **state)
{
    (void)state;
    quota_table *t = NULL;
    quota_limit_entry e[2] = { entry(QUOTA_SUBJECT_ROLE, "ml"), entry(QUOTA_SUBJECT_ROLE, "ml") };
    assert_int_equal(quota_table_create(e, 2, NULL, NULL, &t), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(util_last_error(), "role \"ml\" is listed twice"));
    assert_null(t);
    e[1].kind = QUOTA_SUBJECT_PRINCIPAL; /* same name, other kind: fine */
    assert_int_equal(quota_table_create(e, 2, NULL, NULL, &t), KILN_OK);
    assert_int_equal(quota_subject_count(t), 2);
    quota_subject_kind kind;
    assert_string_equal(quota_subject_at(t, 1, &kind), "ml");
    assert_int_equal(kind, QUOTA_SUBJECT_PRINCIPAL);
    assert_null(quota_subject_at(t, 2, &kind));
    quota_table_release(t);
    e[1].name = "bad\nname";
    assert_int_equal(quota_table_create(e, 2, NULL, NULL, &t), KILN_ERR_INVALID_ARG);
    e[1].name = NULL;
    assert_int_equal(quota_table_create(e, 2, NULL, NULL, &t), KILN_ERR_INVALID_ARG);
    e[1].name = "x";
    e[1].kind = (quota_subject_kind)7;
    assert_int_equal(quota_table_create(e, 2, NULL, NULL, &t), KILN_ERR_INVALID_ARG);
    e[1].kind = QUOTA_SUBJECT_ROLE;
    e[1].limits.device_time_ns = MS;
    assert_int_equal(quota_table_create(e, 2, NULL, NULL, &t), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(util_last_error(), "needs a window"));
    assert_int_equal(quota_table_create(NULL, 1, NULL, NULL, &t), KILN_ERR_NULL_HANDLE);
    assert_int_equal(quota_table_create(NULL, 0, NULL, NULL, &t), KILN_OK);
    quota_reservation r;
    assert_int_equal(quota_reserve(t, &ALICE_ML, &(quota_request){ 1, 1, 1 }, &r), KILN_OK);
    assert_true(quota_release(&r));
    assert_int_equal(quota_reserve(NULL, &ALICE_ML, &(quota_request){ 1, 1, 1 }, &r),
                     KILN_ERR_NULL_HANDLE);
    assert_int_equal(quota_reserve(t, &ALICE_ML, NULL, &r), KILN_ERR_NULL_HANDLE);
    assert_int_equal(quota_reserve(t, &ALICE_ML, &(quota_request){ 1, 1, 1 }, NULL),
                     KILN_ERR_NULL_HANDLE);
    govern_principal many = { "m", { 0 }, GOVERN_ROLES_MAX + 1 };
    assert_int_equal(quota_reserve(t, &many, &(quota_request){ 1, 1, 1 }, &r), KILN_ERR_INVALID_ARG);
    assert_false(quota_release(&r));
    govern_principal nameless = { NULL, { 0 }, 0 };
    assert_int_equal(quota_charge_time(t, &nameless, 1), KILN_ERR_NULL_HANDLE);
    assert_int_equal(quota_charge_time(NULL, &ALICE_ML, 1), KILN_ERR_NULL_HANDLE);
    assert_int_equal(quota_usage_get(t, QUOTA_SUBJECT_ROLE, NULL, NULL), KILN_ERR_NULL_HANDLE);
    quota_table_release(t);
    quota_table_release(NULL);
    assert_string_equal(quota_resource_name(QUOTA_LIVE_BUFFERS), "live_buffers");
    assert_string_equal(quota_resource_name(QUOTA_RESOURCE_COUNT), "unknown");
}

/* ---- a random sequence against a model ---- */

#define MODEL_SUBJECTS 3
#define MODEL_OPS 3000
#define MODEL_HELD 64

typedef struct model {
    uint64_t limit[MODEL_SUBJECTS][QUOTA_HELD_COUNT];
    uint64_t used[MODEL_SUBJECTS][QUOTA_HELD_COUNT];
} model;

/* Which of the subjects (principal p, roles r1 and r2) apply to principal i. */
static const bool APPLIES[3][MODEL_SUBJECTS] = { { 1, 1, 1 }, { 0, 1, 0 }, { 0, 0, 1 } };

static uint64_t random_limit(void)
{
    uint64_t dice = quota_test_rand_between(0, 15);
    if (dice == 0)
        return 0;
    return dice <= 4 ? QUOTA_UNLIMITED : quota_test_rand_between(1, 50);
}

/* 0 a third of the time (a request that does not use that resource). */
static uint64_t maybe_zero(uint64_t max)
{
    return quota_test_rand_between(0, 2) == 0 ? 0 : quota_test_rand_between(1, max);
}

static bool model_admits(const model *m, uint32_t who, const uint64_t want[QUOTA_HELD_COUNT])
{
    for (uint32_t s = 0; s < MODEL_SUBJECTS; s++)
        for (uint32_t r = 0; r < QUOTA_HELD_COUNT; r++)
            if (APPLIES[who][s] && want[r] && m->used[s][r] + want[r] > m->limit[s][r])
                return false;
    return true;
}

static void model_charge(model *m, uint32_t who, const uint64_t want[QUOTA_HELD_COUNT], int sign)
{
    for (uint32_t s = 0; s < MODEL_SUBJECTS; s++)
        for (uint32_t r = 0; r < QUOTA_HELD_COUNT; r++)
            if (APPLIES[who][s])
                m->used[s][r] += sign > 0 ? want[r] : -want[r];
}

/* Every decision and every counter of a random reserve/release sequence
 * matches a direct model of the rules. */
static void random_sequence_matches_model(void **state)
{
    (void)state;
    static const char *const names[MODEL_SUBJECTS] = { "p", "r1", "r2" };
    static const quota_subject_kind kinds[MODEL_SUBJECTS] = {
        QUOTA_SUBJECT_PRINCIPAL, QUOTA_SUBJECT_ROLE, QUOTA_SUBJECT_ROLE
    };
    static const govern_principal who[3] = { { "p", { "r1", "r2" }, 2 }, { "q", { "r1" }, 1 },
                                              { "s", { "r2", "nobody" }, 2 } };
    model m = { 0 };
    quota_limit_entry e[MODEL_SUBJECTS];
    for (uint32_t s = 0; s < MODEL_SUBJECTS; s++) {
        e[s] = entry(kinds[s], names[s]);
        for (uint32_t r = 0; r < QUOTA_HELD_COUNT; r++)
            m.limit[s][r] = random_limit();
        e[s].limits.device_memory_bytes = m.limit[s][0];
        e[s].limits.live_buffers = m.limit[s][1];
        e[s].limits.concurrent_launches = m.limit[s][2];
    }
    quota_table *t = make_table(e, MODEL_SUBJECTS);
    quota_reservation held[MODEL_HELD] = { 0 };
    uint32_t held_by[MODEL_HELD] = { 0 };
    bool live[MODEL_HELD] = { 0 };
    uint32_t admitted = 0, refused = 0;
    for (int op = 0; op < MODEL_OPS; op++) {
        uint32_t i = (uint32_t)quota_test_rand_between(0, MODEL_HELD - 1);
        if (live[i]) {
            const uint64_t want[QUOTA_HELD_COUNT] = { held[i].request.bytes, held[i].request.buffers,
                                                      held[i].request.launches };
            model_charge(&m, held_by[i], want, -1);
            assert_true(quota_release(&held[i]));
            live[i] = false;
        } else {
            uint32_t w = (uint32_t)quota_test_rand_between(0, 2);
            const uint64_t want[QUOTA_HELD_COUNT] = { maybe_zero(12), maybe_zero(3), maybe_zero(2) };
            bool expect = model_admits(&m, w, want);
            kiln_status st = quota_reserve(t, &who[w], &(quota_request){ want[0], want[1], want[2] },
                                           &held[i]);
            assert_int_equal(st, expect ? KILN_OK : KILN_ERR_QUOTA);
            if (expect) {
                model_charge(&m, w, want, +1);
                held_by[i] = w;
                live[i] = true;
                admitted++;
            } else {
                refused++;
            }
        }
        for (uint32_t s = 0; s < MODEL_SUBJECTS; s++) {
            quota_usage u = usage_of(t, kinds[s], names[s]);
            assert_int_equal(u.device_memory_bytes, m.used[s][0]);
            assert_int_equal(u.live_buffers, m.used[s][1]);
            assert_int_equal(u.concurrent_launches, m.used[s][2]);
        }
    }
    for (uint32_t i = 0; i < MODEL_HELD; i++)
        assert_int_equal(quota_release(&held[i]), live[i]);
    for (uint32_t s = 0; s < MODEL_SUBJECTS; s++) {
        quota_usage u = usage_of(t, kinds[s], names[s]);
        assert_int_equal(u.device_memory_bytes + u.live_buffers + u.concurrent_launches, 0);
    }
    printf("model: %u admitted, %u refused\n", admitted, refused);
    quota_table_release(t);
}

int main(void)
{
    quota_test_seed_from_clock();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(memory_limit_admits_up_to_the_byte),
        cmocka_unit_test(refusal_names_quota_subject_limit_use_and_request),
        cmocka_unit_test(count_limits_admit_exactly_n),
        cmocka_unit_test(zero_limit_forbids_that_resource_only),
        cmocka_unit_test(unlimited_admits_and_counts),
        cmocka_unit_test(principal_and_roles_all_must_admit_all_or_nothing),
        cmocka_unit_test(repeated_role_is_charged_once),
        cmocka_unit_test(release_returns_exactly_once),
        cmocka_unit_test(reload_keeps_usage_and_releases_reach_their_account),
        cmocka_unit_test(bad_tables_are_refused),
        cmocka_unit_test(random_sequence_matches_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
