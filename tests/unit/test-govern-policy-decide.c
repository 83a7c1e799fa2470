/* Policy decisions: default deny, deny beats allow, selectors of every kind,
 * conditions at their boundaries, windows across midnight, the cached path
 * agreeing with the full one, and the cost of a decision with 100 rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "govern/policy.h"
#include "util/fail.h"

static policy *load(const char *text)
{
    policy *p = NULL;
    if (policy_load_text(text, strlen(text), "t.yaml", &p) != KILN_OK)
        print_error("load failed: %s\n", util_last_error());
    assert_non_null(p);
    return p;
}

static const govern_device_desc GPU0 = { 0, KILN_BACKEND_CUDA, 0, "NVIDIA H100 80GB HBM3",
                                         GOVERN_CLASS_GPU };
static const govern_device_desc GPU1 = { 1, KILN_BACKEND_CUDA, 1, "NVIDIA A100",
                                         GOVERN_CLASS_GPU };
static const govern_device_desc OCL1 = { 3, KILN_BACKEND_OPENCL, 1, "pthread-Intel", GOVERN_CLASS_CPU };
static const govern_device_desc CPU0 = { 2, KILN_BACKEND_CPU, 0, "x86_64", GOVERN_CLASS_CPU };
static const govern_device_desc UNKNOWN = { GOVERN_INDEX_UNKNOWN, KILN_BACKEND_CUDA,
                                            GOVERN_INDEX_UNKNOWN, "", GOVERN_CLASS_UNKNOWN };

static const govern_principal ALICE = { "alice", { 0 }, 0 };
static const govern_principal BOB = { "bob", { "ml" }, 1 };
static const govern_principal MALLORY = { "mallory", { "ml" }, 1 };

static void no_rules_means_default_deny(void **state)
{
    policy *p = load("version: 1\n");
    policy_decision d = policy_decide(p, &ALICE, &GPU0, GOVERN_ACTION_DEVICE_USE, NULL);
    assert_false(d.allow);
    assert_string_equal(d.rule, "default-deny");
    assert_string_equal(d.reason, "no allow rule selects this principal, device and action");
    assert_null(d.near_rule);
    d = policy_decide(NULL, &ALICE, &GPU0, GOVERN_ACTION_DEVICE_USE, NULL);
    assert_false(d.allow);
    assert_string_equal(d.reason, "no policy is loaded");
    policy_release(p);
}

static const char ALLOW_AND_DENY[] =
    "version: 1\n"
    "roles:\n  ml: [carol]\n"
    "rules:\n"
    "  - {name: early-deny, effect: deny, principals: [mallory], devices: ['*'], actions: [kernel.launch]}\n"
    "  - {name: ml-launch, effect: allow, roles: [ml], devices: ['cuda:*'], actions: [kernel.launch, device.use]}\n"
    "  - {name: alice-all, effect: allow, principals: [alice], devices: ['*'], actions: [kernel.launch, device.use]}\n"
    "  - {name: late-deny, effect: deny, principals: ['*'], devices: ['cuda:1'], actions: [device.use]}\n";

static void deny_beats_allow_in_any_order(void **state)
{
    policy *p = load(ALLOW_AND_DENY);
    /* Session role ml allows bob; mallory has the role too but is denied by
     * a rule written before the allow. */
    policy_decision d = policy_decide(p, &BOB, &GPU0, GOVERN_ACTION_KERNEL_LAUNCH, NULL);
    assert_true(d.allow);
    assert_string_equal(d.rule, "ml-launch");
    assert_string_equal(d.reason, "an allow rule applies and no deny rule does");
    d = policy_decide(p, &MALLORY, &GPU0, GOVERN_ACTION_KERNEL_LAUNCH, NULL);
    assert_false(d.allow);
    assert_string_equal(d.rule, "early-deny");
    assert_string_equal(d.reason, "a deny rule applies");
    /* A deny written after the allows still wins. */
    d = policy_decide(p, &ALICE, &GPU1, GOVERN_ACTION_DEVICE_USE, NULL);
    assert_false(d.allow);
    assert_string_equal(d.rule, "late-deny");
    d = policy_decide(p, &ALICE, &GPU0, GOVERN_ACTION_DEVICE_USE, NULL);
    assert_true(d.allow);
    assert_string_equal(d.rule, "alice-all");
    /* Role membership from the policy file (carol is in ml there). */
    govern_principal carol = { "carol", { 0 }, 0 };
    d = policy_decide(p, &carol, &GPU0, GOVERN_ACTION_KERNEL_LAUNCH, NULL);
    assert_true(d.allow);
    assert_string_equal(d.rule, "ml-launch");
    /* Not the action, not the device. */
    d = policy_decide(p, &carol, &GPU0, GOVERN_ACTION_BUFFER_ALLOC, NULL);
    assert_false(d.allow);
    d = policy_decide(p, &carol, &CPU0, GOVERN_ACTION_KERNEL_LAUNCH, NULL);
    assert_false(d.allow);
    assert_string_equal(d.rule, "default-deny");
    char text[256];
    assert_string_equal(policy_decision_format(&d, text, sizeof text),
                        "deny by rule 'default-deny': no allow rule selects this principal, device "
                        "and action");
    policy_release(p);
}

static bool allowed_on(const char *selector, const govern_device_desc *dev)
{
    char text[512];
    snprintf(text, sizeof text,
             "version: 1\nrules:\n  - {name: r, effect: allow, principals: [alice], devices: ['%s'], "
             "actions: [device.use]}\n", selector);
    policy *p = load(text);
    bool allow = policy_decide(p, &ALICE, dev, GOVERN_ACTION_DEVICE_USE, NULL).allow;
    policy_release(p);
    return allow;
}

static void device_selectors_match_what_they_name(void **state)
{
    assert_true(allowed_on("cuda:*", &GPU1));
    assert_false(allowed_on("cuda:*", &CPU0));
    assert_true(allowed_on("cuda:1", &GPU1));
    assert_false(allowed_on("cuda:1", &GPU0));
    assert_true(allowed_on("opencl:1", &OCL1));
    assert_false(allowed_on("opencl:0", &OCL1));
    assert_true(allowed_on("class:gpu", &GPU0));
    assert_false(allowed_on("class:gpu", &OCL1));
    assert_true(allowed_on("class:cpu", &OCL1));
    assert_true(allowed_on("backend:cpu", &CPU0));
    assert_false(allowed_on("backend:cpu", &OCL1));
    assert_true(allowed_on("name:NVIDIA H*", &GPU0));
    assert_false(allowed_on("name:NVIDIA H*", &GPU1));
    assert_true(allowed_on("name:*", &GPU1));
    assert_true(allowed_on("index:2", &CPU0));
    assert_false(allowed_on("index:2", &GPU0));
    assert_true(allowed_on("*", &UNKNOWN));
    /* What is not known about a device matches no selector about it. */
    assert_true(allowed_on("cuda:*", &UNKNOWN));
    assert_false(allowed_on("cuda:0", &UNKNOWN));
    assert_false(allowed_on("class:gpu", &UNKNOWN));
    assert_false(allowed_on("name:*", &UNKNOWN));
    assert_false(allowed_on("index:0", &UNKNOWN));
    /* A selector for a device this machine lacks is legal and matches nothing. */
    assert_false(allowed_on("cuda:7", &GPU0));
}

static void alloc_and_priority_limits_hold_at_the_boundary(void **state)
{
    srand((unsigned)time(NULL));
    for (int round = 0; round < 20; round++) {
        uint64_t limit = ((uint64_t)rand() << 16) + (uint64_t)rand() + 1;
        char text[512];
        snprintf(text, sizeof text,
                 "version: 1\nrules:\n  - {name: cap, effect: allow, principals: [alice], devices: ['*'], "
                 "actions: [buffer.alloc, queue.priority], when: {max_alloc_bytes: %llu, max_priority: normal}}\n",
                 (unsigned long long)limit);
        policy *p = load(text);
        policy_conditions_in in = { limit, KILN_PRIORITY_NORMAL, -1, NULL };
        assert_true(policy_decide(p, &ALICE, &GPU0, GOVERN_ACTION_BUFFER_ALLOC, &in).allow);
        in.bytes = limit + 1;
        policy_decision d = policy_decide(p, &ALICE, &GPU0, GOVERN_ACTION_BUFFER_ALLOC, &in);
        assert_false(d.allow);
        assert_string_equal(d.rule, "default-deny");
        assert_string_equal(d.near_rule, "cap");
        assert_int_equal(d.failed, POLICY_CONDITION_MAX_ALLOC_BYTES);
        in.bytes = 0;
        in.priority = KILN_PRIORITY_LOW;
        assert_true(policy_decide(p, &ALICE, &GPU0, GOVERN_ACTION_QUEUE_PRIORITY, &in).allow);
        in.priority = KILN_PRIORITY_HIGH;
        d = policy_decide(p, &ALICE, &GPU0, GOVERN_ACTION_QUEUE_PRIORITY, &in);
        assert_false(d.allow);
        assert_int_equal(d.failed, POLICY_CONDITION_MAX_PRIORITY);
        char line[256];
        assert_string_equal(policy_decision_format(&d, line, sizeof line),
                            "deny by rule 'default-deny': an allow rule selects the request but its "
                            "condition does not hold (rule 'cap': max_priority does not hold)");
        policy_release(p);
    }
}

/* Seconds since the epoch at hh:mm on a random day. */
static int64_t at(int day, unsigned hh, unsigned mm)
{
    return (int64_t)day * 86400 + hh * 3600 + mm * 60 + rand() % 60;
}

static bool allowed_at(const policy *p, int64_t t)
{
    policy_conditions_in in = { 0, KILN_PRIORITY_NORMAL, t, NULL };
    return policy_decide(p, &ALICE, &GPU0, GOVERN_ACTION_KERNEL_LAUNCH, &in).allow;
}

static void time_windows_include_start_and_exclude_end(void **state)
{
    policy *day = load("version: 1\nrules:\n  - {name: day, effect: allow, principals: [alice], "
                       "devices: ['*'], actions: [kernel.launch], when: {utc_hours: '08:00-18:00'}}\n");
    policy *night = load("version: 1\nrules:\n  - {name: night, effect: allow, principals: [alice], "
                         "devices: ['*'], actions: [kernel.launch], when: {utc_hours: '22:30-06:00'}}\n");
    policy *all = load("version: 1\nrules:\n  - {name: all, effect: allow, principals: [alice], "
                       "devices: ['*'], actions: [kernel.launch], when: {utc_hours: '00:00-24:00'}}\n");
    for (int round = 0; round < 20; round++) {
        int d = 18000 + rand() % 3000;
        assert_false(allowed_at(day, at(d, 7, 59)));
        assert_true(allowed_at(day, at(d, 8, 0)));
        assert_true(allowed_at(day, at(d, 17, 59)));
        assert_false(allowed_at(day, at(d, 18, 0)));
        assert_false(allowed_at(night, at(d, 22, 29)));
        assert_true(allowed_at(night, at(d, 22, 30)));
        assert_true(allowed_at(night, at(d, 23, 59)));
        assert_true(allowed_at(night, at(d, 0, 0)));
        assert_true(allowed_at(night, at(d, 5, 59)));
        assert_false(allowed_at(night, at(d, 6, 0)));
        assert_false(allowed_at(night, at(d, 12, 0)));
        assert_true(allowed_at(all, at(d, (unsigned)(rand() % 24), (unsigned)(rand() % 60))));
    }
    policy_conditions_in in = { 0, KILN_PRIORITY_NORMAL, at(19000, 12, 0), NULL };
    policy_decision dec = policy_decide(night, &ALICE, &GPU0, GOVERN_ACTION_KERNEL_LAUNCH, &in);
    assert_int_equal(dec.failed, POLICY_CONDITION_UTC_HOURS);
    assert_string_equal(policy_condition_name(dec.failed), "utc_hours");
    /* Without a time the clock is read: 00:00-24:00 always holds. */
    assert_true(policy_decide(all, &ALICE, &GPU0, GOVERN_ACTION_KERNEL_LAUNCH, NULL).allow);
    policy_release(day);
    policy_release(night);
    policy_release(all);
}

static void admin_actions_match_by_name(void **state)
{
    policy *p = load("version: 1\nrules:\n"
                     "  - {name: ops, effect: allow, principals: [carol], devices: ['*'], actions: ['admin.*']}\n"
                     "  - {name: reloader, effect: allow, principals: [dave], devices: ['*'], actions: [admin.reload]}\n"
                     "  - {name: no-audit, effect: deny, principals: [carol], devices: ['*'], actions: [admin.audit]}\n");
    govern_principal carol = { "carol", { 0 }, 0 }, dave = { "dave", { 0 }, 0 };
    policy_conditions_in in = { 0, KILN_PRIORITY_NORMAL, -1, "reload" };
    assert_true(policy_decide(p, &carol, &CPU0, GOVERN_ACTION_ADMIN, &in).allow);
    assert_true(policy_decide(p, &dave, &CPU0, GOVERN_ACTION_ADMIN, &in).allow);
    in.admin_name = "quota";
    assert_true(policy_decide(p, &carol, &CPU0, GOVERN_ACTION_ADMIN, &in).allow);
    assert_false(policy_decide(p, &dave, &CPU0, GOVERN_ACTION_ADMIN, &in).allow);
    in.admin_name = "audit";
    policy_decision d = policy_decide(p, &carol, &CPU0, GOVERN_ACTION_ADMIN, &in);
    assert_false(d.allow);
    assert_string_equal(d.rule, "no-audit");
    in.admin_name = "format-disk";
    d = policy_decide(p, &carol, &CPU0, GOVERN_ACTION_ADMIN, &in);
    assert_false(d.allow);
    assert_string_equal(d.reason, "unknown admin action");
    assert_false(policy_decide(p, &carol, &CPU0, GOVERN_ACTION_ADMIN, NULL).allow);
    assert_false(policy_decide(p, &carol, &CPU0, GOVERN_ACTION_COUNT, NULL).allow);
    policy_release(p);
}

static void odd_principals_are_denied(void **state)
{
    policy *p = load("version: 1\nrules:\n  - {name: anyone, effect: allow, principals: ['*'], "
                     "devices: ['*'], actions: [device.use]}\n");
    govern_principal bad = { "eve\x1b[2J", { 0 }, 0 };
    policy_decision d = policy_decide(p, &bad, &GPU0, GOVERN_ACTION_DEVICE_USE, NULL);
    assert_false(d.allow);
    assert_string_equal(d.reason, "principal name is not acceptable");
    assert_true(policy_decide(p, &ALICE, &GPU0, GOVERN_ACTION_DEVICE_USE, NULL).allow);
    assert_false(policy_decide(p, NULL, &GPU0, GOVERN_ACTION_DEVICE_USE, NULL).allow);
    policy_release(p);
}

/* 100 rules with conditions: one in ten denies (other principals), and the
 * principal under test (role ml) is selected by about a third of them. */
static policy *hundred_rules(void)
{
    size_t cap = 64 * 1024, used = 0;
    char *text = malloc(cap);
    used += (size_t)snprintf(text + used, cap - used, "version: 1\nroles:\n  ml: [alice]\nrules:\n");
    for (int i = 0; i < 99; i++)
        used += (size_t)snprintf(text + used, cap - used,
                                 "  - {name: rule-%d, effect: %s, principals: [user%d], roles: [%s], "
                                 "devices: ['cuda:%d', 'class:gpu', 'name:NVIDIA H*'], "
                                 "actions: [kernel.launch, buffer.alloc], "
                                 "when: {max_alloc_bytes: %dGiB, utc_hours: '00:00-24:00'}}\n",
                                 i, i % 10 == 9 ? "deny" : "allow", i,
                                 i % 3 == 0 && i % 10 != 9 ? "ml" : "other", i % 4, i + 1);
    used += (size_t)snprintf(text + used, cap - used,
                             "  - {name: last, effect: deny, principals: [mallory], devices: ['*'], "
                             "actions: ['admin.*']}\n");
    policy *p = load(text);
    free(text);
    assert_int_equal(policy_rule_count(p), 100);
    return p;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void cached_decisions_agree_with_full_ones(void **state)
{
    policy *p = hundred_rules();
    const govern_device_desc *devs[] = { &GPU0, &GPU1, &OCL1, &CPU0 };
    const govern_principal *who[] = { &ALICE, &BOB, &MALLORY };
    policy_binding bindings[3][4];
    memset(bindings, 0, sizeof bindings);
    for (int i = 0; i < 4000; i++) {
        int w = rand() % 3, d = rand() % 4;
        govern_action a = (govern_action)(rand() % GOVERN_ACTION_COUNT);
        policy_conditions_in in = { (uint64_t)rand() << (rand() % 20), KILN_PRIORITY_NORMAL, -1,
                                    "reload" };
        policy_decision full = policy_decide(p, who[w], devs[d], a, &in);
        policy_decision fast = policy_decide_cached(p, &bindings[w][d], who[w], devs[d], a, &in);
        assert_int_equal(full.allow, fast.allow);
        assert_string_equal(full.rule, fast.rule);
        assert_ptr_equal(full.reason, fast.reason);
    }
    /* A new policy generation rebinds. */
    policy *q = load("version: 1\n");
    policy_decision d = policy_decide_cached(q, &bindings[0][0], &ALICE, &GPU0,
                                             GOVERN_ACTION_KERNEL_LAUNCH, NULL);
    assert_false(d.allow);
    assert_int_equal(bindings[0][0].generation, policy_generation(q));
    policy_release(q);
    policy_release(p);
}

/* The whole governance budget per launch is 2 us; this stage should take
 * well under 1 us. The bound asserted is generous (machines vary); the
 * figure printed is the one to read. */
#define DECISIONS 1000000
#define FULL_DECISIONS 20000
#define DECISION_BOUND_NS 5000.0

static void hundred_rule_decision_is_fast(void **state)
{
    policy *p = hundred_rules();
    policy_binding binding = { 0 };
    policy_conditions_in in = { 1u << 20, KILN_PRIORITY_NORMAL, at(19000, 12, 0), NULL };
    unsigned allowed = 0;
    uint64_t t0 = now_ns();
    for (int i = 0; i < DECISIONS; i++) {
        in.bytes = (uint64_t)(i & 0xFFFF) << 10;
        allowed += policy_decide_cached(p, &binding, &ALICE, &GPU0, GOVERN_ACTION_KERNEL_LAUNCH,
                                        &in).allow;
    }
    double cached_ns = (double)(now_ns() - t0) / DECISIONS;
    assert_int_equal(allowed, DECISIONS); /* rule-0 allows alice (role ml) on cuda:0 */
    t0 = now_ns();
    for (int i = 0; i < FULL_DECISIONS; i++)
        allowed += policy_decide(p, &ALICE, &GPU0, GOVERN_ACTION_KERNEL_LAUNCH, &in).allow;
    double full_ns = (double)(now_ns() - t0) / FULL_DECISIONS;
    print_message("policy decision, 100 rules: %.1f ns cached (policy_decide_cached), "
                  "%.1f ns full (policy_decide)\n", cached_ns, full_ns);
    assert_true(cached_ns < DECISION_BOUND_NS);
    policy_release(p);
}

static void vocabulary_round_trips(void **state)
{
    for (int a = 0; a < GOVERN_ACTION_COUNT; a++) {
        govern_action back;
        const char *admin = NULL;
        assert_true(govern_action_parse(govern_action_name((govern_action)a), &back, &admin));
        assert_int_equal(back, a);
        if (a == GOVERN_ACTION_ADMIN)
            assert_string_equal(admin, "*");
        else
            assert_null(admin);
    }
    assert_string_equal(govern_action_name(GOVERN_ACTION_COUNT), "unknown");
    govern_action out;
    assert_false(govern_action_parse(NULL, &out, NULL));
    assert_false(govern_action_parse("admin.", &out, NULL));
    assert_true(govern_action_parse("admin.health", &out, NULL));
    assert_int_equal(out, GOVERN_ACTION_ADMIN);
    static const struct {
        kiln_device_kind kind;
        const char *name;
    } kinds[] = { { KILN_DEVICE_KIND_CPU, "cpu" }, { KILN_DEVICE_KIND_GPU, "gpu" },
                  { KILN_DEVICE_KIND_ACCELERATOR, "accelerator" }, { KILN_DEVICE_KIND_OTHER, "other" },
                  { (kiln_device_kind)0, "unknown" } };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        assert_string_equal(govern_class_name(govern_class_of_kind(kinds[i].kind)), kinds[i].name);
    assert_int_equal(govern_name_check("\xf0\x9f\x94\xa5" "fire"), KILN_OK); /* 4-byte UTF-8 */
    assert_int_equal(govern_name_check("\xf8\x88\x80\x80\x80"), KILN_ERR_INVALID_ARG);
    assert_int_equal(govern_name_check("\xc3("), KILN_ERR_INVALID_ARG);
    assert_int_equal(govern_name_check(NULL), KILN_ERR_NULL_HANDLE);
    assert_string_equal(policy_condition_name(POLICY_CONDITION_MAX_ALLOC_BYTES), "max_alloc_bytes");
    assert_string_equal(policy_condition_name(POLICY_CONDITION_NONE), "none");
}

static void rules_naming_absent_devices_are_listed(void **state)
{
    policy *p = load("version: 1\nrules:\n  - {name: r, effect: allow, principals: [a], "
                     "devices: ['cuda:7', 'cpu:0', 'name:Quantum*'], actions: [p2p]}\n");
    const govern_device_desc here[] = { GPU0, CPU0 };
    assert_int_equal(policy_unmatched_selectors(p, here, 2, NULL, NULL), 2);
    assert_int_equal(policy_unmatched_selectors(p, here, 0, NULL, NULL), 3);
    policy_release(p);
}

static void edge_inputs_decide_safely(void **state)
{
    policy *p = load(ALLOW_AND_DENY);
    policy_binding b = { 0 };
    assert_false(policy_decide_cached(NULL, &b, &ALICE, &GPU0, GOVERN_ACTION_DEVICE_USE, NULL).allow);
    govern_device_desc nameless = GPU0;
    nameless.name = NULL;
    assert_true(policy_decide(p, &ALICE, &nameless, GOVERN_ACTION_DEVICE_USE, NULL).allow);
    policy_decision d = policy_decide(p, &ALICE, NULL, GOVERN_ACTION_DEVICE_USE, NULL);
    assert_false(d.allow);
    char buf[4] = "xyz";
    assert_ptr_equal(policy_decision_format(&d, buf, 0), buf);
    assert_string_equal(buf, "xyz");
    policy_release(p);
    /* Same selectors but different windows are not a contradiction. */
    p = load("version: 1\nrules:\n"
             "  - {name: a, effect: allow, principals: [x], devices: ['*'], actions: [p2p], when: {utc_hours: '08:00-18:00'}}\n"
             "  - {name: d, effect: deny, principals: [x], devices: ['*'], actions: [p2p], when: {utc_hours: '18:00-08:00'}}\n");
    policy_conditions_in in = { 0, KILN_PRIORITY_NORMAL, at(19000, 9, 0), NULL };
    assert_true(policy_decide(p, &(govern_principal){ "x", { 0 }, 0 }, &GPU0, GOVERN_ACTION_P2P, &in).allow);
    in.utc_seconds = at(19000, 19, 0);
    assert_string_equal(policy_decide(p, &(govern_principal){ "x", { 0 }, 0 }, &GPU0, GOVERN_ACTION_P2P, &in).rule, "d");
    policy_release(p);
}

int main(void)
{
    srand((unsigned)time(NULL));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_rules_means_default_deny),
        cmocka_unit_test(deny_beats_allow_in_any_order),
        cmocka_unit_test(device_selectors_match_what_they_name),
        cmocka_unit_test(alloc_and_priority_limits_hold_at_the_boundary),
        cmocka_unit_test(time_windows_include_start_and_exclude_end),
        cmocka_unit_test(admin_actions_match_by_name),
        cmocka_unit_test(odd_principals_are_denied),
        cmocka_unit_test(cached_decisions_agree_with_full_ones),
        cmocka_unit_test(hundred_rule_decision_is_fast),
        cmocka_unit_test(vocabulary_round_trips),
        cmocka_unit_test(rules_naming_absent_devices_are_listed),
        cmocka_unit_test(edge_inputs_decide_safely),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
