/* The governance stages of the launch path (pipeline.h), for a context with
 * a policy: authorize asks the policy (the device's cached binding of the
 * rules that select it), reserve charges the quota table, record writes the
 * audit log as the policy's audit settings say. */
#include <stdio.h>
#include <string.h>

#include "../util/fail.h"
#include "pipeline.h"
#include "session.h"

/* Longest formatted decision in a refusal's detail. */
#define GOVERN_DECISION_TEXT 512

static govern_action stage_action(core_action action)
{
    switch (action) {
    case CORE_ACTION_DEVICE_USE: return GOVERN_ACTION_DEVICE_USE;
    case CORE_ACTION_PROGRAM_BUILD: return GOVERN_ACTION_PROGRAM_BUILD;
    case CORE_ACTION_BUFFER_ALLOC: return GOVERN_ACTION_BUFFER_ALLOC;
    case CORE_ACTION_BUFFER_COPY: return GOVERN_ACTION_BUFFER_COPY;
    case CORE_ACTION_KERNEL_LAUNCH: return GOVERN_ACTION_KERNEL_LAUNCH;
    case CORE_ACTION_QUEUE_PRIORITY: return GOVERN_ACTION_QUEUE_PRIORITY;
    }
    return GOVERN_ACTION_COUNT;
}

static policy_audit_event stage_event(core_action action)
{
    switch (action) {
    case CORE_ACTION_PROGRAM_BUILD: return POLICY_AUDIT_BUILD;
    case CORE_ACTION_BUFFER_ALLOC: return POLICY_AUDIT_ALLOC;
    case CORE_ACTION_BUFFER_COPY: return POLICY_AUDIT_COPY;
    case CORE_ACTION_KERNEL_LAUNCH: return POLICY_AUDIT_LAUNCH;
    case CORE_ACTION_DEVICE_USE:
    case CORE_ACTION_QUEUE_PRIORITY: break;
    }
    return POLICY_AUDIT_SESSION; /* using a device, choosing a priority: the session's */
}

const govern_principal *governance_principal_of(const kiln_device *dev)
{
    return dev->session ? &dev->session->principal : &dev->ctx->gov->principal;
}

const char *governance_principal_name_of(const kiln_device *dev)
{
    return dev->session ? dev->session->name : dev->ctx->gov->principal_name;
}

void governance_device_text(const kiln_device *dev, char *out, size_t n)
{
    snprintf(out, n, "%s:%u", dev->ops->name, dev->info.backend_index);
}

/* The device's description for the rules; filled once. */
static void stage_describe(kiln_device *dev)
{
    govern_device_desc *d = &dev->policy.desc;
    d->index = dev->index;
    d->backend = dev->info.backend;
    d->backend_index = dev->info.backend_index;
    d->name = dev->info.name;
    d->device_class = govern_class_of_kind(dev->info.kind);
}

/* Decides under the current policy, rebinding the device's rule set when
 * the policy changed; returns the policy used, with a reference. */
static policy *stage_decide(core_governance *g, kiln_device *dev, const core_request *req,
                            policy_decision *d)
{
    core_device_policy *dp = &dev->policy;
    policy_conditions_in in = { .bytes = req->action == CORE_ACTION_BUFFER_ALLOC ? req->bytes : 0,
                                .priority = req->priority, .utc_seconds = -1 };
    pthread_mutex_lock(&dp->lock);
    if (!dp->current || policy_generation(dp->current) != policy_holder_generation(g->policies)) {
        policy_release(dp->current);
        dp->current = policy_holder_acquire(g->policies);
        if (!dp->desc.name)
            stage_describe(dev);
    }
    *d = policy_decide_cached(dp->current, &dp->binding, governance_principal_of(dev), &dp->desc,
                              stage_action(req->action), &in);
    policy *used = policy_retain(dp->current);
    pthread_mutex_unlock(&dp->lock);
    return used;
}

static kiln_status stage_append(core_governance *g, const core_request *req, policy *p,
                                bool allowed, const char *rule, const char *reason,
                                kiln_status outcome)
{
    char where[64];
    governance_device_text(req->device, where, sizeof where);
    audit_event e = { .principal = governance_principal_name_of(req->device),
                      .action = govern_action_name(stage_action(req->action)),
                      .device = (int64_t)req->device->index, .bytes = req->bytes,
                      .kernel = req->kernel_name, .allowed = allowed, .rule = rule,
                      .reason = reason, .outcome = outcome, .ran_on = where,
                      .policy_hash = policy_hash(p) };
    return audit_log_append(g->audit, &e);
}

kiln_status governance_authorize(core_request *req)
{
    core_governance *g = req->device->ctx->gov;
    policy_decision d;
    policy *p = stage_decide(g, req->device, req, &d);
    kiln_status st = KILN_OK;
    if (d.allow) {
        /* A failed log refuses everything: nothing runs unrecorded. */
        if (g->audit && audit_log_failed(g->audit)) {
            policy_release(p);
            return util_fail(KILN_ERR_AUDIT, "the audit log %.200s has failed: %s refused",
                             g->audit_path, govern_action_name(stage_action(req->action)));
        }
        req->policy = p; /* record (or forget) drops it */
        req->rule = d.rule;
        return KILN_OK;
    }
    char decision[GOVERN_DECISION_TEXT];
    policy_decision_format(&d, decision, sizeof decision);
    if (g->audit &&
        audit_mode_for(policy_audit_settings(p), stage_event(req->action), true) == AUDIT_MODE_RECORD)
        st = stage_append(g, req, p, false, d.rule, d.reason, KILN_ERR_DENIED);
    policy_release(p);
    if (st != KILN_OK)
        return st;
    return util_fail(KILN_ERR_DENIED, "%s denied to '%.200s' on device %u (%.200s): %s",
                     govern_action_name(stage_action(req->action)),
                     governance_principal_name_of(req->device),
                     req->device->index, req->device->info.name, decision);
}

/* The quota table of the current policy generation, with a reference. */
static quota_table *stage_quotas(core_governance *g)
{
    pthread_mutex_lock(&g->lock);
    quota_table *t = quota_table_retain(g->quotas);
    pthread_mutex_unlock(&g->lock);
    return t;
}

kiln_status governance_reserve(const core_request *req, core_reservation *res)
{
    quota_request want = { .bytes = req->bytes, .buffers = 1 };
    if (req->action == CORE_ACTION_KERNEL_LAUNCH)
        want = (quota_request){ .launches = 1 }; /* held until it completed (launch_sched.c) */
    else if (req->action != CORE_ACTION_BUFFER_ALLOC)
        return KILN_OK;
    quota_table *t = stage_quotas(req->device->ctx->gov);
    kiln_status st = quota_reserve(t, governance_principal_of(req->device), &want, &res->quota);
    quota_table_release(t);
    return st;
}

void governance_charge_time(const kiln_device *dev, uint64_t ns)
{
    quota_table *t = stage_quotas(dev->ctx->gov);
    /* It fails only for a missing table or a malformed principal, which
     * the reservation of the launch already ruled out. */
    (void)quota_charge_time(t, governance_principal_of(dev), ns);
    quota_table_release(t);
}

/* The launch counter of (principal, kernel, device), found once per kernel. */
static kiln_status stage_count_launch(core_governance *g, const core_request *req,
                                      kiln_status outcome)
{
    kiln_kernel *k = req->kernel;
    audit_slot *slot = atomic_load(&k->audit_slot);
    if (!slot) {
        kiln_status st = audit_summary_slot(g->audit, governance_principal_name_of(req->device),
                                            req->kernel_name,
                                            (int64_t)req->device->index, &slot);
        if (st != KILN_OK)
            return st;
        atomic_store(&k->audit_slot, slot);
    }
    return audit_summary_count(g->audit, slot, outcome);
}

kiln_status governance_record(core_request *req, kiln_status outcome)
{
    core_governance *g = req->device->ctx->gov;
    policy *p = req->policy;
    req->policy = NULL;
    if (!g->audit) {
        policy_release(p);
        return outcome;
    }
    kiln_device *dev = req->device;
    audit_mode mode = audit_mode_for(policy_audit_settings(p), stage_event(req->action), false);
    kiln_status st = KILN_OK;
    if (mode == AUDIT_MODE_RECORD)
        st = stage_append(g, req, p, true, req->rule, "allowed", outcome);
    else if (mode == AUDIT_MODE_SUMMARY && req->kernel)
        st = stage_count_launch(g, req, outcome);
    else if (mode == AUDIT_MODE_SUMMARY) {
        /* Summarised copies and builds: counted under the action's name. */
        audit_slot *slot = NULL;
        st = audit_summary_slot(g->audit, governance_principal_name_of(dev),
                                govern_action_name(stage_action(req->action)),
                                (int64_t)dev->index, &slot);
        if (st == KILN_OK)
            st = audit_summary_count(g->audit, slot, outcome);
    }
    policy_release(p);
    return st == KILN_OK ? outcome : st;
}
