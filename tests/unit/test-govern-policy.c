/* Loading policy files: every key parsed into the right value, every class
 * of bad input refused with its exact "file:line:column: what" detail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "govern/policy.h"
#include "util/fail.h"

static policy *load_ok(const char *text)
{
    policy *p = NULL;
    kiln_status st = policy_load_text(text, strlen(text), "t.yaml", &p);
    if (st != KILN_OK)
        print_error("unexpected failure: %s\n", util_last_error());
    assert_int_equal(st, KILN_OK);
    assert_non_null(p);
    return p;
}

static void expect_error(const char *text, const char *detail)
{
    policy *p = (policy *)&p; /* must be overwritten with NULL */
    assert_int_equal(policy_load_text(text, strlen(text), "t.yaml", &p), KILN_ERR_POLICY);
    assert_null(p);
    assert_string_equal(util_last_error(), detail);
}

static char *source_path(const char *name)
{
    const char *dir = getenv("KILN_SOURCE_DIR");
    char *path = malloc(4096);
    snprintf(path, 4096, "%s/tests/govern/policies/%s", dir ? dir : ".", name);
    return path;
}

static const char RULE_HEAD[] = "version: 1\nrules:\n  - name: r\n    effect: allow\n";

/* RULE_HEAD followed by the given lines. */
static char *rule_with(const char *rest)
{
    size_t n = strlen(RULE_HEAD) + strlen(rest) + 1;
    char *text = malloc(n);
    snprintf(text, n, "%s%s", RULE_HEAD, rest);
    return text;
}

static void expect_rule_error(const char *rest, const char *detail)
{
    char *text = rule_with(rest);
    expect_error(text, detail);
    free(text);
}

static void example_file_parses_every_key(void **state)
{
    char *path = source_path("example.yaml");
    policy *p = NULL;
    assert_int_equal(policy_load_file(path, &p), KILN_OK);
    assert_string_equal(policy_origin(p), path);
    assert_int_equal(policy_rule_count(p), 4);
    assert_string_equal(policy_rule_name(p, 0), "ml-on-gpus");
    assert_string_equal(policy_rule_name(p, 3), "no-mallory");
    assert_null(policy_rule_name(p, 4));
    assert_int_equal(policy_warning_count(p), 0);

    assert_int_equal(policy_quota_count(p), 2);
    const policy_quota *q = policy_quota_at(p, 0);
    assert_string_equal(q->role, "ml");
    assert_null(q->principal);
    assert_true(q->device_memory_bytes == 16ull << 30);
    assert_int_equal(q->live_buffers, 1000);
    assert_int_equal(q->concurrent_launches, 64);
    assert_int_equal(q->device_time_ms, 500);
    assert_int_equal(q->device_time_window_s, 1);
    q = policy_quota_at(p, 1);
    assert_string_equal(q->principal, "carol");
    assert_int_equal(q->live_buffers, 0); /* zero is a limit: it forbids buffers */
    assert_true(q->device_memory_bytes == POLICY_UNLIMITED);
    assert_true(q->device_time_ms == POLICY_UNLIMITED);
    assert_null(policy_quota_at(p, 2));

    const policy_audit *a = policy_audit_settings(p);
    assert_int_equal(a->checkpoint_every, 1000);
    assert_true(a->durable);
    assert_int_equal(a->per_record, POLICY_AUDIT_PER_RECORD_DEFAULT);
    assert_int_equal(a->summarize, POLICY_AUDIT_LAUNCH);

    /* The hash is SHA-256 of the file's bytes. */
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static unsigned char bytes[POLICY_FILE_MAX];
    size_t n = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    unsigned char want[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(want, bytes, n);
    assert_memory_equal(policy_hash(p), want, POLICY_HASH_BYTES);
    policy_release(p);
    free(path);
}

static void generations_differ_and_refcount_keeps_policy(void **state)
{
    policy *a = load_ok("version: 1\n");
    policy *b = load_ok("version: 1\n");
    assert_true(policy_generation(a) != 0);
    assert_true(policy_generation(b) > policy_generation(a));
    assert_memory_equal(policy_hash(a), policy_hash(b), POLICY_HASH_BYTES);
    /* No rules is legal (everything denied) but worth a warning. */
    assert_int_equal(policy_warning_count(a), 1);
    assert_string_equal(policy_warning(a, 0), "t.yaml:1:1: the policy has no rules: everything is denied");
    assert_null(policy_warning(a, 1));
    assert_ptr_equal(policy_retain(a), a);
    policy_release(a);
    assert_int_equal(policy_rule_count(a), 0); /* still alive: one reference left */
    policy_release(a);
    policy_release(b);
    policy_release(NULL);
}

static void sizes_accept_units_and_plain_integers(void **state)
{
    /* Fresh random sizes each run, written plain and with each unit. */
    static const char *const units[] = { "", "KiB", "MiB", "GiB", "TiB" };
    static const unsigned shifts[] = { 0, 10, 20, 30, 40 };
    srand((unsigned)time(NULL));
    for (int round = 0; round < 50; round++) {
        int u = rand() % 5;
        uint64_t v = (uint64_t)rand() % 100000;
        char text[512];
        snprintf(text, sizeof text,
                 "version: 1\nquotas:\n  - principal: a\n    device_memory_bytes: %llu%s%s\n",
                 (unsigned long long)v, round % 2 ? " " : "", units[u]);
        policy *p = load_ok(text);
        assert_true(policy_quota_at(p, 0)->device_memory_bytes == v << shifts[u]);
        policy_release(p);
    }
}

static void audit_defaults_and_lists(void **state)
{
    policy *p = load_ok("version: 1\n");
    const policy_audit *a = policy_audit_settings(p);
    assert_int_equal(a->checkpoint_every, POLICY_AUDIT_CHECKPOINT_DEFAULT);
    assert_true(a->durable);
    assert_int_equal(a->per_record, POLICY_AUDIT_PER_RECORD_DEFAULT);
    assert_int_equal(a->summarize, POLICY_AUDIT_SUMMARIZE_DEFAULT);
    policy_release(p);
    /* Naming launch per record takes it out of the default summaries. */
    p = load_ok("version: 1\naudit:\n  durable: false\n  per_record: [launch, copy, admin]\n");
    a = policy_audit_settings(p);
    assert_false(a->durable);
    assert_int_equal(a->per_record, POLICY_AUDIT_LAUNCH | POLICY_AUDIT_COPY | POLICY_AUDIT_ADMIN);
    assert_int_equal(a->summarize, 0);
    policy_release(p);
    assert_string_equal(policy_audit_event_name(POLICY_AUDIT_FAULT), "fault");
    assert_null(policy_audit_event_name((policy_audit_event)3));
}

static void malformed_yaml_names_line_and_column(void **state)
{
    char *path = source_path("bad-malformed.yaml");
    policy *p = NULL;
    assert_int_equal(policy_load_file(path, &p), KILN_ERR_POLICY);
    assert_null(p);
    char want[4200];
    snprintf(want, sizeof want,
             "%s:6:1: did not find expected ',' or ']' while parsing a flow sequence", path);
    assert_string_equal(util_last_error(), want);
    free(path);
    expect_error("version: 1\n\tbad: tab\n",
                 "t.yaml:2:1: found a tab character that violates indentation while scanning a "
                 "plain scalar");
    expect_error("", "t.yaml:1:1: the policy is empty (it needs 'version: 1')");
    expect_error("version: 1\n---\nversion: 1\n",
                 "t.yaml:3:1: a second YAML document; a policy is one");
    expect_error("- 1\n", "t.yaml:1:1: the policy must be a mapping (key: value lines)");
    expect_error("rules: []\n", "t.yaml:1:1: the policy needs 'version: 1'");
    expect_error("version: 2\n", "t.yaml:1:10: version 2 is not supported (this kiln reads 1)");
    expect_error("version: 1\nversion: 1\n", "t.yaml:2:1: key 'version' repeats in the policy (first at line 1)");
    const char nul[] = "version: 1\n\0";
    policy *q = NULL;
    assert_int_equal(policy_load_text(nul, sizeof nul - 1, "n.yaml", &q), KILN_ERR_POLICY);
    assert_string_equal(util_last_error(), "n.yaml: contains a NUL byte; a policy is UTF-8 text");
}

static void unreadable_file_is_an_error(void **state)
{
    policy *p = NULL;
    assert_int_equal(policy_load_file("/nonexistent/kiln/policy.yaml", &p), KILN_ERR_POLICY);
    assert_null(p);
    assert_string_equal(util_last_error(),
                        "/nonexistent/kiln/policy.yaml: cannot open: No such file or directory");
    /* A directory opens but cannot be read. */
    assert_int_equal(policy_load_file("/", &p), KILN_ERR_POLICY);
    assert_string_equal(util_last_error(), "/: cannot read: Is a directory");
    assert_int_equal(policy_load_file(NULL, &p), KILN_ERR_NULL_HANDLE);
    assert_int_equal(policy_load_file("x", NULL), KILN_ERR_NULL_HANDLE);
}

static void unknown_keys_and_values_are_errors(void **state)
{
    char *path = source_path("bad-unknown-key.yaml");
    policy *p = NULL;
    assert_int_equal(policy_load_file(path, &p), KILN_ERR_POLICY);
    char want[4200];
    snprintf(want, sizeof want,
             "%s:8:5: unknown key 'whenn' in a rule (expected name, effect, principals, roles, "
             "devices, actions, when)", path);
    assert_string_equal(util_last_error(), want);
    free(path);
    expect_error("version: 1\naudits: {}\n",
                 "t.yaml:2:1: unknown key 'audits' in the policy (expected version, roles, rules, "
                 "quotas, audit)");
    expect_rule_error("    principals: [a]\n    devices: ['*']\n    actions: [kernel.lunch]\n",
                      "t.yaml:7:15: unknown action 'kernel.lunch' (expected device.use, "
                      "program.build, buffer.alloc, buffer.copy, kernel.launch, queue.priority, "
                      "p2p, collective, session.open, admin.* or admin.NAME)");
    expect_rule_error("    principals: [a]\n    devices: ['*']\n    actions: [admin.everything]\n",
                      "t.yaml:7:15: unknown action 'admin.everything' (expected device.use, "
                      "program.build, buffer.alloc, buffer.copy, kernel.launch, queue.priority, "
                      "p2p, collective, session.open, admin.* or admin.NAME)");
    expect_error("version: 1\nrules:\n  - name: r\n    effect: permit\n",
                 "t.yaml:4:13: effect must be allow or deny, not 'permit'");
    expect_rule_error("    principals: [a]\n    devices: ['*']\n    actions: [p2p]\n"
                      "    when: {max_priority: realtime}\n",
                      "t.yaml:8:26: max_priority must be low, normal or high, not 'realtime'");
    expect_error("version: 1\naudit: {durable: yes}\n",
                 "t.yaml:2:18: durable must be true or false, not 'yes'");
    expect_error("version: 1\naudit: {per_record: [everything]}\n",
                 "t.yaml:2:22: unknown audit event 'everything' (expected deny, session, build, "
                 "alloc, copy, launch, reload, fault or admin)");
}

static void missing_and_empty_parts_are_errors(void **state)
{
    expect_error("version: 1\nrules:\n  - effect: allow\n", "t.yaml:3:5: a rule needs a name");
    expect_error("version: 1\nrules:\n  - name: r\n", "t.yaml:3:5: a rule needs an effect (allow or deny)");
    expect_rule_error("    devices: ['*']\n    actions: [p2p]\n",
                      "t.yaml:3:5: rule 'r' names no principal or role");
    expect_rule_error("    principals: [a]\n    actions: [p2p]\n", "t.yaml:3:5: rule 'r' needs devices");
    expect_rule_error("    principals: [a]\n    devices: ['*']\n", "t.yaml:3:5: rule 'r' needs actions");
    expect_rule_error("    principals: [a]\n    devices: []\n    actions: [p2p]\n",
                      "t.yaml:6:14: devices is empty: the rule would match no device");
    expect_rule_error("    principals: [a]\n    devices: ['*']\n    actions: []\n",
                      "t.yaml:7:14: actions is empty: the rule would match nothing");
    expect_rule_error("    principals: a\n", "t.yaml:5:17: principals must be a list");
    expect_rule_error("    roles: ['*']\n", "t.yaml:5:13: '*' is not allowed in roles");
    expect_error("version: 1\nrules:\n  - name: default-deny\n    effect: deny\n",
                 "t.yaml:3:11: rule name 'default-deny' is not usable (reserved)");
}

static void bad_device_selectors_are_errors(void **state)
{
    char *path = source_path("bad-device.yaml");
    policy *p = NULL;
    assert_int_equal(policy_load_file(path, &p), KILN_ERR_POLICY);
    char want[4200];
    snprintf(want, sizeof want,
             "%s:6:15: device selector 'tpu:0': unknown selector kind or backend before ':' "
             "(expected cpu, cuda, opencl, metal, fault, backend, class, name or index)", path);
    assert_string_equal(util_last_error(), want);
    free(path);
    static const struct {
        const char *selector, *why;
    } cases[] = {
        { "gpu", "a device selector is \"*\", BACKEND:N, BACKEND:*, backend:B, class:C, "
                 "name:PATTERN or index:N" },
        { "class:tpu", "unknown device class (expected cpu, gpu, accelerator or other)" },
        { "index:-1", "index: needs a device index (a decimal number)" },
        { "index:01", "index: needs a device index (a decimal number)" },
        { "backend:vulkan", "unknown backend (expected cpu, cuda, opencl, metal or fault)" },
        { "cuda:x", "a backend selector is BACKEND:N or BACKEND:*" },
        { "name:", "name: needs a pattern" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rest[256], detail[512];
        snprintf(rest, sizeof rest, "    principals: [a]\n    devices: ['%s']\n", cases[i].selector);
        snprintf(detail, sizeof detail, "t.yaml:6:15: device selector '%s': %s", cases[i].selector,
                 cases[i].why);
        expect_rule_error(rest, detail);
    }
}

static void contradictions_and_duplicates(void **state)
{
    char *path = source_path("bad-contradictory.yaml");
    policy *p = NULL;
    assert_int_equal(policy_load_file(path, &p), KILN_ERR_POLICY);
    char want[4200];
    snprintf(want, sizeof want,
             "%s:8:5: contradictory rules: 'let-alice' (allow, line 3) and 'stop-alice' (deny, "
             "line 8) select the same requests, so the deny always wins and 'let-alice' never "
             "applies", path);
    assert_string_equal(util_last_error(), want);
    free(path);
    expect_error("version: 1\nrules:\n"
                 "  - {name: a, effect: allow, principals: [x], devices: ['*'], actions: [p2p]}\n"
                 "  - {name: a, effect: allow, principals: [y], devices: ['*'], actions: [p2p]}\n",
                 "t.yaml:4:12: rule name 'a' repeats (first at line 3)");
    expect_error("version: 1\nroles:\n  ml: [a]\n  ml: [b]\n",
                 "t.yaml:4:3: role 'ml' is defined twice");
    expect_error("version: 1\nquotas:\n  - {role: ml, live_buffers: 1}\n  - {role: ml, live_buffers: 2}\n",
                 "t.yaml:4:5: a second quota for role 'ml' (one per subject)");
    expect_error("version: 1\naudit: {per_record: [launch], summarize: [launch]}\n",
                 "t.yaml:2:8: audit event 'launch' is both per_record and summarize");
    /* Same selectors in another order are still the same; same effect twice warns. */
    policy *q = load_ok("version: 1\nrules:\n"
                        "  - {name: a, effect: allow, principals: [x, y], devices: ['cpu:0', '*'], actions: [p2p]}\n"
                        "  - {name: b, effect: allow, principals: [y, x], devices: ['*', 'cpu:0'], actions: [p2p]}\n"
                        "  - {name: c, effect: deny, principals: [x], devices: ['*'], actions: [p2p], when: {max_alloc_bytes: 1}}\n");
    assert_int_equal(policy_warning_count(q), 2);
    assert_string_equal(policy_warning(q, 0), "t.yaml:4:5: rule 'b' repeats rule 'a' (line 3)");
    assert_string_equal(policy_warning(q, 1),
                        "t.yaml:5:84: deny rule 'c' has a max_ condition: it denies only requests "
                        "within that limit");
    policy_release(q);
}

static void odd_principal_names_are_refused(void **state)
{
    expect_rule_error("    principals: [\"al\\x01ice\"]\n",
                      "t.yaml:5:18: principals: principal name has a control character U+0001 at "
                      "offset 2");
    expect_rule_error("    principals: [\"bob\\u0085\"]\n",
                      "t.yaml:5:18: principals: principal name has a control character U+0085 at "
                      "offset 3");
    expect_rule_error("    principals: [\"\"]\n", "t.yaml:5:18: principals: principal name is empty");
    /* libyaml itself refuses bytes that are not UTF-8. */
    expect_rule_error("    principals: [b\xff]\n",
                      "t.yaml:5:19: invalid leading UTF-8 octet (byte 0xff)");
    /* The same check serves principals given at run time. */
    assert_int_equal(govern_name_check("caf\xc3\xa9"), KILN_OK);
    assert_int_equal(govern_name_check("a\xc0\xaf"), KILN_ERR_INVALID_ARG);
    assert_string_equal(util_last_error(),
                        "principal name has a byte that is not valid UTF-8 at offset 1 (0xc0)");
    assert_int_equal(govern_name_check("a\x7f"), KILN_ERR_INVALID_ARG);
    assert_int_equal(govern_name_check("\xed\xa0\x80"), KILN_ERR_INVALID_ARG); /* a surrogate */
    char long_name[GOVERN_NAME_MAX + 2];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(govern_name_check(long_name), KILN_ERR_INVALID_ARG);
    long_name[GOVERN_NAME_MAX] = '\0';
    assert_int_equal(govern_name_check(long_name), KILN_OK);
    govern_principal who = { .name = "alice", .roles = { "ml", "bad\n" }, .role_count = 2 };
    assert_int_equal(govern_principal_check(&who), KILN_ERR_INVALID_ARG);
    assert_string_equal(util_last_error(),
                        "role 1: principal name has a control character U+000A at offset 3");
    who.role_count = GOVERN_ROLES_MAX + 1;
    assert_int_equal(govern_principal_check(&who), KILN_ERR_INVALID_ARG);
    assert_int_equal(govern_principal_check(NULL), KILN_ERR_NULL_HANDLE);
}

static void bad_numbers_and_conditions_are_errors(void **state)
{
    expect_error("version: 1\nquotas:\n  - {principal: a, live_buffers: -1}\n",
                 "t.yaml:3:34: live_buffers must be a whole number from 0 to "
                 "18446744073709551615, not '-1'");
    expect_error("version: 1\nquotas:\n  - {principal: a, live_buffers: 18446744073709551616}\n",
                 "t.yaml:3:34: live_buffers must be a whole number from 0 to "
                 "18446744073709551615, not '18446744073709551616'");
    expect_error("version: 1\nquotas:\n  - {principal: a, device_memory_bytes: 8GB}\n",
                 "t.yaml:3:41: device_memory_bytes: unknown size unit 'GB' (use KiB, MiB, GiB or "
                 "TiB)");
    expect_error("version: 1\nquotas:\n  - {principal: a, device_memory_bytes: 99999999TiB}\n",
                 "t.yaml:3:41: device_memory_bytes: '99999999TiB' is too large");
    expect_error("version: 1\nquotas:\n  - {principal: a, device_memory_bytes: GiB}\n",
                 "t.yaml:3:41: device_memory_bytes must be a size such as 1048576 or 8GiB, not 'GiB'");
    expect_error("version: 1\nquotas:\n  - {principal: a}\n", "t.yaml:3:5: a quota sets no limit");
    expect_error("version: 1\nquotas:\n  - {principal: a, role: b, live_buffers: 1}\n",
                 "t.yaml:3:5: a quota names exactly one of principal or role");
    expect_error("version: 1\nquotas:\n  - {role: b, device_time: {ms: 5}}\n",
                 "t.yaml:3:28: device_time needs both ms and per_s");
    expect_error("version: 1\nquotas:\n  - {role: b, device_time: {ms: 5, per_s: 0}}\n",
                 "t.yaml:3:43: device_time.per_s must be at least 1 second");
    expect_error("version: 1\naudit: {checkpoint_every: 0}\n",
                 "t.yaml:2:27: checkpoint_every must be 1 to 4294967295 records");
    static const struct {
        const char *window, *why;
    } windows[] = {
        { "8-18", "utc_hours is \"HH:MM-HH:MM\" (00:00 to 24:00)" },
        { "08:00-24:01", "utc_hours is \"HH:MM-HH:MM\" (00:00 to 24:00)" },
        { "08:60-09:00", "utc_hours is \"HH:MM-HH:MM\" (00:00 to 24:00)" },
        { "24:00-08:00", "utc_hours cannot start at 24:00 (use 00:00)" },
        { "08:00-08:00", "utc_hours window is empty (start equals end); use 00:00-24:00 for the "
                         "whole day" },
    };
    for (size_t i = 0; i < sizeof windows / sizeof windows[0]; i++) {
        char rest[256], detail[512];
        snprintf(rest, sizeof rest,
                 "    principals: [a]\n    devices: ['*']\n    actions: [p2p]\n"
                 "    when: {utc_hours: '%s'}\n", windows[i].window);
        snprintf(detail, sizeof detail, "t.yaml:8:23: %s", windows[i].why);
        expect_rule_error(rest, detail);
    }
}

static void aliases_cannot_amplify_a_small_file(void **state)
{
    /* One list of 300 names, named by 300 roles through an alias: 90000
     * entries from a file of a few kilobytes. */
    size_t cap = 64 * 1024, used = 0;
    char *text = malloc(cap);
    used += (size_t)snprintf(text + used, cap - used, "version: 1\nroles:\n  r0: &big [");
    for (int i = 0; i < 300; i++)
        used += (size_t)snprintf(text + used, cap - used, "%su%d", i ? ", " : "", i);
    used += (size_t)snprintf(text + used, cap - used, "]\n");
    for (int i = 1; i < 300; i++)
        used += (size_t)snprintf(text + used, cap - used, "  r%d: *big\n", i);
    expect_error(text, "t.yaml:3:7: the policy has more than 65536 list entries");
    free(text);
}

static void quota_of_zero_is_legal(void **state)
{
    char *path = source_path("quota-zero.yaml");
    policy *p = NULL;
    assert_int_equal(policy_load_file(path, &p), KILN_OK);
    const policy_quota *q = policy_quota_at(p, 0);
    assert_int_equal(q->live_buffers, 0);
    assert_int_equal(q->device_memory_bytes, 0);
    assert_true(q->concurrent_launches == POLICY_UNLIMITED);
    policy_release(p);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(example_file_parses_every_key),
        cmocka_unit_test(generations_differ_and_refcount_keeps_policy),
        cmocka_unit_test(sizes_accept_units_and_plain_integers),
        cmocka_unit_test(audit_defaults_and_lists),
        cmocka_unit_test(malformed_yaml_names_line_and_column),
        cmocka_unit_test(unreadable_file_is_an_error),
        cmocka_unit_test(unknown_keys_and_values_are_errors),
        cmocka_unit_test(missing_and_empty_parts_are_errors),
        cmocka_unit_test(bad_device_selectors_are_errors),
        cmocka_unit_test(contradictions_and_duplicates),
        cmocka_unit_test(odd_principal_names_are_refused),
        cmocka_unit_test(bad_numbers_and_conditions_are_errors),
        cmocka_unit_test(aliases_cannot_amplify_a_small_file),
        cmocka_unit_test(quota_of_zero_is_legal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
