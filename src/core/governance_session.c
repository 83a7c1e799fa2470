/* Governing sessions (session.h): opening one is the action `session.open`
 * of the local user, who names another principal; the open and the close
 * are recorded naming the session's principal. */
#include <stdio.h>

#include "../util/fail.h"
#include "session.h"

/* Room for a decision or a record's reason in text. */
#define SESSION_TEXT_MAX 512

/* Opening a session concerns no device: only a rule for every device
 * ("*") selects it, as `kiln policy explain` describes an unknown one. */
static const govern_device_desc session_no_device = {
    GOVERN_INDEX_UNKNOWN, (kiln_backend)0, GOVERN_INDEX_UNKNOWN, "", GOVERN_CLASS_UNKNOWN
};

static kiln_status session_append(core_governance *g, const policy *p, const kiln_session *s,
                                  const char *action, const policy_decision *d,
                                  const char *reason, kiln_status outcome)
{
    audit_event e = { .principal = s->name, .action = action, .device = -1,
                      .allowed = d ? d->allow : true, .rule = d ? d->rule : "",
                      .reason = reason, .outcome = outcome, .ran_on = "",
                      .policy_hash = policy_hash(p) };
    return audit_log_append(g->audit, &e);
}

kiln_status governance_session_open(core_governance *g, const kiln_session *s)
{
    policy *p = policy_holder_acquire(g->policies);
    policy_decision d = policy_decide(p, &g->principal, &session_no_device,
                                      GOVERN_ACTION_SESSION_OPEN, NULL);
    kiln_status st = KILN_OK;
    if (d.allow && g->audit && audit_log_failed(g->audit))
        st = util_fail(KILN_ERR_AUDIT, "the audit log %.200s has failed: session.open refused",
                       g->audit_path);
    char reason[SESSION_TEXT_MAX];
    snprintf(reason, sizeof reason, "session %llu for '%.200s', opened by the local user '%.200s': %s",
             (unsigned long long)s->id, s->name, g->principal_name, d.reason);
    if (st == KILN_OK && g->audit &&
        audit_mode_for(policy_audit_settings(p), POLICY_AUDIT_SESSION, !d.allow) == AUDIT_MODE_RECORD)
        st = session_append(g, p, s, govern_action_name(GOVERN_ACTION_SESSION_OPEN), &d, reason,
                            d.allow ? KILN_OK : KILN_ERR_DENIED);
    char decision[SESSION_TEXT_MAX];
    policy_decision_format(&d, decision, sizeof decision);
    policy_release(p);
    if (st != KILN_OK || d.allow)
        return st;
    return util_fail(KILN_ERR_DENIED,
                     "session.open denied to the local user '%.200s' (a session for '%.200s'): %s",
                     g->principal_name, s->name, decision);
}

kiln_status governance_session_close(core_governance *g, const kiln_session *s, const char *why)
{
    if (!g->audit)
        return KILN_OK;
    policy *p = policy_holder_acquire(g->policies);
    kiln_status st = KILN_OK;
    if (audit_mode_for(policy_audit_settings(p), POLICY_AUDIT_SESSION, false) == AUDIT_MODE_RECORD) {
        char reason[SESSION_TEXT_MAX];
        snprintf(reason, sizeof reason, "session %llu %s", (unsigned long long)s->id, why);
        st = session_append(g, p, s, "session.close", NULL, reason, KILN_OK);
    }
    policy_release(p);
    return st;
}
