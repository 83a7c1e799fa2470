/* Records of device faults, readmissions and queue fallbacks in the audit
 * log ("device.fault", "device.readmit", "queue.fallback"), written one by
 * one when the policy's audit settings record POLICY_AUDIT_FAULT (the
 * default). Nothing happens without governance or without an audit log. */
#ifndef KILN_CORE_FAULT_AUDIT_H
#define KILN_CORE_FAULT_AUDIT_H

#include "core_types.h"

typedef struct core_fault_record {
    const char *action;   /* "device.fault", "device.readmit", "queue.fallback" */
    kiln_device *device;  /* where it happened; its principal is the record's */
    kiln_status outcome;  /* the fault's status; KILN_OK for a readmission */
    const char *reason;   /* the adapter's detail, or what was done */
    const char *ran_on;   /* "cpu:0" for a fallback; NULL: the device itself */
} core_fault_record;

/* KILN_OK when recorded or not to be recorded; KILN_ERR_AUDIT when the log
 * could not take it (the log is then failed and refuses what follows). */
kiln_status fault_audit_record(const core_fault_record *r);

#endif
