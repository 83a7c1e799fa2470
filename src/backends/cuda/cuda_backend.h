/* The cuda adapter. */
#ifndef KILN_CUDA_BACKEND_H
#define KILN_CUDA_BACKEND_H

#include "../../ports/backend_port.h"

extern const port_backend_ops cuda_backend_ops;

#endif
