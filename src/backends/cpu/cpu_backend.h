/* The CPU adapter: runs C emitted by src/lang, compiled by the system C
 * compiler and loaded with dlopen, over a pool of threads. */
#ifndef KILN_CPU_BACKEND_H
#define KILN_CPU_BACKEND_H

#include "../../ports/backend_port.h"

extern const port_backend_ops cpu_backend_ops;

#endif
