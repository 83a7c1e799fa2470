/* Refusing objects of different owners (owner.h). */
#include "owner.h"

#include <stdarg.h>
#include <stdio.h>

#include "session.h"

/* Room for "kernel 'NAME', argument N ('NAME'): buffer" with long names. */
#define OWNER_TEXT_MAX 768

/* "session 2 (principal 'alice')" or "the context (principal 'root')". */
static void owner_describe(const kiln_device *dev, char *out, size_t n)
{
    if (dev->session)
        snprintf(out, n, "session %llu (principal '%.256s')",
                 (unsigned long long)dev->session->id, dev->session->name);
    else
        snprintf(out, n, "the context's own device (principal '%.256s')",
                 dev->ctx->gov ? dev->ctx->gov->principal_name : governance_local_user_name());
}

kiln_status core_owner_refuse(const kiln_device *have, const kiln_device *want, const char *other,
                              const char *what, ...)
{
    char subject[OWNER_TEXT_MAX];
    va_list ap;
    va_start(ap, what);
    vsnprintf(subject, sizeof subject, what, ap);
    va_end(ap);
    if (have->session == want->session)
        return util_fail(KILN_ERR_INVALID_ARG, "%s belongs to device '%s', %s to '%s'", subject,
                         have->info.name, other, want->info.name);
    char mine[OWNER_TEXT_MAX], theirs[OWNER_TEXT_MAX];
    owner_describe(have, mine, sizeof mine);
    owner_describe(want, theirs, sizeof theirs);
    return util_fail(KILN_ERR_INVALID_HANDLE,
                     "%s belongs to %s, %s to %s: a session's handles work only with that "
                     "session's",
                     subject, mine, other, theirs);
}
