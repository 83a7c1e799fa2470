/* kiln — sessions: work done for a named principal (docs/security.md,
 * "Sessions and principals"). An application that serves many users opens
 * a session per user and creates that user's queues, buffers and programs
 * through the session's device views; the policy then decides, the quotas
 * charge and the audit log names that user instead of the OS user running
 * the process. Handles of one session are refused by every other session. */
#ifndef KILN_SESSION_H
#define KILN_SESSION_H

#include "context.h"
#include "device.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_session kiln_session;

typedef struct kiln_session_options {
    uint32_t size;              /* sizeof(kiln_session_options) */
    const char *principal;      /* the user this session acts for (required) */
    const char *const *roles;   /* extra roles of the principal for this session; may be NULL */
    uint32_t role_count;        /* entries of roles, at most 16 */
} kiln_session_options;

/* Opens a session of ctx for opts->principal. The principal and each role
 * are 1 to 256 bytes of UTF-8 without control characters; anything else is
 * KILN_ERR_INVALID_ARG naming the byte. The caller is trusted to name the
 * right user: in-process, kiln cannot tell who it is serving.
 *
 * With governance on, opening is the governed action `session.open`,
 * decided for the context's local user (the OS user that names another
 * principal must be allowed to), against a device-less request that only
 * a `devices: ["*"]` rule selects: a denial is KILN_ERR_DENIED naming the
 * rule. The open and the close are recorded in the audit log, naming the
 * session's principal. Without a policy a session only attributes work:
 * nothing is decided or recorded. A context may have any number of
 * sessions; each is used from any thread. */
KILN_API kiln_status kiln_session_open(kiln_context *ctx, const kiln_session_options *opts,
                                       kiln_session **out);

/* The session's view of the context's device `index`: the handle to create
 * its queues, buffers and programs with. It is the same hardware as
 * kiln_device_get(ctx, index) (and shares its health), acting for the
 * session's principal. A view lives as long as its session; an index out of
 * range is KILN_ERR_INVALID_DEVICE. */
KILN_API kiln_status kiln_session_device(kiln_session *s, uint32_t index, kiln_device **out);

/* What a session is; the principal's text lives as long as the session. */
typedef struct kiln_session_info {
    const char *principal;
    uint32_t role_count;
    uint64_t id;           /* the session's number in its context, from 1 */
    uint64_t live_objects; /* queues, buffers, programs and kernels not yet released */
} kiln_session_info;

KILN_API kiln_status kiln_session_get_info(const kiln_session *s, kiln_session_info *out);

/* Closes the session and its device views. While queues, buffers, programs
 * or kernels created through its views are live it stays open and returns
 * KILN_ERR_IN_USE saying how many; release them and close again. A closed
 * session, or a view of it, is refused afterwards (KILN_ERR_INVALID_HANDLE).
 * NULL is accepted (KILN_OK), as by every release. With auditing on, a
 * close whose record cannot be written still closes and returns
 * KILN_ERR_AUDIT. kiln_context_destroy closes the sessions still open. */
KILN_API kiln_status kiln_session_close(kiln_session *s);

#ifdef __cplusplus
}
#endif

#endif
