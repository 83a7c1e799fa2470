/* Driver calls on a device: entering its context, turning CUresults into
 * kiln statuses, and recovering the context after a fault. */
#include <stdio.h>

#include "../../util/fail.h"
#include "cuda_internal.h"

/* A small allocation that proves a freshly reset context works. */
#define CUDA_PROBE_BYTES 256u

int cuda_is_sticky(CUresult result)
{
    /* The errors cuda.h documents as leaving "the process in an
     * inconsistent state": every later call in the context fails too. */
    switch (result) {
    case CUDA_ERROR_ECC_UNCORRECTABLE:
    case CUDA_ERROR_NVLINK_UNCORRECTABLE:
    case CUDA_ERROR_ILLEGAL_ADDRESS:
    case CUDA_ERROR_LAUNCH_TIMEOUT:
    case CUDA_ERROR_ASSERT:
    case CUDA_ERROR_HARDWARE_STACK_ERROR:
    case CUDA_ERROR_ILLEGAL_INSTRUCTION:
    case CUDA_ERROR_MISALIGNED_ADDRESS:
    case CUDA_ERROR_INVALID_ADDRESS_SPACE:
    case CUDA_ERROR_INVALID_PC:
    case CUDA_ERROR_LAUNCH_FAILED:
        return 1;
    default:
        return 0;
    }
}

kiln_status cuda_status_of(CUresult result)
{
    if (result == CUDA_SUCCESS)
        return KILN_OK;
    if (cuda_is_sticky(result))
        return KILN_ERR_DEVICE_FAULT;
    switch (result) {
    case CUDA_ERROR_INVALID_VALUE: return KILN_ERR_INVALID_ARG;
    case CUDA_ERROR_OUT_OF_MEMORY: return KILN_ERR_OUT_OF_MEMORY;
    case CUDA_ERROR_NOT_INITIALIZED:
    case CUDA_ERROR_DEINITIALIZED:
    case CUDA_ERROR_DEVICE_UNAVAILABLE:
    case CUDA_ERROR_NO_DEVICE:
    case CUDA_ERROR_CONTEXT_IS_DESTROYED: return KILN_ERR_DEVICE_LOST;
    case CUDA_ERROR_INVALID_DEVICE: return KILN_ERR_INVALID_DEVICE;
    case CUDA_ERROR_INVALID_IMAGE: return KILN_ERR_INVALID_ARG;
    case CUDA_ERROR_NO_BINARY_FOR_GPU:
    case CUDA_ERROR_INVALID_PTX:
    case CUDA_ERROR_UNSUPPORTED_PTX_VERSION: return KILN_ERR_COMPILE;
    case CUDA_ERROR_INVALID_HANDLE: return KILN_ERR_INVALID_HANDLE;
    case CUDA_ERROR_NOT_FOUND: return KILN_ERR_NOT_FOUND;
    /* Too many registers times threads for one block. */
    case CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES: return KILN_ERR_INVALID_RANGE;
    case CUDA_ERROR_NOT_SUPPORTED: return KILN_ERR_UNSUPPORTED;
    default: return KILN_ERR_DEVICE;
    }
}

kiln_status cuda_check(port_device *dev, CUresult result, const char *what)
{
    if (result == CUDA_SUCCESS)
        return KILN_OK;
    const char *name = NULL, *text = NULL;
    if (cuda_driver.GetErrorName(result, &name) != CUDA_SUCCESS || !name)
        name = "CUDA_ERROR_UNKNOWN";
    if (cuda_driver.GetErrorString(result, &text) != CUDA_SUCCESS || !text)
        text = "no description";
    if (dev && cuda_is_sticky(result))
        atomic_store(&dev->faulted, 1);
    return util_fail(cuda_status_of(result), "cuda: %s: %s (%d): %s%s", what, name, (int)result,
                     text,
                     cuda_is_sticky(result)
                         ? "; the device's context is lost until it recovers"
                         : "");
}

kiln_status cuda_enter(port_device *dev, unsigned generation, const char *what)
{
    pthread_rwlock_rdlock(&dev->reset_lock);
    kiln_status st = KILN_OK;
    if (generation != atomic_load(&dev->generation))
        st = util_fail(KILN_ERR_DEVICE_LOST,
                       "cuda: device %d was reset after a fault; this %s went with its old "
                       "context",
                       dev->ordinal, what);
    else if (atomic_load(&dev->faulted))
        st = util_fail(KILN_ERR_DEVICE_LOST,
                       "cuda: device %d faulted and has not recovered yet (%s refused)",
                       dev->ordinal, what);
    else if (!dev->context)
        st = util_fail(KILN_ERR_DEVICE_LOST, "cuda: device %d is not open", dev->ordinal);
    else
        st = cuda_check(dev, cuda_driver.CtxSetCurrent(dev->context), "cuCtxSetCurrent");
    if (st != KILN_OK)
        pthread_rwlock_unlock(&dev->reset_lock);
    return st;
}

int cuda_enter_release(port_device *dev, unsigned generation)
{
    pthread_rwlock_rdlock(&dev->reset_lock);
    /* A faulted context still owns its objects until the reset: destroy
     * them (errors ignored) so nothing leaks if the reset never comes. */
    if (generation == atomic_load(&dev->generation) && dev->context &&
        cuda_driver.CtxSetCurrent(dev->context) == CUDA_SUCCESS)
        return 1;
    pthread_rwlock_unlock(&dev->reset_lock);
    return 0;
}

void cuda_leave(port_device *dev)
{
    pthread_rwlock_unlock(&dev->reset_lock);
}

/* Under the write lock: replaces the faulted primary context. */
static kiln_status cuda_reset_context(port_device *dev)
{
    kiln_status st = cuda_check(dev, cuda_driver.DevicePrimaryCtxReset(dev->handle),
                                "cuDevicePrimaryCtxReset");
    /* Every object of the old context is gone now, whatever happens next. */
    atomic_fetch_add(&dev->generation, 1);
    CUcontext fresh = NULL;
    if (st == KILN_OK)
        st = cuda_check(dev, cuda_driver.DevicePrimaryCtxRetain(&fresh, dev->handle),
                        "cuDevicePrimaryCtxRetain");
    if (st != KILN_OK)
        return st;
    /* The retain above stands in for the one taken at device_open. */
    cuda_driver.DevicePrimaryCtxRelease(dev->handle);
    dev->context = fresh;
    atomic_store(&dev->faulted, 0);
    CUdeviceptr probe = 0;
    st = cuda_check(dev, cuda_driver.CtxSetCurrent(fresh), "cuCtxSetCurrent");
    if (st == KILN_OK)
        st = cuda_check(dev, cuda_driver.MemAlloc(&probe, CUDA_PROBE_BYTES), "cuMemAlloc");
    if (st == KILN_OK) {
        cuda_driver.MemFree(probe);
        st = cuda_check(dev, cuda_driver.CtxSynchronize(), "cuCtxSynchronize");
    }
    if (st != KILN_OK)
        atomic_store(&dev->faulted, 1);
    return st;
}

kiln_health cuda_device_recover(port_device *dev)
{
    if (!atomic_load(&dev->faulted))
        return KILN_HEALTH_HEALTHY;
    pthread_rwlock_wrlock(&dev->reset_lock);
    kiln_status st = KILN_OK;
    if (atomic_load(&dev->faulted) && dev->context)
        st = cuda_reset_context(dev);
    int lost = atomic_load(&dev->faulted) || !dev->context || st != KILN_OK;
    pthread_rwlock_unlock(&dev->reset_lock);
    return lost ? KILN_HEALTH_LOST : KILN_HEALTH_HEALTHY;
}
