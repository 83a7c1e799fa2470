/* The backend port: what an adapter exposes to the core. Each adapter
 * defines one const port_backend_ops and the core's registry lists them. */
#ifndef KILN_BACKEND_PORT_H
#define KILN_BACKEND_PORT_H

#include "compile_port.h"
#include "execution_port.h"
#include "memory_port.h"

typedef struct port_backend_ops {
    const char *name; /* "cpu", "cuda", ... */
    kiln_backend backend;
    port_dialect dialect;
    /* Loads the backend. A backend that is not present returns
     * KILN_ERR_BACKEND_UNAVAILABLE and writes why into reason. */
    kiln_status (*open)(port_backend **out, char *reason, size_t reason_size);
    void (*close)(port_backend *b);
    uint32_t (*device_count)(port_backend *b);
    kiln_status (*device_open)(port_backend *b, uint32_t index, port_device **out);
    void (*device_close)(port_device *dev);
    kiln_status (*device_info)(port_device *dev, kiln_device_info *out);
    const port_compile *compile;
    const port_memory *memory;
    const port_execution *execution;
} port_backend_ops;

#endif
