/* libFuzzer target for the policy loader (policy_load_text: YAML through
 * libyaml into rules, roles, quotas and audit settings, src/govern/
 * policy_load*.c). Each input is a policy file's text. What must hold:
 * - KILN_ERR_POLICY or success, nothing else; a policy exactly on success;
 * - a refusal says where: the detail starts "fuzz:LINE:COLUMN: ", or
 *   "fuzz: " for what is wrong with the whole text (a NUL byte, its size);
 * - a loaded policy is consistent: its origin, its hash is the SHA-256 of
 *   the input's bytes, at most POLICY_RULES_MAX rules each with a name, a
 *   text for every warning;
 * - loading is a function of the text: a second load agrees;
 * - the loaded policy decides every action for a fixed principal and
 *   device, and every decision names its rule. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "govern/policy.h"
#include "util/fail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ORIGIN "fuzz"

static void check_refusal_detail(void)
{
    const char *detail = util_last_error();
    if (!detail)
        abort();
    if (strncmp(detail, FUZZ_ORIGIN ": ", strlen(FUZZ_ORIGIN ": ")) == 0)
        return;
    unsigned long line = 0, column = 0;
    int used = 0;
    if (sscanf(detail, FUZZ_ORIGIN ":%lu:%lu: %n", &line, &column, &used) != 2 || used == 0 ||
        line == 0 || column == 0)
        abort();
}

static void check_policy(const policy *p, const uint8_t *data, size_t size)
{
    uint8_t sum[POLICY_HASH_BYTES];
    crypto_hash_sha256(sum, data, size);
    if (strcmp(policy_origin(p), FUZZ_ORIGIN) != 0 || memcmp(policy_hash(p), sum, sizeof sum) != 0)
        abort();
    uint32_t rules = policy_rule_count(p);
    if (rules > POLICY_RULES_MAX || policy_rule_name(p, rules) != NULL)
        abort();
    for (uint32_t i = 0; i < rules; i++)
        if (!policy_rule_name(p, i))
            abort();
    for (uint32_t i = 0; i < policy_warning_count(p); i++)
        if (!policy_warning(p, i))
            abort();
    govern_principal who = {.name = "alice", .roles = {"ml"}, .role_count = 1};
    govern_device_desc device = {.index = 0, .backend = KILN_BACKEND_CUDA, .backend_index = 0,
                                 .name = "NVIDIA H100", .device_class = GOVERN_CLASS_GPU};
    policy_conditions_in in = {.bytes = 1u << 20, .priority = KILN_PRIORITY_NORMAL,
                               .utc_seconds = 0, .admin_name = "reload"};
    for (int action = 0; action < GOVERN_ACTION_COUNT; action++) {
        policy_decision d = policy_decide(p, &who, &device, (govern_action)action, &in);
        if (!d.rule || !d.reason)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (sodium_init() < 0)
            abort();
        ready = 1;
    }
    policy *p = NULL, *again = NULL;
    kiln_status st = policy_load_text((const char *)data, size, FUZZ_ORIGIN, &p);
    if ((st == KILN_OK) != (p != NULL) || (st != KILN_OK && st != KILN_ERR_POLICY))
        abort();
    if (st != KILN_OK)
        check_refusal_detail();
    else
        check_policy(p, data, size);
    kiln_status st2 = policy_load_text((const char *)data, size, FUZZ_ORIGIN, &again);
    if (st2 != st || (p && policy_rule_count(again) != policy_rule_count(p)))
        abort();
    policy_release(again);
    policy_release(p);
    return 0;
}
