/* The fault adapter: wraps another adapter and fails the port calls its
 * plan chooses (fault_plan.h). Chaos tests run through it without a GPU. */
#ifndef KILN_FAULT_BACKEND_H
#define KILN_FAULT_BACKEND_H

#include "../../ports/backend_port.h"

/* The fault adapter's ops, wrapping inner: every call is counted and either
 * failed by the plan or forwarded to inner with the same handles. Backends
 * may not include each other, so the registry hands the inner adapter in.
 * Call once, before the ops are used (the registry does, under
 * pthread_once); a later call with another inner is ignored. */
const port_backend_ops *fault_backend_wrap(const port_backend_ops *inner);

#endif
