/* The opencl adapter. */
#ifndef KILN_OPENCL_BACKEND_H
#define KILN_OPENCL_BACKEND_H

#include "../../ports/backend_port.h"

extern const port_backend_ops opencl_backend_ops;

#endif
