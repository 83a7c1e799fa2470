/* Checking launch arguments against a kernel's declared parameters and
 * turning them into the port's form. */
#ifndef KILN_CORE_ARGS_H
#define KILN_CORE_ARGS_H

#include "core_types.h"

/* Checks args against k's signature and fills out[0..nargs). On a mismatch
 * returns KILN_ERR_INVALID_ARG naming the parameter and both types. */
kiln_status args_check(const kiln_kernel *k, const kiln_device *dev, const kiln_arg *args,
                       uint32_t nargs, port_arg *out);

#endif
