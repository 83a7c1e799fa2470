/* The policy engine: loads a policy file (YAML, docs/security.md "Policy
 * reference") and decides whether a principal may do an action on a device.
 * Default deny; a deny rule that applies beats every allow; each decision
 * names the rule that made it. The same file carries the quota and audit
 * settings, parsed here into plain structs for the quota and audit engines.
 *
 * A loaded policy is immutable and reference-counted; policy_holder swaps
 * one for another atomically while launches keep the one they hold. */
#ifndef KILN_GOVERN_POLICY_H
#define KILN_GOVERN_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kiln/queue.h>

#include "govern_types.h"

typedef struct policy policy;

/* Most rules in one policy; the decision path keeps one bit per rule. */
#define POLICY_RULES_MAX 1024
/* Largest policy file read. */
#define POLICY_FILE_MAX (1u << 20)
/* Bytes of policy_hash (SHA-256). */
#define POLICY_HASH_BYTES 32

/* Load a policy. On failure *out is NULL and the status is KILN_ERR_POLICY
 * with the detail "origin:line:column: what" (origin is the path, or the name
 * given to policy_load_text; line and column count from 1). */
kiln_status policy_load_file(const char *path, policy **out);
kiln_status policy_load_text(const char *text, size_t length, const char *origin, policy **out);

/* Reference counting; release accepts NULL and frees on the last release. */
policy *policy_retain(policy *p);
void policy_release(policy *p);

/* A number no other policy loaded in this process has; bindings carry it. */
uint64_t policy_generation(const policy *p);
/* SHA-256 of the file's bytes, POLICY_HASH_BYTES long, for the audit log. */
const uint8_t *policy_hash(const policy *p);
/* Where it was loaded from (the path or the origin given). */
const char *policy_origin(const policy *p);
/* Number of rules, and a rule's name (NULL past the end). */
uint32_t policy_rule_count(const policy *p);
const char *policy_rule_name(const policy *p, uint32_t index);

/* Things that are legal but probably not meant ("origin:line:col: what"). */
uint32_t policy_warning_count(const policy *p);
const char *policy_warning(const policy *p, uint32_t index);

/* Called for each device selector of each rule that matches none of the
 * devices given (a rule naming a device this machine lacks). */
typedef void (*policy_unmatched_fn)(void *arg, const char *rule, const char *selector,
                                    unsigned long line);

/* A selector naming a device that does not exist is legal (one policy serves
 * machines with different devices) and matches nothing; this lists such
 * selectors against the devices of a context (`kiln policy check
 * --devices`). Returns how many were reported. */
uint32_t policy_unmatched_selectors(const policy *p, const govern_device_desc *devices,
                                    uint32_t count, policy_unmatched_fn report, void *arg);

/* ---- decisions ---- */

/* Facts about the request that rule conditions ("when:") look at. */
typedef struct policy_conditions_in {
    uint64_t bytes;          /* the single allocation asked for; 0 when none */
    kiln_priority priority;  /* the queue priority asked for or used */
    int64_t utc_seconds;     /* seconds since the epoch, UTC; < 0 means now */
    const char *admin_name;  /* for GOVERN_ACTION_ADMIN: "reload", ...; else NULL */
} policy_conditions_in;

/* A condition of a rule ("when:" key); NONE when no condition failed. */
typedef enum policy_condition {
    POLICY_CONDITION_NONE = 0,
    POLICY_CONDITION_MAX_ALLOC_BYTES,
    POLICY_CONDITION_MAX_PRIORITY,
    POLICY_CONDITION_UTC_HOURS
} policy_condition;

typedef struct policy_decision {
    bool allow;
    const char *rule;       /* the deciding rule, or "default-deny"; lives as long as the policy */
    const char *reason;     /* constant text: why */
    const char *near_rule;  /* default deny only: the first allow rule whose selectors matched
                               but whose condition failed; NULL if none */
    policy_condition failed; /* the condition of near_rule that did not hold */
} policy_decision;

/* The name of the rule used when no allow rule applies. */
#define POLICY_DEFAULT_DENY "default-deny"

/* The full evaluation: matches every rule of the action against the
 * principal and device (string compares and fnmatch). For the launch path
 * use policy_decide_cached. in may be NULL (no bytes, normal priority, now).
 * A principal that fails govern_principal_check is denied (rule
 * "default-deny", reason "principal name is not acceptable"). */
policy_decision policy_decide(const policy *p, const govern_principal *principal,
                              const govern_device_desc *device, govern_action action,
                              const policy_conditions_in *in);

/* Words of the rule bit set of a binding. */
#define POLICY_MASK_WORDS (POLICY_RULES_MAX / 64)

/* The rules whose principal and device selectors match one (principal,
 * device) pair under one policy generation: the per-session, per-device
 * cache of the launch path. Zero-initialise it; policy_decide_cached fills it
 * on first use and again whenever the policy or the device index changes.
 * One binding serves one principal: never share it between principals. */
typedef struct policy_binding {
    uint64_t generation; /* 0: empty */
    uint32_t device_index;
    bool principal_ok;   /* false if the principal failed govern_principal_check */
    uint64_t rules[POLICY_MASK_WORDS];
} policy_binding;

/* Fills binding for (principal, device) under p. */
void policy_bind(const policy *p, const govern_principal *principal,
                 const govern_device_desc *device, policy_binding *binding);

/* Same decision as policy_decide; after the first call for a (policy,
 * device) it does no string work: it walks the rules of the action that the
 * binding marks and checks their conditions (tens of nanoseconds). */
policy_decision policy_decide_cached(const policy *p, policy_binding *binding,
                                     const govern_principal *principal,
                                     const govern_device_desc *device, govern_action action,
                                     const policy_conditions_in *in);

/* Writes one line describing the decision ("deny: rule 'x' (deny) matches
 * ...") into buf; returns buf. */
const char *policy_decision_format(const policy_decision *d, char *buf, size_t size);

/* "max_alloc_bytes", "max_priority", "utc_hours", "none". */
const char *policy_condition_name(policy_condition c);

/* ---- quotas and audit settings, for the other engines ---- */

/* A limit that is not set. A limit of 0 is set: it forbids the resource. */
#define POLICY_UNLIMITED UINT64_MAX

typedef struct policy_quota {
    const char *principal;        /* exactly one of principal and role is non-NULL */
    const char *role;
    uint64_t device_memory_bytes; /* bytes live at once, all devices */
    uint64_t live_buffers;
    uint64_t concurrent_launches;
    uint64_t device_time_ms;      /* device time allowed ... */
    uint64_t device_time_window_s; /* ... per this rolling window (0 when device_time_ms unset) */
} policy_quota;

uint32_t policy_quota_count(const policy *p);
const policy_quota *policy_quota_at(const policy *p, uint32_t index);

/* Audit record kinds (bits of per_record and summarize). */
typedef enum policy_audit_event {
    POLICY_AUDIT_DENY = 1u << 0,
    POLICY_AUDIT_SESSION = 1u << 1,
    POLICY_AUDIT_BUILD = 1u << 2,
    POLICY_AUDIT_ALLOC = 1u << 3,
    POLICY_AUDIT_COPY = 1u << 4,
    POLICY_AUDIT_LAUNCH = 1u << 5,
    POLICY_AUDIT_RELOAD = 1u << 6,
    POLICY_AUDIT_FAULT = 1u << 7,
    POLICY_AUDIT_ADMIN = 1u << 8
} policy_audit_event;

/* "deny", "session", ... for one bit; NULL otherwise. */
const char *policy_audit_event_name(policy_audit_event event);

typedef struct policy_audit {
    uint32_t checkpoint_every; /* records between signed checkpoints, >= 1 */
    bool durable;              /* fsync before the operation is acknowledged */
    uint32_t per_record;       /* policy_audit_event bits written one record each */
    uint32_t summarize;        /* bits written as per-second summaries */
} policy_audit;

/* The file's audit settings, or the defaults when it has no audit section. */
const policy_audit *policy_audit_settings(const policy *p);

#define POLICY_AUDIT_CHECKPOINT_DEFAULT 1000u
#define POLICY_AUDIT_PER_RECORD_DEFAULT                                                      \
    (POLICY_AUDIT_DENY | POLICY_AUDIT_SESSION | POLICY_AUDIT_BUILD | POLICY_AUDIT_ALLOC |    \
     POLICY_AUDIT_RELOAD | POLICY_AUDIT_FAULT)
#define POLICY_AUDIT_SUMMARIZE_DEFAULT POLICY_AUDIT_LAUNCH

/* ---- atomic reload ---- */

/* Holds the current policy. Readers acquire a reference (a short mutex hold)
 * and keep it for the work; a reload swaps in a new policy and drops the
 * holder's reference to the old one, which is freed when its last reader
 * releases it. Launch paths check policy_holder_generation (one atomic load)
 * and acquire again only when it changed. */
typedef struct policy_holder policy_holder;

/* initial may be NULL (nothing is allowed until a policy is set); the holder
 * takes the caller's reference to it. */
kiln_status policy_holder_create(policy *initial, policy_holder **out);
void policy_holder_destroy(policy_holder *h);

/* The current policy with a reference the caller releases; NULL if none. */
policy *policy_holder_acquire(policy_holder *h);
/* The generation of the current policy (0 if none). */
uint64_t policy_holder_generation(const policy_holder *h);
/* Makes next current (taking the caller's reference) and releases the old. */
void policy_holder_swap(policy_holder *h, policy *next);
/* Loads path and swaps it in. On any error the current policy stays and the
 * status and detail are those of policy_load_file. */
kiln_status policy_holder_reload_file(policy_holder *h, const char *path);

#endif
