/* The loader's scalar readers (integers, sizes, booleans, key checks) and the
 * two sections other engines consume: quotas and audit. */
#include "policy_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fail.h"

const char *policy_load_scalar(const policy_loader *ld, const yaml_node_t *node,
                               const char *what, kiln_status *st)
{
    if (node->type != YAML_SCALAR_NODE) {
        *st = policy_load_fail(ld, node, "%s must be a single value, not a list or mapping", what);
        return NULL;
    }
    *st = KILN_OK;
    return (const char *)node->data.scalar.value;
}

/* Decimal digits only: no sign, no spaces, no hex (a "-1" quota must not
 * wrap to a huge one). Parses a prefix of length n. */
static bool decimal_parse(const char *text, size_t n, uint64_t *out)
{
    if (n == 0)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        uint64_t digit = (uint64_t)(text[i] - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    *out = v;
    return true;
}

kiln_status policy_load_uint(const policy_loader *ld, const yaml_node_t *node, const char *what,
                             uint64_t *out)
{
    kiln_status st;
    const char *text = policy_load_scalar(ld, node, what, &st);
    if (!text)
        return st;
    if (!decimal_parse(text, strlen(text), out))
        return policy_load_fail(ld, node,
                                "%s must be a whole number from 0 to 18446744073709551615, "
                                "not '%s'", what, text);
    return KILN_OK;
}

typedef struct size_unit {
    const char *suffix;
    unsigned shift;
} size_unit;

static const size_unit size_units[] = {
    { "KiB", 10 }, { "MiB", 20 }, { "GiB", 30 }, { "TiB", 40 },
};

kiln_status policy_load_size(const policy_loader *ld, const yaml_node_t *node, const char *what,
                             uint64_t *out)
{
    kiln_status st;
    const char *text = policy_load_scalar(ld, node, what, &st);
    if (!text)
        return st;
    size_t digits = strspn(text, "0123456789");
    const char *unit = text + digits;
    while (*unit == ' ')
        unit++;
    uint64_t v;
    if (!decimal_parse(text, digits, &v))
        return policy_load_fail(ld, node, "%s must be a size such as 1048576 or 8GiB, not '%s'",
                                what, text);
    unsigned shift = 0;
    if (*unit) {
        size_t i = 0, n = sizeof size_units / sizeof size_units[0];
        while (i < n && strcmp(unit, size_units[i].suffix) != 0)
            i++;
        if (i == n)
            return policy_load_fail(ld, node,
                                    "%s: unknown size unit '%s' (use KiB, MiB, GiB or TiB)",
                                    what, unit);
        shift = size_units[i].shift;
    }
    if (shift && v > (UINT64_MAX >> shift))
        return policy_load_fail(ld, node, "%s: '%s' is too large", what, text);
    *out = v << shift;
    return KILN_OK;
}

kiln_status policy_load_bool(const policy_loader *ld, const yaml_node_t *node, const char *what,
                             bool *out)
{
    kiln_status st;
    const char *text = policy_load_scalar(ld, node, what, &st);
    if (!text)
        return st;
    /* YAML 1.2 core schema only: "yes"/"on" are YAML 1.1 and read wrongly
     * by other tools, so they are refused rather than guessed. */
    if (strcmp(text, "true") == 0) {
        *out = true;
        return KILN_OK;
    }
    if (strcmp(text, "false") == 0) {
        *out = false;
        return KILN_OK;
    }
    return policy_load_fail(ld, node, "%s must be true or false, not '%s'", what, text);
}

kiln_status policy_load_keys(const policy_loader *ld, const yaml_node_t *map, const char *what,
                             const char *const *known)
{
    if (map->type != YAML_MAPPING_NODE)
        return policy_load_fail(ld, map, "%s must be a mapping (key: value lines)", what);
    yaml_document_t *doc = (yaml_document_t *)&ld->doc;
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top; pair++) {
        yaml_node_t *key = yaml_document_get_node(doc, pair->key);
        kiln_status st;
        const char *name = policy_load_scalar(ld, key, "a key", &st);
        if (!name)
            return st;
        size_t i = 0;
        while (known[i] && strcmp(known[i], name) != 0)
            i++;
        if (!known[i]) {
            char list[256] = "";
            for (size_t k = 0; known[k]; k++) {
                size_t used = strlen(list);
                snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "", known[k]);
            }
            return policy_load_fail(ld, key, "unknown key '%s' in %s (expected %s)", name, what,
                                    list);
        }
        /* libyaml keeps repeated keys; a second value must not override the first silently. */
        for (yaml_node_pair_t *prev = map->data.mapping.pairs.start; prev < pair; prev++) {
            yaml_node_t *pk = yaml_document_get_node(doc, prev->key);
            if (pk->type == YAML_SCALAR_NODE && strcmp((const char *)pk->data.scalar.value, name) == 0)
                return policy_load_fail(ld, key, "key '%s' repeats in %s (first at line %lu)",
                                        name, what, (unsigned long)pk->start_mark.line + 1);
        }
    }
    return KILN_OK;
}

static yaml_node_t *pair_value(const policy_loader *ld, const yaml_node_pair_t *pair,
                               const char **key)
{
    yaml_document_t *doc = (yaml_document_t *)&ld->doc;
    *key = (const char *)yaml_document_get_node(doc, pair->key)->data.scalar.value;
    return yaml_document_get_node(doc, pair->value);
}

static kiln_status load_device_time(const policy_loader *ld, const yaml_node_t *node,
                                    policy_quota *q)
{
    static const char *const keys[] = { "ms", "per_s", NULL };
    kiln_status st = policy_load_keys(ld, node, "device_time", keys);
    if (st != KILN_OK)
        return st;
    bool has_ms = false, has_per = false;
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
         pair < node->data.mapping.pairs.top && st == KILN_OK; pair++) {
        const char *key;
        yaml_node_t *value = pair_value(ld, pair, &key);
        if (strcmp(key, "ms") == 0) {
            st = policy_load_uint(ld, value, "device_time.ms", &q->device_time_ms);
            has_ms = true;
        } else {
            st = policy_load_uint(ld, value, "device_time.per_s", &q->device_time_window_s);
            has_per = true;
            if (st == KILN_OK && q->device_time_window_s == 0)
                return policy_load_fail(ld, value, "device_time.per_s must be at least 1 second");
        }
    }
    if (st == KILN_OK && (!has_ms || !has_per))
        return policy_load_fail(ld, node, "device_time needs both ms and per_s");
    return st;
}

static kiln_status load_quota_key(policy_loader *ld, const char *key, yaml_node_t *value,
                                  policy_quota *q)
{
    kiln_status st;
    if (strcmp(key, "principal") == 0 || strcmp(key, "role") == 0) {
        const char *name = policy_load_scalar(ld, value, key, &st);
        if (!name)
            return st;
        if (govern_name_check(name) != KILN_OK)
            return policy_load_fail(ld, value, "%s: %s", key, util_last_error());
        char *copy = strdup(name);
        if (!copy)
            return policy_load_fail(ld, value, "out of memory");
        if (key[0] == 'p')
            q->principal = copy;
        else
            q->role = copy;
        return KILN_OK;
    }
    if (strcmp(key, "device_memory_bytes") == 0)
        return policy_load_size(ld, value, key, &q->device_memory_bytes);
    if (strcmp(key, "live_buffers") == 0)
        return policy_load_uint(ld, value, key, &q->live_buffers);
    if (strcmp(key, "concurrent_launches") == 0)
        return policy_load_uint(ld, value, key, &q->concurrent_launches);
    return load_device_time(ld, value, q);
}

static bool quota_same_subject(const policy_quota *a, const policy_quota *b)
{
    if (a->principal && b->principal)
        return strcmp(a->principal, b->principal) == 0;
    if (a->role && b->role)
        return strcmp(a->role, b->role) == 0;
    return false;
}

static kiln_status load_quota(policy_loader *ld, const yaml_node_t *node, policy_quota *q)
{
    static const char *const keys[] = { "principal", "role", "device_memory_bytes",
                                        "live_buffers", "concurrent_launches", "device_time",
                                        NULL };
    kiln_status st = policy_load_keys(ld, node, "a quota", keys);
    if (st != KILN_OK)
        return st;
    q->device_memory_bytes = q->live_buffers = q->concurrent_launches = POLICY_UNLIMITED;
    q->device_time_ms = POLICY_UNLIMITED;
    q->device_time_window_s = 0;
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
         pair < node->data.mapping.pairs.top; pair++) {
        const char *key;
        yaml_node_t *value = pair_value(ld, pair, &key);
        st = load_quota_key(ld, key, value, q);
        if (st != KILN_OK)
            return st;
    }
    if ((q->principal != NULL) == (q->role != NULL))
        return policy_load_fail(ld, node, "a quota names exactly one of principal or role");
    if (q->device_memory_bytes == POLICY_UNLIMITED && q->live_buffers == POLICY_UNLIMITED &&
        q->concurrent_launches == POLICY_UNLIMITED && q->device_time_ms == POLICY_UNLIMITED)
        return policy_load_fail(ld, node, "a quota sets no limit");
    return KILN_OK;
}

kiln_status policy_load_quotas(policy_loader *ld, const yaml_node_t *node)
{
    if (node->type != YAML_SEQUENCE_NODE)
        return policy_load_fail(ld, node, "quotas must be a list");
    size_t n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    policy *p = ld->p;
    p->quotas = calloc(n ? n : 1, sizeof *p->quotas);
    if (!p->quotas)
        return policy_load_fail(ld, node, "out of memory");
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = yaml_document_get_node(&ld->doc, node->data.sequence.items.start[i]);
        policy_quota *q = &p->quotas[p->quota_count++];
        kiln_status st = load_quota(ld, item, q);
        if (st != KILN_OK)
            return st;
        for (uint32_t j = 0; j + 1 < p->quota_count; j++)
            if (quota_same_subject(&p->quotas[j], q))
                return policy_load_fail(ld, item, "a second quota for %s '%s' (one per subject)",
                                        q->principal ? "principal" : "role",
                                        q->principal ? q->principal : q->role);
    }
    return KILN_OK;
}

static const char *const audit_event_names[] = { "deny", "session", "build", "alloc", "copy",
                                                 "launch", "reload", "fault", "admin", NULL };

const char *policy_audit_event_name(policy_audit_event event)
{
    for (unsigned i = 0; audit_event_names[i]; i++)
        if ((unsigned)event == (1u << i))
            return audit_event_names[i];
    return NULL;
}

static kiln_status load_event_list(const policy_loader *ld, const yaml_node_t *node,
                                   const char *what, uint32_t *out)
{
    if (node->type != YAML_SEQUENCE_NODE)
        return policy_load_fail(ld, node, "%s must be a list", what);
    *out = 0;
    for (yaml_node_item_t *it = node->data.sequence.items.start; it < node->data.sequence.items.top;
         it++) {
        yaml_node_t *item = yaml_document_get_node((yaml_document_t *)&ld->doc, *it);
        kiln_status st;
        const char *name = policy_load_scalar(ld, item, what, &st);
        if (!name)
            return st;
        unsigned i = 0;
        while (audit_event_names[i] && strcmp(audit_event_names[i], name) != 0)
            i++;
        if (!audit_event_names[i])
            return policy_load_fail(ld, item,
                                    "unknown audit event '%s' (expected deny, session, build, "
                                    "alloc, copy, launch, reload, fault or admin)", name);
        *out |= 1u << i;
    }
    return KILN_OK;
}

kiln_status policy_load_audit(policy_loader *ld, const yaml_node_t *node)
{
    static const char *const keys[] = { "checkpoint_every", "durable", "per_record", "summarize",
                                        NULL };
    kiln_status st = policy_load_keys(ld, node, "audit", keys);
    if (st != KILN_OK)
        return st;
    policy_audit *a = &ld->p->audit;
    bool has_per_record = false, has_summarize = false;
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
         pair < node->data.mapping.pairs.top && st == KILN_OK; pair++) {
        const char *key;
        yaml_node_t *value = pair_value(ld, pair, &key);
        if (strcmp(key, "checkpoint_every") == 0) {
            uint64_t v = 0;
            st = policy_load_uint(ld, value, key, &v);
            if (st == KILN_OK && (v == 0 || v > UINT32_MAX))
                return policy_load_fail(ld, value, "checkpoint_every must be 1 to %u records",
                                        (unsigned)UINT32_MAX);
            a->checkpoint_every = (uint32_t)v;
        } else if (strcmp(key, "durable") == 0) {
            st = policy_load_bool(ld, value, key, &a->durable);
        } else if (strcmp(key, "per_record") == 0) {
            st = load_event_list(ld, value, key, &a->per_record);
            has_per_record = true;
        } else {
            st = load_event_list(ld, value, key, &a->summarize);
            has_summarize = true;
        }
    }
    /* An event named in one list leaves the other list's default. */
    if (!has_summarize)
        a->summarize &= ~a->per_record;
    if (!has_per_record)
        a->per_record &= ~a->summarize;
    uint32_t both = a->per_record & a->summarize;
    if (st == KILN_OK && both)
        return policy_load_fail(ld, node,
                                "audit event '%s' is both per_record and summarize",
                                policy_audit_event_name((policy_audit_event)(both & (~both + 1u))));
    return st;
}
