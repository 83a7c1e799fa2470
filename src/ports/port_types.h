/* Types shared by every port. Adapters define the structs behind the
 * opaque handles; the core only passes them back. */
#ifndef KILN_PORT_TYPES_H
#define KILN_PORT_TYPES_H

#include <kiln/kiln.h>

typedef struct port_backend port_backend;   /* one loaded backend (adapter state) */
typedef struct port_device port_device;     /* one device of a backend */
typedef struct port_module port_module;     /* a compiled program */
typedef struct port_function port_function; /* one kernel entry in a module */
typedef struct port_mem port_mem;           /* one device allocation */
typedef struct port_host_mem port_host_mem; /* one page-locked host allocation */
typedef struct port_stream port_stream;     /* an in-order command stream */
typedef struct port_event port_event;       /* a point in a stream, with a timestamp */

/* Which dialect the front end must emit for an adapter. */
typedef enum port_dialect {
    PORT_DIALECT_C = 1,      /* C11 for the CPU backend (see cpu_kernel_abi.h) */
    PORT_DIALECT_CUDA = 2,   /* CUDA C++ for NVRTC */
    PORT_DIALECT_OPENCL = 3, /* OpenCL C 1.2 */
    PORT_DIALECT_METAL = 4   /* Metal Shading Language */
} port_dialect;

/* A growable byte buffer an adapter fills with text for the caller (compiler
 * logs). The adapter writes with port_log_append; the core owns the memory. */
typedef struct port_log {
    char *text;
    size_t length;
    size_t capacity;
} port_log;

#endif
