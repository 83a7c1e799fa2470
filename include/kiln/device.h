/* kiln — devices and their description. */
#ifndef KILN_DEVICE_H
#define KILN_DEVICE_H

#include "context.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_device kiln_device;

typedef enum kiln_backend {
    KILN_BACKEND_CPU = 1,
    KILN_BACKEND_CUDA = 2,
    KILN_BACKEND_OPENCL = 3,
    KILN_BACKEND_METAL = 4,
    KILN_BACKEND_FAULT = 5  /* the fault-injection wrapper used by tests */
} kiln_backend;

typedef enum kiln_health {
    KILN_HEALTH_HEALTHY = 0,
    KILN_HEALTH_DEGRADED = 1,
    KILN_HEALTH_LOST = 2
} kiln_health;

typedef enum kiln_device_kind {
    KILN_DEVICE_KIND_CPU = 1,
    KILN_DEVICE_KIND_GPU = 2,
    KILN_DEVICE_KIND_ACCELERATOR = 3,
    KILN_DEVICE_KIND_OTHER = 4
} kiln_device_kind;

/* Bits of kiln_device_info.capabilities. */
#define KILN_CAP_DOUBLE 0x1u         /* double and double2 */
#define KILN_CAP_FLOAT_ATOMICS 0x2u  /* atomic_add/atomic_xchg on float */
#define KILN_CAP_SUBGROUPS 0x4u      /* subgroup operations with size > 1 */
#define KILN_CAP_INT64_ATOMICS 0x8u  /* atomics on long and ulong */

#define KILN_NAME_MAX 256

typedef struct kiln_device_info {
    char name[KILN_NAME_MAX];
    char vendor[KILN_NAME_MAX];
    char driver_version[64];
    char architecture[64];       /* "x86_64", "sm_90", ... */
    kiln_backend backend;
    uint32_t backend_index;      /* index among the devices of its backend */
    kiln_device_kind kind;       /* what the hardware is (PoCL: a CPU) */
    uint64_t memory_bytes;       /* total device memory */
    uint32_t compute_units;      /* cores, SMs, compute units */
    uint32_t max_work_group_size;
    uint64_t shared_memory_bytes; /* shared memory per work-group */
    uint32_t subgroup_size;      /* 1 where the device runs items one by one */
    uint32_t capabilities;       /* KILN_CAP_* */
    kiln_health health;
} kiln_device_info;

/* Number of devices in the context (all backends). */
KILN_API uint32_t kiln_device_count(const kiln_context *ctx);

KILN_API kiln_status kiln_device_get(kiln_context *ctx, uint32_t index, kiln_device **out);

/* The best healthy device: CUDA, then an OpenCL GPU, then the CPU. The
 * environment variable KILN_DEVICE ("cpu", "cuda:0", "opencl:1") overrides. */
KILN_API kiln_status kiln_device_default(kiln_context *ctx, kiln_device **out);

/* Finds a device by selector: "cpu", "cuda:0", "opencl:1", or an index "2". */
KILN_API kiln_status kiln_device_find(kiln_context *ctx, const char *selector, kiln_device **out);

KILN_API kiln_status kiln_device_get_info(const kiln_device *dev, kiln_device_info *out);

/* What became of one backend when the context opened it. A backend that is
 * not present (no driver, no library) is listed with its reason and never
 * stops the others. */
typedef struct kiln_backend_info {
    kiln_backend backend;
    kiln_status status;    /* KILN_OK when it opened */
    uint32_t device_count; /* devices of it in the context */
    char reason[256];      /* why it is unavailable; "" when it opened */
} kiln_backend_info;

/* Number of backends built into kiln, opened or not. */
KILN_API uint32_t kiln_backend_count(const kiln_context *ctx);

KILN_API kiln_status kiln_backend_get_info(const kiln_context *ctx, uint32_t index,
                                           kiln_backend_info *out);

/* "cpu", "cuda", "opencl", "metal", "fault". */
KILN_API const char *kiln_backend_name(kiln_backend backend);

#ifdef __cplusplus
}
#endif

#endif
