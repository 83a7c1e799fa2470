/* The stages every allocation, copy, build and launch passes through
 * (DESIGN.md section 3): authorize -> reserve -> schedule -> execute ->
 * record -> release. With no policy configured the context has no
 * governance and each stage is one branch; otherwise they call the policy,
 * the quota table and the audit log (governance_stages.c). The schedule
 * stage is the device's priority scheduler when governed (launch_sched.h),
 * the queue's own order otherwise. */
#ifndef KILN_CORE_PIPELINE_H
#define KILN_CORE_PIPELINE_H

#include <string.h>

#include "../govern/quota.h"
#include "core_types.h"

typedef enum core_action {
    CORE_ACTION_DEVICE_USE = 1,
    CORE_ACTION_PROGRAM_BUILD,
    CORE_ACTION_BUFFER_ALLOC,
    CORE_ACTION_BUFFER_COPY,
    CORE_ACTION_KERNEL_LAUNCH,
    CORE_ACTION_QUEUE_PRIORITY
} core_action;

typedef struct core_request {
    core_action action;
    kiln_device *device;
    uint64_t bytes;          /* allocation or copy size */
    const char *kernel_name; /* launches and builds */
    kiln_kernel *kernel;     /* launches: holds the audit counter */
    kiln_priority priority;  /* queue creation */
    /* Set by authorize when governed: the policy that allowed it (a
     * reference, dropped by record or forget) and its deciding rule. */
    policy *policy;
    const char *rule;
} core_request;

kiln_status governance_authorize(core_request *req);
kiln_status governance_reserve(const core_request *req, core_reservation *res);
kiln_status governance_record(core_request *req, kiln_status outcome);
/* Charges ns of measured device time, after a governed launch completed,
 * to the device-time windows of dev's principal. */
void governance_charge_time(const kiln_device *dev, uint64_t ns);

/* KILN_OK, or KILN_ERR_DENIED naming the rule (the denial is recorded).
 * Once it allowed, every path ends in pipeline_record (whatever the work's
 * outcome, refusals by a quota included) or, for what is not recorded,
 * pipeline_forget. */
static inline kiln_status pipeline_authorize(core_request *req)
{
    if (!req->device->ctx->gov)
        return KILN_OK;
    return governance_authorize(req);
}

/* Reserves the request's quota; an empty reservation without governance. */
static inline kiln_status pipeline_reserve(const core_request *req, core_reservation *res)
{
    /* Empty: all pipeline_release looks at (the rest is written only when
     * governance reserves, keeping the ungoverned launch path short). */
    res->quota.account_count = 0;
    if (!req->device->ctx->gov)
        return KILN_OK;
    memset(res, 0, sizeof *res);
    return governance_reserve(req, res);
}

/* Records the outcome as the policy's audit settings say (under the policy
 * that allowed it). Returns outcome, or KILN_ERR_AUDIT when it could not be
 * recorded: the caller undoes what it can and returns that. */
static inline kiln_status pipeline_record(core_request *req, kiln_status outcome)
{
    if (!req->policy)
        return outcome;
    return governance_record(req, outcome);
}

/* Ends an allowed request that is not recorded (using a device). */
static inline void pipeline_forget(core_request *req)
{
    policy_release(req->policy);
    req->policy = NULL;
}

/* Returns what reserve took (nothing for an empty reservation). */
static inline void pipeline_release(core_reservation *res)
{
    if (res->quota.account_count)
        quota_release(&res->quota);
}

#endif
