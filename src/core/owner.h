/* Whose a handle is: the device view it was made through. Objects meet (a
 * buffer on a queue, a buffer as a launch argument, a kernel on a queue)
 * only when they share one; the callers compare the pointers and call this
 * to say why they differ. */
#ifndef KILN_CORE_OWNER_H
#define KILN_CORE_OWNER_H

#include "../util/fail.h"
#include "core_types.h"

/* The refusal of using `what` (made through have) with `other` (made
 * through want), have != want. Different sessions, or a session and the
 * context's own devices: KILN_ERR_INVALID_HANDLE naming both sessions and
 * principals ("buffer belongs to session 2 (principal 'alice'), queue to
 * session 3 (principal 'bob') ..."). Otherwise different hardware:
 * KILN_ERR_INVALID_ARG naming both devices. what is a printf format. */
kiln_status core_owner_refuse(const kiln_device *have, const kiln_device *want, const char *other,
                              const char *what, ...) UTIL_PRINTF(4, 5);

#endif
