/* Turning governance on for a context: the policy, its quota table, the
 * audit log and the local user's principal; reloads. The per-operation
 * stages are in governance_stages.c. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/fail.h"
#include "governance.h"

#define GOVERN_NS_PER_MS 1000000ull
#define GOVERN_NS_PER_S 1000000000ull
/* getpwuid_r's buffer; the passwd entry's strings live in it. */
#define GOVERN_PASSWD_BUFFER 4096

/* Looked up once per process: the lookup loads NSS modules, which glibc
 * keeps for the life of the process. */
static char governance_user[GOVERN_NAME_MAX + 1];
static pthread_once_t governance_user_once = PTHREAD_ONCE_INIT;

static void governance_find_user(void)
{
    struct passwd entry, *found = NULL;
    char buffer[GOVERN_PASSWD_BUFFER];
    uid_t uid = geteuid();
    if (getpwuid_r(uid, &entry, buffer, sizeof buffer, &found) == 0 && found &&
        govern_name_check(found->pw_name) == KILN_OK)
        snprintf(governance_user, sizeof governance_user, "%s", found->pw_name);
    else
        snprintf(governance_user, sizeof governance_user, "uid:%u", (unsigned)uid);
}

const char *governance_local_user_name(void)
{
    pthread_once(&governance_user_once, governance_find_user);
    return governance_user;
}

static void governance_local_user(core_governance *g)
{
    snprintf(g->principal_name, sizeof g->principal_name, "%s", governance_local_user_name());
    g->principal.name = g->principal_name;
    g->principal.role_count = 0;
}

static uint64_t governance_ms_to_ns(uint64_t ms)
{
    return ms >= (UINT64_MAX - 1) / GOVERN_NS_PER_MS ? UINT64_MAX - 1 : ms * GOVERN_NS_PER_MS;
}

/* The quota table of policy p; previous (may be NULL) keeps usage. */
static kiln_status governance_quota_table(const policy *p, const quota_table *previous,
                                          quota_table **out)
{
    uint32_t n = policy_quota_count(p);
    quota_limit_entry *entries = calloc(n ? n : 1, sizeof *entries);
    if (!entries)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "no memory for %u quota entries", n);
    for (uint32_t i = 0; i < n; i++) {
        const policy_quota *q = policy_quota_at(p, i);
        quota_limit_entry *e = &entries[i];
        e->kind = q->principal ? QUOTA_SUBJECT_PRINCIPAL : QUOTA_SUBJECT_ROLE;
        e->name = q->principal ? q->principal : q->role;
        e->limits.device_memory_bytes = q->device_memory_bytes;
        e->limits.live_buffers = q->live_buffers;
        e->limits.concurrent_launches = q->concurrent_launches;
        if (q->device_time_ms == POLICY_UNLIMITED) {
            e->limits.device_time_ns = QUOTA_UNLIMITED;
            e->limits.window_ns = 0;
        } else {
            e->limits.device_time_ns = governance_ms_to_ns(q->device_time_ms);
            e->limits.window_ns = q->device_time_window_s * GOVERN_NS_PER_S;
        }
    }
    kiln_status st = quota_table_create(entries, n, previous, NULL, out);
    free(entries);
    return st;
}

/* A record of a governance event that is not an operation on a device. */
static kiln_status governance_note(core_governance *g, const char *action, const char *reason,
                                   kiln_status outcome, policy_audit_event kind)
{
    if (!g->audit)
        return KILN_OK;
    policy *p = policy_holder_acquire(g->policies);
    kiln_status st = KILN_OK;
    if (audit_mode_for(policy_audit_settings(p), kind, false) == AUDIT_MODE_RECORD) {
        audit_event e = { .principal = g->principal_name, .action = action, .device = -1,
                          .allowed = outcome == KILN_OK, .rule = "", .reason = reason,
                          .outcome = outcome, .ran_on = "", .policy_hash = policy_hash(p) };
        st = audit_log_append(g->audit, &e);
    }
    policy_release(p);
    return st;
}

/* A configured value: set and not empty. */
static bool governance_given(const char *value)
{
    return value && value[0];
}

static kiln_status governance_open_audit(core_governance *g, const core_governance_config *c,
                                         const policy *p)
{
    if (!governance_given(c->audit_log))
        return KILN_OK;
    snprintf(g->audit_path, sizeof g->audit_path, "%s", c->audit_log);
    audit_secret_key key;
    bool have_key = governance_given(c->audit_key);
    kiln_status st = have_key ? audit_key_load_secret(c->audit_key, &key) : KILN_OK;
    if (st != KILN_OK)
        return st;
    audit_options o = { .path = g->audit_path, .key = have_key ? &key : NULL };
    audit_options_from_policy(&o, policy_audit_settings(p));
    st = audit_log_open(&o, &g->audit);
    if (have_key)
        audit_key_wipe(&key);
    return st;
}

static kiln_status governance_check_config(const core_governance_config *c)
{
    if (!governance_given(c->policy) && governance_given(c->audit_log))
        return util_fail(KILN_ERR_POLICY, "an audit log (%.200s) is set but no policy "
                         "(kiln_context_options.policy or KILN_POLICY): governance needs both",
                         c->audit_log);
    if (governance_given(c->audit_key) && !governance_given(c->audit_log))
        return util_fail(KILN_ERR_AUDIT, "an audit key (%.200s) is set but no audit log "
                         "(kiln_context_options.audit_log or KILN_AUDIT_LOG)", c->audit_key);
    return KILN_OK;
}

kiln_status governance_open(const core_governance_config *config, core_governance **out)
{
    *out = NULL;
    kiln_status st = governance_check_config(config);
    if (st != KILN_OK || !governance_given(config->policy))
        return st;
    policy *p = NULL;
    if ((st = policy_load_file(config->policy, &p)) != KILN_OK)
        return st;
    core_governance *g = calloc(1, sizeof *g);
    if (!g) {
        policy_release(p);
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "no memory for governance");
    }
    pthread_mutex_init(&g->lock, NULL);
    snprintf(g->policy_path, sizeof g->policy_path, "%s", config->policy);
    governance_local_user(g);
    st = governance_quota_table(p, NULL, &g->quotas);
    if (st == KILN_OK)
        st = governance_open_audit(g, config, p);
    if (st == KILN_OK)
        st = policy_holder_create(p, &g->policies);
    if (!g->policies)
        policy_release(p); /* no holder took it: an earlier step or the holder failed */
    if (st == KILN_OK)
        st = governance_note(g, "session.open", "the context opened", KILN_OK,
                             POLICY_AUDIT_SESSION);
    if (st != KILN_OK) {
        char detail[1024];
        snprintf(detail, sizeof detail, "%s", util_last_error());
        governance_close(g);
        return util_fail_text(st, detail);
    }
    *out = g;
    return KILN_OK;
}

kiln_status governance_close(core_governance *g)
{
    if (!g)
        return KILN_OK;
    kiln_status st = KILN_OK;
    if (g->policies)
        st = governance_note(g, "session.close", "the context closed", KILN_OK,
                             POLICY_AUDIT_SESSION);
    kiln_status closed = audit_log_close(g->audit);
    if (st == KILN_OK)
        st = closed;
    quota_table_release(g->quotas);
    policy_holder_destroy(g->policies);
    pthread_mutex_destroy(&g->lock);
    free(g);
    return st;
}

kiln_status governance_reload(core_governance *g, const char *path)
{
    const char *file = path ? path : g->policy_path;
    policy *next = NULL;
    kiln_status st = policy_load_file(file, &next);
    if (st != KILN_OK) {
        char detail[1024];
        snprintf(detail, sizeof detail, "%s", util_last_error());
        /* The failed reload is recorded too; the old policy stays. */
        kiln_status noted = governance_note(g, "admin.reload", detail, st, POLICY_AUDIT_RELOAD);
        return util_fail_text(noted == KILN_OK ? st : noted, detail);
    }
    quota_table *quotas = NULL;
    pthread_mutex_lock(&g->lock);
    st = governance_quota_table(next, g->quotas, &quotas);
    if (st == KILN_OK) {
        quota_table_release(g->quotas);
        g->quotas = quotas;
        policy_holder_swap(g->policies, next);
        if (path)
            snprintf(g->policy_path, sizeof g->policy_path, "%s", path);
    }
    pthread_mutex_unlock(&g->lock);
    if (st != KILN_OK) {
        policy_release(next);
        return st;
    }
    return governance_note(g, "admin.reload", "the policy was reloaded", KILN_OK,
                           POLICY_AUDIT_RELOAD);
}
