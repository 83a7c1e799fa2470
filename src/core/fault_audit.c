/* Fault, readmission and fallback records, after governance_stages.c's
 * stage_append: the policy in force decides, the device names the principal. */
#include "fault_audit.h"

kiln_status fault_audit_record(const core_fault_record *r)
{
    core_governance *g = r->device->ctx->gov;
    if (!g || !g->audit)
        return KILN_OK;
    policy *p = policy_holder_acquire(g->policies);
    kiln_status st = KILN_OK;
    if (audit_mode_for(policy_audit_settings(p), POLICY_AUDIT_FAULT, false) == AUDIT_MODE_RECORD) {
        char where[64];
        governance_device_text(r->device, where, sizeof where);
        audit_event e = { .principal = governance_principal_name_of(r->device),
                          .action = r->action, .device = (int64_t)r->device->index,
                          .allowed = true, .rule = "", .reason = r->reason ? r->reason : "",
                          .outcome = r->outcome, .ran_on = r->ran_on ? r->ran_on : where,
                          .policy_hash = policy_hash(p) };
        st = audit_log_append(g->audit, &e);
    }
    policy_release(p);
    return st;
}
