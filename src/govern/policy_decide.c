/* Decisions. Binding does the string work once per (principal, device,
 * policy generation): it marks the rules whose principal and device
 * selectors match. A decision then ANDs that bit set with the rules of the
 * action (indexed at load) and checks only conditions: no string compares
 * on the launch path. */
#include "policy_impl.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char REASON_DENY[] = "a deny rule applies";
static const char REASON_ALLOW[] = "an allow rule applies and no deny rule does";
static const char REASON_NO_RULE[] = "no allow rule selects this principal, device and action";
static const char REASON_CONDITION[] = "an allow rule selects the request but its condition "
                                       "does not hold";
static const char REASON_BAD_PRINCIPAL[] = "principal name is not acceptable";
static const char REASON_NO_POLICY[] = "no policy is loaded";
static const char REASON_UNKNOWN_ADMIN[] = "unknown admin action";

static const uint32_t SECONDS_PER_DAY = 86400;
static const uint32_t SECONDS_PER_MINUTE = 60;

static bool in_policy_role(const policy *p, const char *role, const char *name)
{
    for (uint32_t i = 0; i < p->role_count; i++) {
        if (strcmp(p->roles[i].name, role) != 0)
            continue;
        for (uint32_t j = 0; j < p->roles[i].member_count; j++)
            if (strcmp(p->roles[i].members[j], name) == 0)
                return true;
    }
    return false;
}

static bool rule_selects_principal(const policy *p, const policy_rule *rule,
                                   const govern_principal *who)
{
    if (policy_rule_selects(rule, who->name, who->roles, who->role_count))
        return true;
    for (uint32_t i = 0; i < rule->role_count; i++)
        if (in_policy_role(p, rule->roles[i], who->name))
            return true;
    return false;
}

/* Marks the rules among filter whose selectors match principal and device. */
static void bind_rules(const policy *p, const govern_principal *principal,
                       const govern_device_desc *device, const uint64_t *filter,
                       policy_binding *binding)
{
    memset(binding, 0, sizeof *binding);
    binding->generation = p ? p->generation : 0;
    binding->device_index = device ? device->index : GOVERN_INDEX_UNKNOWN;
    if (!p || !device || govern_principal_check(principal) != KILN_OK)
        return;
    binding->principal_ok = true;
    govern_device_desc dev = *device;
    if (!dev.name)
        dev.name = "";
    for (uint32_t i = 0; i < p->rule_count; i++) {
        uint64_t bit = UINT64_C(1) << (i % 64);
        if (filter && !(filter[i / 64] & bit))
            continue;
        const policy_rule *rule = &p->rules[i];
        if (rule_selects_principal(p, rule, principal) && policy_rule_selects_device(rule, &dev))
            binding->rules[i / 64] |= bit;
    }
}

void policy_bind(const policy *p, const govern_principal *principal,
                 const govern_device_desc *device, policy_binding *binding)
{
    bind_rules(p, principal, device, NULL, binding);
}

/* The minute of the day of the request, read once per decision and only
 * if a rule has a window (*minute starts as UINT32_MAX). */
static uint32_t minute_of_day(const policy_conditions_in *in, uint32_t *minute)
{
    if (*minute == UINT32_MAX) {
        int64_t t = in->utc_seconds >= 0 ? in->utc_seconds : (int64_t)time(NULL);
        *minute = (uint32_t)((uint64_t)t % SECONDS_PER_DAY / SECONDS_PER_MINUTE);
    }
    return *minute;
}

static policy_condition failed_condition(const policy_rule *r, const policy_conditions_in *in,
                                         uint32_t *minute)
{
    if (r->has_max_bytes && in->bytes > r->max_bytes)
        return POLICY_CONDITION_MAX_ALLOC_BYTES;
    if (r->has_max_priority && in->priority > r->max_priority)
        return POLICY_CONDITION_MAX_PRIORITY;
    if (r->has_window &&
        !policy_window_contains(r->window_start, r->window_end, minute_of_day(in, minute)))
        return POLICY_CONDITION_UTC_HOURS;
    return POLICY_CONDITION_NONE;
}

/* Bit of govern_admin_names for name, or 0 if it is not an admin action. */
static uint32_t admin_bit(const char *name)
{
    for (uint32_t i = 0; name && govern_admin_names[i]; i++)
        if (strcmp(name, govern_admin_names[i]) == 0)
            return 1u << i;
    return 0;
}

static policy_decision deny_default(const char *reason)
{
    return (policy_decision){ false, POLICY_DEFAULT_DENY, reason, NULL, POLICY_CONDITION_NONE };
}

static bool admin_selects(const policy_rule *r, uint32_t admin)
{
    return !admin || r->admin_any || (r->admin_bits & admin);
}

static policy_decision decide_bound(const policy *p, const policy_binding *binding,
                                    govern_action action, const policy_conditions_in *in)
{
    static const policy_conditions_in defaults = { 0, KILN_PRIORITY_NORMAL, -1, NULL };
    if (!in)
        in = &defaults;
    if (!binding->principal_ok)
        return deny_default(REASON_BAD_PRINCIPAL);
    if ((unsigned)action >= GOVERN_ACTION_COUNT)
        return deny_default(REASON_NO_RULE);
    uint32_t admin = 0;
    if (action == GOVERN_ACTION_ADMIN && !(admin = admin_bit(in->admin_name)))
        return deny_default(REASON_UNKNOWN_ADMIN);
    uint32_t minute = UINT32_MAX;
    /* Denies first: one that applies decides, whatever the allows say. */
    for (uint32_t w = 0; w < p->mask_words; w++) {
        uint64_t bits = p->action_rules[action][w] & binding->rules[w] & p->deny_rules[w];
        for (; bits; bits &= bits - 1) {
            const policy_rule *r = &p->rules[w * 64 + (uint32_t)__builtin_ctzll(bits)];
            if (admin_selects(r, admin) && failed_condition(r, in, &minute) == POLICY_CONDITION_NONE)
                return (policy_decision){ false, r->name, REASON_DENY, NULL,
                                          POLICY_CONDITION_NONE };
        }
    }
    /* Then the first allow (in file order) that applies. */
    const policy_rule *near = NULL;
    policy_condition near_failed = POLICY_CONDITION_NONE;
    for (uint32_t w = 0; w < p->mask_words; w++) {
        uint64_t bits = p->action_rules[action][w] & binding->rules[w] & ~p->deny_rules[w];
        for (; bits; bits &= bits - 1) {
            const policy_rule *r = &p->rules[w * 64 + (uint32_t)__builtin_ctzll(bits)];
            if (!admin_selects(r, admin))
                continue;
            policy_condition failed = failed_condition(r, in, &minute);
            if (failed == POLICY_CONDITION_NONE)
                return (policy_decision){ true, r->name, REASON_ALLOW, NULL,
                                          POLICY_CONDITION_NONE };
            if (!near) {
                near = r;
                near_failed = failed;
            }
        }
    }
    if (near)
        return (policy_decision){ false, POLICY_DEFAULT_DENY, REASON_CONDITION, near->name,
                                  near_failed };
    return deny_default(REASON_NO_RULE);
}

policy_decision policy_decide(const policy *p, const govern_principal *principal,
                              const govern_device_desc *device, govern_action action,
                              const policy_conditions_in *in)
{
    if (!p)
        return deny_default(REASON_NO_POLICY);
    /* Only the action's rules are bound: the others cannot decide. */
    policy_binding binding;
    bind_rules(p, principal, device,
               (unsigned)action < GOVERN_ACTION_COUNT ? p->action_rules[action] : NULL, &binding);
    return decide_bound(p, &binding, action, in);
}

policy_decision policy_decide_cached(const policy *p, policy_binding *binding,
                                     const govern_principal *principal,
                                     const govern_device_desc *device, govern_action action,
                                     const policy_conditions_in *in)
{
    if (!p)
        return deny_default(REASON_NO_POLICY);
    uint32_t index = device ? device->index : GOVERN_INDEX_UNKNOWN;
    if (binding->generation != p->generation || binding->device_index != index)
        policy_bind(p, principal, device, binding);
    return decide_bound(p, binding, action, in);
}

const char *policy_condition_name(policy_condition c)
{
    switch (c) {
    case POLICY_CONDITION_MAX_ALLOC_BYTES: return "max_alloc_bytes";
    case POLICY_CONDITION_MAX_PRIORITY: return "max_priority";
    case POLICY_CONDITION_UTC_HOURS: return "utc_hours";
    case POLICY_CONDITION_NONE: break;
    }
    return "none";
}

const char *policy_decision_format(const policy_decision *d, char *buf, size_t size)
{
    if (!buf || size == 0)
        return buf;
    if (d->near_rule)
        snprintf(buf, size, "%s by rule '%s': %s (rule '%s': %s does not hold)",
                 d->allow ? "allow" : "deny", d->rule, d->reason, d->near_rule,
                 policy_condition_name(d->failed));
    else
        snprintf(buf, size, "%s by rule '%s': %s", d->allow ? "allow" : "deny", d->rule,
                 d->reason);
    return buf;
}
