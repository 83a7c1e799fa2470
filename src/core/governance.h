/* Governance in the launch path (DESIGN.md sections 3 and 7): the context's
 * policy, quota table and audit log, and the stages pipeline.h calls when
 * they are configured. Without a policy (no kiln_context_options.policy, no
 * $KILN_POLICY) a context has none of this and the stages cost one branch. */
#ifndef KILN_CORE_GOVERNANCE_H
#define KILN_CORE_GOVERNANCE_H

#include <pthread.h>

#include "../govern/audit.h"
#include "../govern/policy.h"
#include "../govern/quota.h"

#define CORE_GOVERN_PATH_MAX 4096

typedef struct core_governance {
    policy_holder *policies;
    /* The quota table of the current policy generation; replaced on reload
     * (accounts carry over). Guarded by lock. */
    quota_table *quotas;
    pthread_mutex_t lock;
    audit_log *audit; /* NULL: no audit log configured */
    /* The local user: the principal of the context's own devices. */
    govern_principal principal;
    char principal_name[GOVERN_NAME_MAX + 1];
    char policy_path[CORE_GOVERN_PATH_MAX];
    char audit_path[CORE_GOVERN_PATH_MAX];
} core_governance;

/* The principal a device acts for: the local user of the context. (Sessions
 * give their devices their own principal; every stage asks through these.) */
struct kiln_device;
const govern_principal *governance_principal_of(const struct kiln_device *dev);
const char *governance_principal_name_of(const struct kiln_device *dev);

/* "cpu:0", "cuda:1": a device as the audit log names where work ran. */
void governance_device_text(const struct kiln_device *dev, char *out, size_t n);

/* The OS user this process runs as, by name ("uid:N" when it has no
 * usable passwd entry): the principal of a context's own work. */
const char *governance_local_user_name(void);

/* Where governance is configured from: the options' fields, else the
 * environment ($KILN_POLICY, $KILN_AUDIT_LOG, $KILN_AUDIT_KEY). */
typedef struct core_governance_config {
    const char *policy;
    const char *audit_log;
    const char *audit_key;
} core_governance_config;

/* *out stays NULL when no policy is configured (governance off). An audit
 * log or key without a policy, an unreadable or invalid policy, or a log
 * that cannot be opened fails: nothing runs unaccounted. */
kiln_status governance_open(const core_governance_config *config, core_governance **out);

/* Writes the closing records and frees g; the status says whether the log
 * reached the disk. NULL is accepted. */
kiln_status governance_close(core_governance *g);

/* Reads path (or the file the policy came from when NULL) and swaps it in;
 * an invalid file keeps the current policy and says why. Recorded. */
kiln_status governance_reload(core_governance *g, const char *path);

#endif
