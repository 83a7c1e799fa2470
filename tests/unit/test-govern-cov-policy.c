/* The policy loader's refusals, one small document each: every case must
 * fail with KILN_ERR_POLICY and a detail naming the place and the reason,
 * so that a typo or a wrong shape never silently widens access. Also the
 * loader's argument checks and file errors (missing, directory, too big). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "govern/policy.h"
#include "govern/policy_impl.h"
#include "util/fail.h"
#include "test-temp-dir.h"

/* A rule body that is valid on its own; cases append or replace keys. */
#define RULE_HEAD "version: 1\nrules:\n  - name: r1\n    effect: allow\n"
#define RULE_OK RULE_HEAD "    principals: [alice]\n    devices: [\"*\"]\n    actions: [device.use]\n"

typedef struct refusal {
    const char *yaml;
    const char *detail; /* a part of the error detail */
} refusal;

static const refusal refusals[] = {
    /* libyaml's own errors */
    { "version: 1\nrules: [\n", "cov.yaml:" },
    { "version: 1\n\xff\xfe bad\n", "(byte 0x" },
    { "", "cov.yaml:1:1: the policy is empty" },
    { "version: 1\n---\nversion: 1\n", "a second YAML document" },
    { "version: 1\n--- [\n", "cov.yaml:" },
    /* the root */
    { "- a\n- b\n", "the policy must be a mapping" },
    { "roles: {}\n", "the policy needs 'version: 1'" },
    { "version: 2\n", "version 2 is not supported" },
    { "version: one\n", "version must be a whole number" },
    { "version: [1]\n", "version must be a single value" },
    { "version: 1\nextra: 2\n", "unknown key 'extra' in the policy" },
    { "version: 1\nversion: 1\n", "key 'version' repeats in the policy" },
    /* roles */
    { "version: 1\nroles: [a]\n", "roles must be a mapping" },
    { "version: 1\nroles:\n  ml: alice\n", "must be a list" },
    { "version: 1\nroles:\n  ml: [\"\"]\n", "cov.yaml:3:8: role members: principal name is empty" },
    { "version: 1\nroles:\n  ml: [\"*\"]\n", "'*' is not allowed" },
    { "version: 1\nroles:\n  \"\": [a]\n", "role name: principal name is empty" },
    { "version: 1\nroles:\n  ml: [a]\n  ml: [b]\n", "role 'ml' is defined twice" },
    { "version: 1\nroles:\n  [x]: [a]\n", "must be a single value" },
    /* rules */
    { "version: 1\nrules: {}\n", "rules must be a list" },
    { "version: 1\nrules: [x]\n", "a rule must be a mapping" },
    { "version: 1\nrules:\n  - effect: allow\n", "a rule needs a name" },
    { "version: 1\nrules:\n  - name: r1\n", "a rule needs an effect" },
    { "version: 1\nrules:\n  - name: [r1]\n    effect: allow\n", "name must be a single value" },
    { "version: 1\nrules:\n  - name: \"a\\tb\"\n    effect: allow\n", "is not usable" },
    { "version: 1\nrules:\n  - name: " POLICY_DEFAULT_DENY "\n    effect: allow\n", "is not usable (reserved)" },
    { "version: 1\nrules:\n  - name: r1\n    effect: maybe\n", "effect must be allow or deny, not 'maybe'" },
    { "version: 1\nrules:\n  - name: r1\n    effect: [allow]\n", "effect must be a single value" },
    { RULE_HEAD "    devices: [\"*\"]\n    actions: [device.use]\n", "rule 'r1' names no principal or role" },
    { RULE_HEAD "    principals: [a]\n    actions: [device.use]\n", "rule 'r1' needs devices" },
    { RULE_HEAD "    principals: [a]\n    devices: [\"*\"]\n", "rule 'r1' needs actions" },
    { RULE_HEAD "    principals: a\n", "principals must be a list" },
    { RULE_HEAD "    principals: [[a]]\n", "must be a single value" },
    { RULE_HEAD "    principals: [a]\n    devices: \"*\"\n", "devices must be a list" },
    { RULE_HEAD "    principals: [a]\n    devices: []\n", "devices is empty" },
    { RULE_HEAD "    principals: [a]\n    devices: [\"nosuch:1\"]\n", "device selector 'nosuch:1'" },
    { RULE_HEAD "    principals: [a]\n    devices: [\"index:1a\"]\n", "device selector 'index:1a'" },
    { RULE_HEAD "    principals: [a]\n    devices: [\"index:99999999999\"]\n", "device selector 'index:99999999999'" },
    { RULE_OK "    when:\n      utc_hours: \"0a:00-01:00\"\n", "utc_hours is" },
    { RULE_HEAD "    principals: [a]\n    devices: [\"*\"]\n    actions: use\n", "actions must be a list" },
    { RULE_HEAD "    principals: [a]\n    devices: [\"*\"]\n    actions: []\n", "actions is empty" },
    { RULE_HEAD "    principals: [a]\n    devices: [\"*\"]\n    actions: [fly]\n", "unknown action 'fly'" },
    { RULE_OK "    when: 3\n", "when must be a mapping" },
    { RULE_OK "    when:\n      max_priority: urgent\n", "max_priority must be low, normal or high, not 'urgent'" },
    { RULE_OK "    when:\n      max_priority: [high]\n", "max_priority must be a single value" },
    { RULE_OK "    when:\n      utc_hours: \"25:00-26:00\"\n", "cov.yaml:9:18: utc_hours is" },
    { RULE_OK "    when:\n      max_alloc_bytes: 12 PiB\n", "unknown size unit 'PiB'" },
    { RULE_OK "    when:\n      max_alloc_bytes: lots\n", "must be a size such as" },
    { RULE_OK "    when:\n      max_alloc_bytes: 99999999999999TiB\n", "is too large" },
    { RULE_OK "  - name: r1\n    effect: deny\n", "rule name 'r1' repeats (first at line 3)" },
    { RULE_OK "    when:\n      max_alloc_bytes: [1]\n", "max_alloc_bytes must be a single value" },
    /* quotas */
    { "version: 1\nquotas: [x]\n", "a quota must be a mapping" },
    { "version: 1\nquotas: {}\n", "quotas must be a list" },
    { "version: 1\nquotas:\n  - role: ml\n", "a quota sets no limit" },
    { "version: 1\nquotas:\n  - live_buffers: 1\n", "exactly one of principal or role" },
    { "version: 1\nquotas:\n  - role: ml\n    principal: a\n    live_buffers: 1\n", "exactly one of principal or role" },
    { "version: 1\nquotas:\n  - role: \"\"\n", "role: principal name is empty" },
    { "version: 1\nquotas:\n  - role: [ml]\n", "role must be a single value" },
    { "version: 1\nquotas:\n  - role: ml\n    live_buffers: -1\n", "live_buffers must be a whole number" },
    { "version: 1\nquotas:\n  - role: ml\n    live_buffers: 99999999999999999999\n", "live_buffers must be a whole number" },
    { "version: 1\nquotas:\n  - role: ml\n    device_time: { ms: 5 }\n", "device_time needs both ms and per_s" },
    { "version: 1\nquotas:\n  - role: ml\n    device_time: { ms: 5, per_s: 0 }\n", "per_s must be at least 1 second" },
    { "version: 1\nquotas:\n  - role: ml\n    device_time: { ms: x, per_s: 1 }\n", "device_time.ms must be a whole number" },
    { "version: 1\nquotas:\n  - role: ml\n    device_time: 5\n", "device_time must be a mapping" },
    { "version: 1\nquotas:\n  - role: ml\n    live_buffers: 1\n  - role: ml\n    live_buffers: 2\n",
      "a second quota for role 'ml'" },
    { "version: 1\nquotas:\n  - principal: a\n    live_buffers: 1\n  - principal: a\n    live_buffers: 2\n",
      "a second quota for principal 'a'" },
    /* audit */
    { "version: 1\naudit: [x]\n", "audit must be a mapping" },
    { "version: 1\naudit:\n  checkpoint_every: 0\n", "checkpoint_every must be 1 to" },
    { "version: 1\naudit:\n  checkpoint_every: 4294967296\n", "checkpoint_every must be 1 to" },
    { "version: 1\naudit:\n  durable: yes\n", "durable must be true or false, not 'yes'" },
    { "version: 1\naudit:\n  durable: [true]\n", "durable must be a single value" },
    { "version: 1\naudit:\n  per_record: deny\n", "per_record must be a list" },
    { "version: 1\naudit:\n  summarize: [party]\n", "unknown audit event 'party'" },
    { "version: 1\naudit:\n  summarize: [[deny]]\n", "summarize must be a single value" },
    { "version: 1\naudit:\n  per_record: [launch]\n  summarize: [launch]\n",
      "audit event 'launch' is both per_record and summarize" },
};

static void test_refusals(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        policy *p = (policy *)&p; /* must be set to NULL on failure */
        kiln_status st = policy_load_text(refusals[i].yaml, strlen(refusals[i].yaml), "cov.yaml", &p);
        const char *detail = util_last_error();
        if (st != KILN_ERR_POLICY || !strstr(detail, refusals[i].detail) || p) {
            print_error("case %zu: status %d, detail '%s', wanted '%s'\n", i, (int)st, detail,
                        refusals[i].detail);
            failures++;
            if (st == KILN_OK)
                policy_release(p);
        }
    }
    assert_int_equal(failures, 0);
}

/* A rule list longer than the loader allows, built at run time. */
static void test_too_many_rules(void **state)
{
    (void)state;
    enum { RULES = POLICY_RULES_MAX + 1 };
    size_t cap = 64 + (size_t)RULES * 8;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t n = (size_t)snprintf(text, cap, "version: 1\nrules:\n");
    for (int i = 0; i < RULES; i++)
        n += (size_t)snprintf(text + n, cap - n, "  - x\n");
    policy *p = NULL;
    kiln_status st = policy_load_text(text, n, "many.yaml", &p);
    assert_int_equal(st, KILN_ERR_POLICY);
    assert_null(p);
    char want[64];
    snprintf(want, sizeof want, "%d rules; at most", RULES);
    assert_non_null(strstr(util_last_error(), want));
    free(text);
}

/* More list entries in all than the loader allows, in one long list of
 * the kind given (a "key: [" opening in a rule). */
static void check_too_many_entries(const char *opening)
{
    enum { NAMES = POLICY_ENTRIES_MAX + 1 };
    size_t cap = 512 + (size_t)NAMES * 3;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t n = (size_t)snprintf(text, cap, "%s", opening);
    for (int i = 0; i < NAMES; i++)
        n += (size_t)snprintf(text + n, cap - n, "a,");
    n += (size_t)snprintf(text + n, cap - n, "b]\n");
    policy *p = NULL;
    assert_int_equal(policy_load_text(text, n, "wide.yaml", &p), KILN_ERR_POLICY);
    assert_non_null(strstr(util_last_error(), "more than 65536 list entries"));
    assert_null(p);
    free(text);
}

static void test_too_many_entries(void **state)
{
    (void)state;
    check_too_many_entries(RULE_HEAD "    principals: [");
    check_too_many_entries(RULE_HEAD "    principals: [a]\n    devices: [");
}

/* What a refusal-free document with the rarer values reads as. */
static void test_accepted_values(void **state)
{
    (void)state;
    static const char text[] = RULE_OK "    when:\n      max_priority: low\n"
                                      "      max_alloc_bytes: 3 KiB\n";
    policy *p = NULL;
    assert_int_equal(policy_load_text(text, sizeof text - 1, NULL, &p), KILN_OK);
    assert_string_equal(policy_origin(p), "<policy>");
    assert_int_equal(policy_rule_count(p), 1);
    assert_true(p->rules[0].has_max_priority);
    assert_int_equal(p->rules[0].max_priority, KILN_PRIORITY_LOW);
    assert_true(p->rules[0].has_max_bytes);
    assert_int_equal(p->rules[0].max_bytes, 3 * 1024);
    policy_release(p);

    /* Without an origin, errors name "<policy>". */
    assert_int_equal(policy_load_text("version: 3\n", 11, NULL, &p), KILN_ERR_POLICY);
    assert_string_equal(util_last_error(),
                        "<policy>:1:10: version 3 is not supported (this kiln reads 1)");
}

typedef struct unmatched_seen {
    int calls;
    char rule[32], selector[32];
    unsigned long line;
} unmatched_seen;

static void note_unmatched(void *arg, const char *rule, const char *selector, unsigned long line)
{
    unmatched_seen *seen = arg;
    seen->calls++;
    snprintf(seen->rule, sizeof seen->rule, "%s", rule);
    snprintf(seen->selector, sizeof seen->selector, "%s", selector);
    seen->line = line;
}

/* Rules that differ only in their devices are no conflict; a selector that
 * matches none of a machine's devices is reported with its rule and line. */
static void test_selectors(void **state)
{
    (void)state;
    static const char text[] =
        "version: 1\nrules:\n"
        "  - name: wide\n    effect: allow\n    principals: [a]\n"
        "    devices: [\"index:0\", \"index:7\"]\n    actions: [device.use]\n"
        "  - name: narrow\n    effect: deny\n    principals: [a]\n"
        "    devices: [\"index:0\"]\n    actions: [device.use]\n";
    policy *p = NULL;
    assert_int_equal(policy_load_text(text, sizeof text - 1, "sel.yaml", &p), KILN_OK);
    assert_int_equal(policy_rule_count(p), 2);
    govern_device_desc dev = { .index = 0, .backend_index = GOVERN_INDEX_UNKNOWN, .name = "" };
    unmatched_seen seen = { 0 };
    assert_int_equal(policy_unmatched_selectors(p, &dev, 1, note_unmatched, &seen), 1);
    assert_int_equal(seen.calls, 1);
    assert_string_equal(seen.rule, "wide");
    assert_string_equal(seen.selector, "index:7");
    assert_int_equal(seen.line, 3);
    /* With a second device at index 7, nothing is left unmatched. */
    govern_device_desc two[2] = { dev, dev };
    two[1].index = 7;
    assert_int_equal(policy_unmatched_selectors(p, two, 2, NULL, NULL), 0);
    policy_release(p);
}

static void test_arguments(void **state)
{
    (void)state;
    policy *p = NULL;
    assert_int_equal(policy_load_text("version: 1\n", 11, "a", NULL), KILN_ERR_NULL_HANDLE);
    assert_string_equal(util_last_error(), "out is NULL");
    assert_int_equal(policy_load_text(NULL, 0, "a", &p), KILN_ERR_NULL_HANDLE);
    assert_string_equal(util_last_error(), "policy text is NULL");
    assert_int_equal(policy_load_text("version: 1\n\0x", 13, "nul.yaml", &p), KILN_ERR_POLICY);
    assert_non_null(strstr(util_last_error(), "contains a NUL byte"));
    assert_int_equal(policy_load_file("x", NULL), KILN_ERR_NULL_HANDLE);
    assert_string_equal(util_last_error(), "out is NULL");
    assert_int_equal(policy_load_file(NULL, &p), KILN_ERR_NULL_HANDLE);
    assert_string_equal(util_last_error(), "policy path is NULL");
    assert_null(p);
}

static void test_files(void **state)
{
    (void)state;
    policy *p = NULL;
    char path[TEST_TEMP_DIR_MAX + 32];
    snprintf(path, sizeof path, "%s/missing.yaml", test_temp_dir);
    assert_int_equal(policy_load_file(path, &p), KILN_ERR_POLICY);
    assert_non_null(strstr(util_last_error(), "cannot open"));
    assert_non_null(strstr(util_last_error(), "missing.yaml"));

    /* A directory opens but cannot be read. */
    assert_int_equal(policy_load_file(test_temp_dir, &p), KILN_ERR_POLICY);
    assert_non_null(strstr(util_last_error(), "cannot read"));

    /* Larger than a policy may be: a big comment. */
    snprintf(path, sizeof path, "%s/big.yaml", test_temp_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("version: 1\n", f);
    for (int i = 0; i < 1 << 16; i++)
        fputs("# padding padding padding padding padding padding padding\n", f);
    fclose(f);
    assert_int_equal(policy_load_file(path, &p), KILN_ERR_POLICY);
    assert_non_null(strstr(util_last_error(), "larger than"));

    /* The same text given directly is refused too, by its length. */
    f = fopen(path, "r");
    assert_non_null(f);
    static char big[1 << 23];
    size_t n = fread(big, 1, sizeof big, f);
    fclose(f);
    assert_int_equal(policy_load_text(big, n, "big.yaml", &p), KILN_ERR_POLICY);
    assert_non_null(strstr(util_last_error(), "a policy is at most"));
    assert_null(p);
}

static int setup(void **state)
{
    (void)state;
    return test_temp_dir_make("kiln-govcov-policy");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_too_many_rules),
        cmocka_unit_test(test_too_many_entries),
        cmocka_unit_test(test_accepted_values),
        cmocka_unit_test(test_selectors),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests(tests, setup, test_temp_dir_remove);
}
