/* The inside of a loaded policy, shared by the loader (policy_load*.c), the
 * matcher (policy_match.c) and the decision path (policy_decide.c). Nothing
 * outside src/govern/policy_* includes this. */
#ifndef KILN_GOVERN_POLICY_IMPL_H
#define KILN_GOVERN_POLICY_IMPL_H

#include <stdatomic.h>

#include <yaml.h>

#include "policy.h"
#include "util/fail.h"

typedef enum policy_selector_kind {
    POLICY_SELECT_ANY,     /* "*" */
    POLICY_SELECT_BACKEND, /* "cuda:*", "opencl:1", "backend:cpu" */
    POLICY_SELECT_CLASS,   /* "class:gpu" */
    POLICY_SELECT_NAME,    /* "name:NVIDIA H*" (fnmatch pattern) */
    POLICY_SELECT_INDEX    /* "index:0" (index in the context) */
} policy_selector_kind;

typedef struct policy_device_selector {
    policy_selector_kind kind;
    kiln_backend backend;
    uint32_t number; /* backend index, context index, or GOVERN_INDEX_UNKNOWN for any */
    govern_device_class device_class;
    char *pattern;   /* POLICY_SELECT_NAME only */
    char *text;      /* as written, for policy_unmatched_selectors */
} policy_device_selector;

/* Minutes in a day; utc_hours windows are kept in minutes. */
#define POLICY_MINUTES_PER_DAY (24u * 60u)

typedef struct policy_rule {
    char *name;
    bool allow;
    bool any_principal; /* principals: ["*"] */
    char **principals;
    uint32_t principal_count;
    char **roles;
    uint32_t role_count;
    policy_device_selector *devices;
    uint32_t device_count;
    uint32_t actions;     /* bit (1 << govern_action) per action named */
    bool admin_any;       /* "admin.*" */
    uint32_t admin_bits;  /* bit i: govern_admin_names[i] */
    bool has_max_bytes;
    uint64_t max_bytes;
    bool has_max_priority;
    kiln_priority max_priority;
    bool has_window;
    uint32_t window_start; /* minutes, inclusive */
    uint32_t window_end;   /* minutes, exclusive; < start: wraps midnight */
    unsigned long line, column;
} policy_rule;

typedef struct policy_role {
    char *name;
    char **members;
    uint32_t member_count;
} policy_role;

struct policy {
    atomic_uint refs;
    uint64_t generation;
    char *origin;
    uint8_t hash[POLICY_HASH_BYTES];
    policy_rule *rules;
    uint32_t rule_count;
    policy_role *roles;
    uint32_t role_count;
    policy_quota *quotas;
    uint32_t quota_count;
    policy_audit audit;
    char **warnings;
    uint32_t warning_count;
    uint32_t mask_words; /* words of the rule bit sets in use */
    /* Bit i of action_rules[a]: rule i names action a. Built at load so a
     * decision looks only at the rules of its action. */
    uint64_t action_rules[GOVERN_ACTION_COUNT][POLICY_MASK_WORDS];
    /* Bit i: rule i denies. A decision checks denies first, then stops at
     * the first allow that applies. */
    uint64_t deny_rules[POLICY_MASK_WORDS];
};

/* ---- loader internals (policy_load.c, policy_load_sections.c) ---- */

/* Buffers for "origin:line:col" and for one message. */
#define POLICY_ORIGIN_TEXT 512
#define POLICY_MESSAGE_TEXT 512

/* Most list entries (names, selectors, actions) in one policy. YAML aliases
 * let a short file name one long list from every rule; this bounds what
 * such a file can make the loader allocate. */
#define POLICY_ENTRIES_MAX 65536u

typedef struct policy_loader {
    yaml_document_t doc;
    const char *origin;
    policy *p;
    uint32_t entries; /* list entries read so far */
} policy_loader;

/* Sets the detail "origin:line:col: what" at node and returns KILN_ERR_POLICY. */
kiln_status policy_load_fail(const policy_loader *ld, const yaml_node_t *node, const char *fmt,
                             ...) UTIL_PRINTF(3, 4);
/* Adds a warning "origin:line:col: what"; false when out of memory. */
bool policy_load_warn(policy_loader *ld, const yaml_node_t *node, const char *fmt, ...)
    UTIL_PRINTF(3, 4);

/* The scalar text of node, or NULL (after failing) if it is not a scalar. */
const char *policy_load_scalar(const policy_loader *ld, const yaml_node_t *node,
                               const char *what, kiln_status *st);
kiln_status policy_load_uint(const policy_loader *ld, const yaml_node_t *node, const char *what,
                             uint64_t *out);
kiln_status policy_load_size(const policy_loader *ld, const yaml_node_t *node, const char *what,
                             uint64_t *out);
kiln_status policy_load_bool(const policy_loader *ld, const yaml_node_t *node, const char *what,
                             bool *out);

/* Checks that every key of a mapping is a known one and none repeats. */
kiln_status policy_load_keys(const policy_loader *ld, const yaml_node_t *map, const char *what,
                             const char *const *known);

/* Checks rule index against the rules before it: an allow and a deny with
 * identical selectors and conditions are an error (the allow could never
 * apply); two identical rules with the same effect are a warning. */
kiln_status policy_rules_check_conflict(policy_loader *ld, const yaml_node_t *node,
                                        uint32_t index);

kiln_status policy_load_quotas(policy_loader *ld, const yaml_node_t *node);
kiln_status policy_load_audit(policy_loader *ld, const yaml_node_t *node);

/* ---- matching (policy_match.c) ---- */

/* Parses a device selector; on error returns false with *why set to a
 * constant explanation. */
bool policy_selector_parse(const char *text, policy_device_selector *out, const char **why);
bool policy_selector_matches(const policy_device_selector *sel, const govern_device_desc *dev);
/* Whether the rule's principals/roles select the principal; roles are the
 * principal's effective roles (its own and the policy's). */
bool policy_rule_selects(const policy_rule *rule, const char *name, const char *const *roles,
                         uint32_t role_count);
bool policy_rule_selects_device(const policy_rule *rule, const govern_device_desc *dev);
/* Parses "HH:MM-HH:MM" into minutes; false with *why on error. */
bool policy_window_parse(const char *text, uint32_t *start, uint32_t *end, const char **why);
bool policy_window_contains(uint32_t start, uint32_t end, uint32_t minute);

void policy_free(policy *p);

#endif
