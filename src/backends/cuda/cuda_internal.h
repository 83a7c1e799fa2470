/* What the files of the CUDA adapter share: the structs behind the port's
 * opaque handles and the cross-file helpers (prefix cuda_). Nothing outside
 * src/backends/cuda includes this.
 *
 * Recovery model: a device's primary context is shared by the whole
 * process, so device records are process-wide too (one per ordinal, shared
 * by every backend that opens it). Each allocation, stream, event and
 * module remembers the context generation it was made in; resetting the
 * context after a fault bumps the generation, and an object of an older
 * generation is refused with KILN_ERR_DEVICE_LOST without touching the
 * driver (its memory went with the old context). */
#ifndef KILN_CUDA_INTERNAL_H
#define KILN_CUDA_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "../../ports/backend_port.h"
#include "cuda_api.h"

/* Devices beyond this ordinal are not listed; no machine comes close. */
#define CUDA_MAX_DEVICES 64

struct port_backend {
    uint32_t device_count;
};

struct port_device {
    int ordinal;
    CUdevice handle;
    unsigned refs;          /* device_open calls not yet closed (under the registry lock) */
    /* Every driver call holds this for reading; a context reset holds it
     * for writing, so no call runs while the context is replaced. */
    pthread_rwlock_t reset_lock;
    CUcontext context;      /* the retained primary context; NULL when refs == 0 */
    _Atomic unsigned generation; /* bumped by every context reset and release */
    atomic_int faulted;     /* a sticky error poisoned the context */
    kiln_device_info info;
    int cc_major, cc_minor;
    int priority_least, priority_greatest; /* cuCtxGetStreamPriorityRange */
    unsigned max_block[3], max_grid[3];
};

struct port_mem {
    port_device *dev;
    CUdeviceptr ptr;
    size_t bytes;
    unsigned generation;
};

struct port_stream {
    port_device *dev;
    CUstream stream;
    unsigned generation;
};

struct port_event {
    port_device *dev;
    CUevent event;
    unsigned generation;
};

/* Tag byte in front of module bytes: which image follows. */
#define CUDA_IMAGE_CUBIN 'C'
#define CUDA_IMAGE_PTX 'P'

struct port_module {
    port_device *dev;
    CUmodule module;
    unsigned generation;
    unsigned char *image; /* tag byte + cubin or NUL-terminated PTX */
    size_t image_size;
    pthread_mutex_t lock; /* guards functions */
    port_function *functions;
};

struct port_function {
    port_module *module;
    CUfunction function;
    uint32_t max_threads; /* CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK */
    port_function *next;
    char name[]; /* the entry symbol */
};

extern const port_compile cuda_compile_ops;
extern const port_memory cuda_memory_ops;
extern const port_execution cuda_execution_ops;

/* The loaded driver; valid once a backend opened. */
extern cuda_driver_api cuda_driver;

/* The loaded NVRTC, or NULL with the reason it is missing in *why. */
const cuda_nvrtc_api *cuda_nvrtc(const char **why);

/* Starts a driver call on dev for an object of generation (pass the
 * device's current generation for a call that makes a new object): takes
 * the reset lock for reading and makes dev's context current on this
 * thread. KILN_ERR_DEVICE_LOST (lock not held) when the object is from an
 * older context or the context faulted. what names the object. */
kiln_status cuda_enter(port_device *dev, unsigned generation, const char *what);

/* Like cuda_enter for releasing an object: 1 (lock held, context current)
 * when the object still lives in the current context and must be
 * destroyed, 0 (lock not held) when it went with an old one. */
int cuda_enter_release(port_device *dev, unsigned generation);

void cuda_leave(port_device *dev);

/* KILN_OK for CUDA_SUCCESS; otherwise maps result onto a kiln status with
 * the CUDA error's name in the detail ("cuda: <what>: CUDA_ERROR_X (n):
 * text"). A sticky error marks dev faulted and gives KILN_ERR_DEVICE_FAULT. */
kiln_status cuda_check(port_device *dev, CUresult result, const char *what);

/* The kiln status a CUresult stands for (no side effects). */
kiln_status cuda_status_of(CUresult result);

/* Whether result poisons the context until it is reset. */
int cuda_is_sticky(CUresult result);

/* If dev faulted, resets its primary context and retains it afresh.
 * KILN_HEALTH_HEALTHY when the device works (again), else LOST. */
kiln_health cuda_device_recover(port_device *dev);

/* The module port's functions (cuda_module.c). */
kiln_status cuda_module_from_image(port_device *dev, unsigned char *image, size_t size,
                                   port_log *log, port_module **out);
kiln_status cuda_module_binary(port_module *m, void **bytes, size_t *size);
kiln_status cuda_module_load(port_device *dev, const void *bytes, size_t size,
                             port_module **out);
void cuda_module_release(port_module *m);
kiln_status cuda_module_get_function(port_module *m, const char *entry, port_function **out);

#endif
