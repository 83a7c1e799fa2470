/* Device selectors, principal selection and time windows: the string work
 * of a decision, done at bind time (policy_bind) rather than per launch. */
#include "policy_impl.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

/* A decimal index without sign or leading zeros, below GOVERN_INDEX_UNKNOWN. */
static bool index_parse(const char *text, uint32_t *out)
{
    if (text[0] < '0' || text[0] > '9' || (text[0] == '0' && text[1] != '\0'))
        return false;
    uint64_t v = 0;
    for (const char *c = text; *c; c++) {
        if (*c < '0' || *c > '9')
            return false;
        v = v * 10 + (uint64_t)(*c - '0');
        if (v >= GOVERN_INDEX_UNKNOWN)
            return false;
    }
    *out = (uint32_t)v;
    return true;
}

bool policy_selector_parse(const char *text, policy_device_selector *out, const char **why)
{
    memset(out, 0, sizeof *out);
    out->number = GOVERN_INDEX_UNKNOWN;
    if (strcmp(text, "*") == 0) {
        out->kind = POLICY_SELECT_ANY;
        return true;
    }
    const char *colon = strchr(text, ':');
    if (!colon) {
        *why = "a device selector is \"*\", BACKEND:N, BACKEND:*, backend:B, class:C, "
               "name:PATTERN or index:N";
        return false;
    }
    size_t head = (size_t)(colon - text);
    const char *rest = colon + 1;
    if (head == 4 && strncmp(text, "name", head) == 0) {
        if (!*rest) {
            *why = "name: needs a pattern";
            return false;
        }
        out->kind = POLICY_SELECT_NAME;
        out->pattern = strdup(rest);
        if (!out->pattern) {
            *why = "out of memory";
            return false;
        }
        return true;
    }
    if (head == 5 && strncmp(text, "class", head) == 0) {
        for (int c = GOVERN_CLASS_CPU; c <= GOVERN_CLASS_OTHER; c++) {
            if (strcmp(rest, govern_class_name((govern_device_class)c)) == 0) {
                out->kind = POLICY_SELECT_CLASS;
                out->device_class = (govern_device_class)c;
                return true;
            }
        }
        *why = "unknown device class (expected cpu, gpu, accelerator or other)";
        return false;
    }
    if (head == 5 && strncmp(text, "index", head) == 0) {
        out->kind = POLICY_SELECT_INDEX;
        if (index_parse(rest, &out->number))
            return true;
        *why = "index: needs a device index (a decimal number)";
        return false;
    }
    if (head == 7 && strncmp(text, "backend", head) == 0) {
        out->kind = POLICY_SELECT_BACKEND;
        if (govern_backend_parse(rest, strlen(rest), &out->backend))
            return true;
        *why = "unknown backend (expected cpu, cuda, opencl, metal or fault)";
        return false;
    }
    out->kind = POLICY_SELECT_BACKEND;
    if (!govern_backend_parse(text, head, &out->backend)) {
        *why = "unknown selector kind or backend before ':' (expected cpu, cuda, opencl, "
               "metal, fault, backend, class, name or index)";
        return false;
    }
    if (strcmp(rest, "*") == 0 || index_parse(rest, &out->number))
        return true;
    *why = "a backend selector is BACKEND:N or BACKEND:*";
    return false;
}

bool policy_selector_matches(const policy_device_selector *sel, const govern_device_desc *dev)
{
    switch (sel->kind) {
    case POLICY_SELECT_ANY:
        return true;
    case POLICY_SELECT_BACKEND:
        if (dev->backend != sel->backend)
            return false;
        return sel->number == GOVERN_INDEX_UNKNOWN ||
               (dev->backend_index != GOVERN_INDEX_UNKNOWN && dev->backend_index == sel->number);
    case POLICY_SELECT_CLASS:
        return dev->device_class != GOVERN_CLASS_UNKNOWN && dev->device_class == sel->device_class;
    case POLICY_SELECT_NAME:
        /* An unknown name ("") matches no pattern, not even "*": a rule about
         * device names must not apply to a device whose name nobody knows. */
        return dev->name && dev->name[0] && fnmatch(sel->pattern, dev->name, 0) == 0;
    case POLICY_SELECT_INDEX:
        return dev->index != GOVERN_INDEX_UNKNOWN && dev->index == sel->number;
    }
    return false;
}

bool policy_rule_selects_device(const policy_rule *rule, const govern_device_desc *dev)
{
    for (uint32_t i = 0; i < rule->device_count; i++)
        if (policy_selector_matches(&rule->devices[i], dev))
            return true;
    return false;
}

bool policy_rule_selects(const policy_rule *rule, const char *name, const char *const *roles,
                         uint32_t role_count)
{
    if (rule->any_principal)
        return true;
    for (uint32_t i = 0; i < rule->principal_count; i++)
        if (strcmp(rule->principals[i], name) == 0)
            return true;
    for (uint32_t i = 0; i < rule->role_count; i++)
        for (uint32_t j = 0; j < role_count; j++)
            if (strcmp(rule->roles[i], roles[j]) == 0)
                return true;
    return false;
}

/* "HH:MM" with HH 00..24 and MM 00..59; 24:00 only (the end of the day). */
static bool clock_parse(const char *text, size_t length, uint32_t *minutes)
{
    static const size_t CLOCK_CHARS = 5; /* "HH:MM" */
    if (length != CLOCK_CHARS || text[2] != ':')
        return false;
    for (size_t i = 0; i < CLOCK_CHARS; i++)
        if (i != 2 && (text[i] < '0' || text[i] > '9'))
            return false;
    uint32_t h = (uint32_t)(text[0] - '0') * 10 + (uint32_t)(text[1] - '0');
    uint32_t m = (uint32_t)(text[3] - '0') * 10 + (uint32_t)(text[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m != 0))
        return false;
    *minutes = h * 60 + m;
    return true;
}

bool policy_window_parse(const char *text, uint32_t *start, uint32_t *end, const char **why)
{
    const char *dash = strchr(text, '-');
    if (!dash || !clock_parse(text, (size_t)(dash - text), start) ||
        !clock_parse(dash + 1, strlen(dash + 1), end)) {
        *why = "utc_hours is \"HH:MM-HH:MM\" (00:00 to 24:00)";
        return false;
    }
    if (*start == POLICY_MINUTES_PER_DAY) {
        *why = "utc_hours cannot start at 24:00 (use 00:00)";
        return false;
    }
    if (*start == *end) {
        *why = "utc_hours window is empty (start equals end); use 00:00-24:00 for the whole day";
        return false;
    }
    return true;
}

bool policy_window_contains(uint32_t start, uint32_t end, uint32_t minute)
{
    if (start < end)
        return minute >= start && minute < end;
    return minute >= start || minute < end; /* wraps midnight */
}

static bool names_within(char *const *a, uint32_t an, char *const *b, uint32_t bn)
{
    for (uint32_t i = 0; i < an; i++) {
        uint32_t j = 0;
        while (j < bn && strcmp(a[i], b[j]) != 0)
            j++;
        if (j == bn)
            return false;
    }
    return true;
}

static bool same_names(char *const *a, uint32_t an, char *const *b, uint32_t bn)
{
    return names_within(a, an, b, bn) && names_within(b, bn, a, an);
}

static bool same_selector(const policy_device_selector *a, const policy_device_selector *b)
{
    if (a->kind != b->kind || a->backend != b->backend || a->number != b->number ||
        a->device_class != b->device_class)
        return false;
    return a->kind != POLICY_SELECT_NAME || strcmp(a->pattern, b->pattern) == 0;
}

static bool selectors_within(const policy_rule *a, const policy_rule *b)
{
    for (uint32_t i = 0; i < a->device_count; i++) {
        uint32_t j = 0;
        while (j < b->device_count && !same_selector(&a->devices[i], &b->devices[j]))
            j++;
        if (j == b->device_count)
            return false;
    }
    return true;
}

static bool same_conditions(const policy_rule *a, const policy_rule *b)
{
    return a->has_max_bytes == b->has_max_bytes && (!a->has_max_bytes || a->max_bytes == b->max_bytes) &&
           a->has_max_priority == b->has_max_priority &&
           (!a->has_max_priority || a->max_priority == b->max_priority) &&
           a->has_window == b->has_window &&
           (!a->has_window ||
            (a->window_start == b->window_start && a->window_end == b->window_end));
}

static bool same_selectors(const policy_rule *a, const policy_rule *b)
{
    return a->actions == b->actions && a->admin_any == b->admin_any &&
           a->admin_bits == b->admin_bits && a->any_principal == b->any_principal &&
           same_names(a->principals, a->principal_count, b->principals, b->principal_count) &&
           same_names(a->roles, a->role_count, b->roles, b->role_count) &&
           selectors_within(a, b) && selectors_within(b, a) && same_conditions(a, b);
}

kiln_status policy_rules_check_conflict(policy_loader *ld, const yaml_node_t *node,
                                        uint32_t index)
{
    const policy *p = ld->p;
    const policy_rule *rule = &p->rules[index];
    for (uint32_t i = 0; i < index; i++) {
        const policy_rule *other = &p->rules[i];
        if (!same_selectors(rule, other))
            continue;
        if (rule->allow != other->allow) {
            const policy_rule *allow = rule->allow ? rule : other;
            const policy_rule *deny = rule->allow ? other : rule;
            return policy_load_fail(ld, node,
                                    "contradictory rules: '%s' (allow, line %lu) and '%s' (deny, "
                                    "line %lu) select the same requests, so the deny always wins "
                                    "and '%s' never applies",
                                    allow->name, allow->line, deny->name, deny->line,
                                    allow->name);
        }
        if (!policy_load_warn(ld, node, "rule '%s' repeats rule '%s' (line %lu)", rule->name,
                              other->name, other->line))
            return policy_load_fail(ld, node, "out of memory");
    }
    return KILN_OK;
}

uint32_t policy_unmatched_selectors(const policy *p, const govern_device_desc *devices,
                                    uint32_t count, policy_unmatched_fn report, void *arg)
{
    uint32_t unmatched = 0;
    for (uint32_t r = 0; r < p->rule_count; r++) {
        const policy_rule *rule = &p->rules[r];
        for (uint32_t s = 0; s < rule->device_count; s++) {
            uint32_t d = 0;
            while (d < count && !policy_selector_matches(&rule->devices[s], &devices[d]))
                d++;
            if (d < count)
                continue;
            unmatched++;
            if (report)
                report(arg, rule->name, rule->devices[s].text, rule->line);
        }
    }
    return unmatched;
}
