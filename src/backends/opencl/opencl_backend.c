/* Placeholder until the OpenCL adapter lands: the backend reports itself
 * unavailable, so it is listed with its reason and never used. */
#include <stdio.h>

#include "opencl_backend.h"

static kiln_status opencl_open(port_backend **out, char *reason, size_t reason_size)
{
    *out = NULL;
    snprintf(reason, reason_size, "the OpenCL adapter is not part of this build yet");
    return KILN_ERR_BACKEND_UNAVAILABLE;
}

const port_backend_ops opencl_backend_ops = {
    .name = "opencl",
    .backend = KILN_BACKEND_OPENCL,
    .dialect = PORT_DIALECT_OPENCL,
    .open = opencl_open,
};
