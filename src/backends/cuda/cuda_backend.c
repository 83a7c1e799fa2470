/* Placeholder until the CUDA adapter lands: the backend reports itself
 * unavailable, so it is listed with its reason and never used. */
#include <stdio.h>

#include "cuda_backend.h"

static kiln_status cuda_open(port_backend **out, char *reason, size_t reason_size)
{
    *out = NULL;
    snprintf(reason, reason_size, "the CUDA adapter is not part of this build yet");
    return KILN_ERR_BACKEND_UNAVAILABLE;
}

const port_backend_ops cuda_backend_ops = {
    .name = "cuda",
    .backend = KILN_BACKEND_CUDA,
    .dialect = PORT_DIALECT_CUDA,
    .open = cuda_open,
};
