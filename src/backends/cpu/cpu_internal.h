/* What the files of the CPU adapter share: the structs behind the port's
 * opaque handles and the cross-file helpers (prefix cpu_). Nothing outside
 * src/backends/cpu includes this. */
#ifndef KILN_CPU_INTERNAL_H
#define KILN_CPU_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../../ports/backend_port.h"
#include "../../ports/cpu_kernel_abi.h"
#include "cpu_pool.h"

/* The emitted C of a kernel with barrier() keeps one slot per work-item in
 * arrays sized by this constant (see src/lang's C emitter), so no work-group
 * may be larger. */
#define CPU_MAX_WORK_GROUP_SIZE KILN_CPU_MAX_GROUP_ITEMS

/* Shared memory lives on the stack of the entry function (cpu_kernel_abi.h).
 * Pool threads get CPU_WORKER_STACK_BYTES of stack; a group's shared memory
 * is limited to CPU_SHARED_MEMORY_BYTES so that it, the per-work-item arrays
 * of a barrier kernel and the kernel's own frames fit with a wide margin. */
#define CPU_WORKER_STACK_BYTES ((size_t)16 * 1024 * 1024)
#define CPU_SHARED_MEMORY_BYTES ((size_t)1 * 1024 * 1024)

/* Data alignment of every allocation: a cache line, and the widest vector
 * load (AVX-512) the compiler may emit for -march=native. */
#define CPU_ALLOC_ALIGNMENT 64u

/* One loaded backend: the CPU is a single device, opened once and shared. */
struct port_backend {
    pthread_mutex_t lock;
    port_device *device; /* NULL until device_open; reference-counted */
};

struct port_device {
    port_backend *backend;
    unsigned refs;              /* device_open calls not yet closed (under backend->lock) */
    kiln_device_info info;
    cpu_pool *pool;
    _Atomic uint64_t used_bytes; /* allocated through this device's memory port */
};

/* A loaded kernel library. Its backing file (memfd or temp file) stays open
 * until release: glibc's dlopen matches an already loaded library by path,
 * so a path may not be reused while its library is loaded. */
struct port_module {
    port_device *dev;
    void *handle;        /* from dlopen */
    void *binary;        /* the .so bytes, for module_binary */
    size_t binary_size;
    int backing_fd;      /* memfd the library was loaded from; -1 if none */
    char *backing_path;  /* temp file when no memfd; unlinked on release */
    pthread_mutex_t lock; /* guards functions */
    port_function *functions; /* looked up so far; freed with the module */
};

struct port_function {
    port_module *module;
    kiln_cpu_entry_fn entry;
    port_function *next;
    char name[]; /* the entry symbol */
};

struct port_mem {
    void *data;
    size_t bytes;
};

/* Launches and copies complete before the call that queued them returns, so
 * a stream holds no queue: see README.md (threading model). */
struct port_stream {
    port_device *dev;
    int priority; /* accepted and kept; the CPU has no stream priorities */
};

struct port_event {
    uint64_t timestamp_ns; /* CLOCK_MONOTONIC */
};

extern const port_compile cpu_compile_ops;
extern const port_memory cpu_memory_ops;
extern const port_execution cpu_execution_ops;

/* Now on CLOCK_MONOTONIC, in nanoseconds. */
uint64_t cpu_now_ns(void);

/* Physical RAM in bytes (sysconf); 0 if the system does not say. */
uint64_t cpu_physical_memory(void);

/* Loads a shared library from its bytes (memfd, else a temp file). Takes
 * ownership of bytes (malloc'd) whether it succeeds or not. */
kiln_status cpu_module_from_bytes(port_device *dev, void *bytes, size_t size, port_module **out);

/* The compile port's module functions (cpu_module.c). */
kiln_status cpu_module_binary(port_module *m, void **bytes, size_t *size);
kiln_status cpu_module_load(port_device *dev, const void *bytes, size_t size, port_module **out);
void cpu_module_release(port_module *m);
kiln_status cpu_module_get_function(port_module *m, const char *entry, port_function **out);

/* The directory for temp files: $TMPDIR, else /tmp. */
const char *cpu_temp_dir(void);

/* The compiler to run: $KILN_CC, else clang, else cc, resolved on PATH into
 * path. KILN_ERR_NO_COMPILER when none is found. */
kiln_status cpu_toolchain_find(char *path, size_t size);

/* The first line of "path --version", run once per compiler per process. */
kiln_status cpu_toolchain_version(const char *path, char *buf, size_t size);

/* The flags every kernel is compiled with, as one string for the cache key. */
const char *cpu_toolchain_flags_text(void);

/* Compiles c_file into so_file as a shared library. The compiler's output
 * goes to log; KILN_ERR_COMPILE if it fails. */
kiln_status cpu_toolchain_compile(const char *compiler, const char *c_file, const char *so_file,
                                  port_log *log);

#endif
