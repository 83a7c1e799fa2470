/* The CUDA adapter's entry: the ops table the registry lists, loading the
 * driver, and the process-wide device records (see cuda_internal.h for why
 * they are process-wide). */
#include "cuda_backend.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../util/fail.h"
#include "cuda_internal.h"

#define CUDA_REASON_MAX 512
/* cuDriverGetVersion reports major * 1000 + minor * 10. */
#define CUDA_VERSION_MAJOR_SCALE 1000
#define CUDA_VERSION_MINOR_SCALE 10

cuda_driver_api cuda_driver;

static struct {
    pthread_once_t once;
    kiln_status driver_status;
    char driver_reason[CUDA_REASON_MAX];
    int device_count;
    int have_nvrtc;
    cuda_nvrtc_api nvrtc;
    char nvrtc_reason[CUDA_REASON_MAX];
    pthread_mutex_t lock; /* guards devices[] and their refs */
    port_device *devices[CUDA_MAX_DEVICES];
} cuda_state = {.once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER};

static void cuda_load_once(void)
{
    char *reason = cuda_state.driver_reason;
    const size_t size = sizeof cuda_state.driver_reason;
    cuda_state.driver_status = KILN_ERR_BACKEND_UNAVAILABLE;
    if (!cuda_api_load_driver(&cuda_driver, reason, size))
        return;
    CUresult r = cuda_driver.Init(0);
    const char *name = NULL;
    if (r != CUDA_SUCCESS) {
        if (cuda_driver.GetErrorName(r, &name) != CUDA_SUCCESS || !name)
            name = "CUDA_ERROR_UNKNOWN";
        snprintf(reason, size, "cuInit failed: %s (%d)", name, (int)r);
        return;
    }
    int count = 0;
    r = cuda_driver.DeviceGetCount(&count);
    if (r != CUDA_SUCCESS || count <= 0) {
        snprintf(reason, size, "the NVIDIA driver reports no CUDA device");
        return;
    }
    cuda_state.device_count = count < CUDA_MAX_DEVICES ? count : CUDA_MAX_DEVICES;
    cuda_state.driver_status = KILN_OK;
    /* Without NVRTC devices still list and run cached modules. */
    cuda_state.have_nvrtc = cuda_api_load_nvrtc(&cuda_state.nvrtc, cuda_state.nvrtc_reason,
                                                sizeof cuda_state.nvrtc_reason);
}

const cuda_nvrtc_api *cuda_nvrtc(const char **why)
{
    if (cuda_state.have_nvrtc)
        return &cuda_state.nvrtc;
    *why = cuda_state.nvrtc_reason;
    return NULL;
}

static kiln_status cuda_open(port_backend **out, char *reason, size_t reason_size)
{
    *out = NULL;
    pthread_once(&cuda_state.once, cuda_load_once);
    if (cuda_state.driver_status != KILN_OK) {
        snprintf(reason, reason_size, "%s", cuda_state.driver_reason);
        return util_fail(KILN_ERR_BACKEND_UNAVAILABLE, "cuda: %s", cuda_state.driver_reason);
    }
    port_backend *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(reason, reason_size, "no host memory for the CUDA backend");
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "cuda: no memory for the backend");
    }
    b->device_count = (uint32_t)cuda_state.device_count;
    *out = b;
    return KILN_OK;
}

static void cuda_close(port_backend *b)
{
    /* Device records outlive backends: another backend in the process may
     * still use them, and they hold no driver resource once closed. */
    free(b);
}

static uint32_t cuda_device_count(port_backend *b)
{
    return b->device_count;
}

static int cuda_attribute(port_device *dev, CUdevice_attribute attribute)
{
    int value = 0;
    if (cuda_driver.DeviceGetAttribute(&value, attribute, dev->handle) != CUDA_SUCCESS)
        return 0;
    return value;
}

static kiln_status cuda_describe(port_device *dev)
{
    kiln_device_info *info = &dev->info;
    memset(info, 0, sizeof *info);
    kiln_status st = cuda_check(dev, cuda_driver.DeviceGetName(info->name, (int)sizeof info->name,
                                                               dev->handle),
                                "cuDeviceGetName");
    size_t memory = 0;
    if (st == KILN_OK)
        st = cuda_check(dev, cuda_driver.DeviceTotalMem(&memory, dev->handle),
                        "cuDeviceTotalMem");
    int driver = 0;
    if (st == KILN_OK)
        st = cuda_check(dev, cuda_driver.DriverGetVersion(&driver), "cuDriverGetVersion");
    if (st != KILN_OK)
        return st;
    dev->cc_major = cuda_attribute(dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
    dev->cc_minor = cuda_attribute(dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
    for (int d = 0; d < 3; d++) {
        dev->max_block[d] = (unsigned)cuda_attribute(dev, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X + d);
        dev->max_grid[d] = (unsigned)cuda_attribute(dev, CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X + d);
    }
    snprintf(info->vendor, sizeof info->vendor, "NVIDIA");
    snprintf(info->driver_version, sizeof info->driver_version, "CUDA %d.%d",
             driver / CUDA_VERSION_MAJOR_SCALE,
             driver % CUDA_VERSION_MAJOR_SCALE / CUDA_VERSION_MINOR_SCALE);
    snprintf(info->architecture, sizeof info->architecture, "sm_%d%d", dev->cc_major,
             dev->cc_minor);
    info->backend = KILN_BACKEND_CUDA;
    info->backend_index = (uint32_t)dev->ordinal;
    info->kind = KILN_DEVICE_KIND_GPU;
    info->memory_bytes = memory;
    info->compute_units = (uint32_t)cuda_attribute(dev, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
    info->max_work_group_size =
        (uint32_t)cuda_attribute(dev, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK);
    /* Kernels declare shared memory statically, which is capped at the
     * per-block figure (the opt-in maximum needs dynamic shared memory). */
    info->shared_memory_bytes =
        (uint64_t)cuda_attribute(dev, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK);
    info->subgroup_size = (uint32_t)cuda_attribute(dev, CU_DEVICE_ATTRIBUTE_WARP_SIZE);
    info->capabilities =
        KILN_CAP_DOUBLE | KILN_CAP_FLOAT_ATOMICS | KILN_CAP_INT64_ATOMICS | KILN_CAP_SUBGROUPS;
    info->health = KILN_HEALTH_HEALTHY;
    return KILN_OK;
}

static kiln_status cuda_device_record(int ordinal, port_device **out)
{
    port_device *dev = calloc(1, sizeof *dev);
    if (!dev)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "cuda: no memory for a device");
    dev->ordinal = ordinal;
    pthread_rwlock_init(&dev->reset_lock, NULL);
    atomic_init(&dev->generation, 1);
    atomic_init(&dev->faulted, 0);
    kiln_status st = cuda_check(dev, cuda_driver.DeviceGet(&dev->handle, ordinal), "cuDeviceGet");
    if (st == KILN_OK)
        st = cuda_describe(dev);
    if (st != KILN_OK) {
        pthread_rwlock_destroy(&dev->reset_lock);
        free(dev);
        return st;
    }
    *out = dev;
    return KILN_OK;
}

/* First open of a device: retain its primary context and read its stream
 * priority range (which needs a current context). */
static kiln_status cuda_device_activate(port_device *dev)
{
    kiln_status st = cuda_check(dev, cuda_driver.DevicePrimaryCtxRetain(&dev->context,
                                                                        dev->handle),
                                "cuDevicePrimaryCtxRetain");
    if (st == KILN_OK)
        st = cuda_check(dev, cuda_driver.CtxSetCurrent(dev->context), "cuCtxSetCurrent");
    if (st == KILN_OK)
        st = cuda_check(dev, cuda_driver.CtxGetStreamPriorityRange(&dev->priority_least,
                                                                   &dev->priority_greatest),
                        "cuCtxGetStreamPriorityRange");
    if (st != KILN_OK && dev->context) {
        cuda_driver.DevicePrimaryCtxRelease(dev->handle);
        dev->context = NULL;
    }
    return st;
}

static kiln_status cuda_device_open(port_backend *b, uint32_t index, port_device **out)
{
    if (index >= b->device_count)
        return util_fail(KILN_ERR_INVALID_DEVICE, "cuda: device %u does not exist (%u devices)",
                         index, b->device_count);
    pthread_mutex_lock(&cuda_state.lock);
    kiln_status st = KILN_OK;
    port_device **slot = &cuda_state.devices[index];
    if (!*slot)
        st = cuda_device_record((int)index, slot);
    if (st == KILN_OK && (*slot)->refs == 0) {
        pthread_rwlock_wrlock(&(*slot)->reset_lock);
        st = cuda_device_activate(*slot);
        pthread_rwlock_unlock(&(*slot)->reset_lock);
    }
    if (st == KILN_OK) {
        (*slot)->refs++;
        *out = *slot;
    }
    pthread_mutex_unlock(&cuda_state.lock);
    return st;
}

static void cuda_device_close(port_device *dev)
{
    if (!dev)
        return;
    pthread_mutex_lock(&cuda_state.lock);
    if (--dev->refs == 0) {
        pthread_rwlock_wrlock(&dev->reset_lock);
        cuda_driver.DevicePrimaryCtxRelease(dev->handle);
        dev->context = NULL;
        /* The context may be destroyed now: nothing of it may be used. */
        atomic_fetch_add(&dev->generation, 1);
        atomic_store(&dev->faulted, 0);
        pthread_rwlock_unlock(&dev->reset_lock);
    }
    pthread_mutex_unlock(&cuda_state.lock);
}

static kiln_status cuda_device_info(port_device *dev, kiln_device_info *out)
{
    *out = dev->info;
    out->health = atomic_load(&dev->faulted) ? KILN_HEALTH_LOST : KILN_HEALTH_HEALTHY;
    return KILN_OK;
}

const port_backend_ops cuda_backend_ops = {
    .name = "cuda",
    .backend = KILN_BACKEND_CUDA,
    .dialect = PORT_DIALECT_CUDA,
    .open = cuda_open,
    .close = cuda_close,
    .device_count = cuda_device_count,
    .device_open = cuda_device_open,
    .device_close = cuda_device_close,
    .device_info = cuda_device_info,
    .compile = &cuda_compile_ops,
    .memory = &cuda_memory_ops,
    .execution = &cuda_execution_ops,
};
