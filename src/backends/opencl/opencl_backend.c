/* The OpenCL adapter's entry: the ops table the registry lists, opening
 * the backend (loading the ICD loader and enumerating every device of
 * every platform) and opening devices, one context per device. */
#include "opencl_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../util/fail.h"
#include "opencl_internal.h"

/* Appends the devices of platform to b->devices. */
static kiln_status opencl_enumerate_platform(port_backend *b, cl_platform_id platform)
{
    cl_uint count = 0;
    cl_int err = opencl_api.GetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, NULL, &count);
    if (err == CL_DEVICE_NOT_FOUND || (err == CL_SUCCESS && count == 0))
        return KILN_OK;
    if (err != CL_SUCCESS)
        return opencl_fail(KILN_ERR_DEVICE, err, "clGetDeviceIDs");
    cl_device_id *ids = calloc(count, sizeof *ids);
    opencl_device_entry *grown =
        ids ? realloc(b->devices, (b->device_count + count) * sizeof *grown) : NULL;
    if (!grown) {
        free(ids);
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "opencl: no memory for %u devices", count);
    }
    b->devices = grown;
    err = opencl_api.GetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, count, ids, &count);
    if (err != CL_SUCCESS) {
        free(ids);
        return opencl_fail(KILN_ERR_DEVICE, err, "clGetDeviceIDs");
    }
    for (cl_uint i = 0; i < count; i++)
        b->devices[b->device_count++] =
            (opencl_device_entry){.platform = platform, .id = ids[i], .open = NULL};
    free(ids);
    return KILN_OK;
}

static kiln_status opencl_enumerate(port_backend *b, char *reason, size_t reason_size)
{
    cl_uint count = 0;
    cl_int err = opencl_api.GetPlatformIDs(0, NULL, &count);
    if (err == OPENCL_PLATFORM_NOT_FOUND_KHR || (err == CL_SUCCESS && count == 0)) {
        snprintf(reason, reason_size, "no OpenCL platform");
        return util_fail(KILN_ERR_BACKEND_UNAVAILABLE, "opencl: no OpenCL platform");
    }
    if (err != CL_SUCCESS) {
        snprintf(reason, reason_size, "clGetPlatformIDs failed: %s", opencl_error_name(err));
        return opencl_fail(KILN_ERR_BACKEND_UNAVAILABLE, err, "clGetPlatformIDs");
    }
    cl_platform_id *platforms = calloc(count, sizeof *platforms);
    if (!platforms) {
        snprintf(reason, reason_size, "no host memory for %u platforms", count);
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "opencl: %s", reason);
    }
    err = opencl_api.GetPlatformIDs(count, platforms, &count);
    kiln_status st = err == CL_SUCCESS ? KILN_OK
                                       : opencl_fail(KILN_ERR_DEVICE, err, "clGetPlatformIDs");
    for (cl_uint i = 0; i < count && st == KILN_OK; i++)
        st = opencl_enumerate_platform(b, platforms[i]);
    free(platforms);
    if (st != KILN_OK) {
        /* The reason reads like the others, without the detail's prefix. */
        const char *why = util_last_error();
        size_t prefix = strlen(OPENCL_DETAIL_PREFIX);
        snprintf(reason, reason_size, "%s",
                 strncmp(why, OPENCL_DETAIL_PREFIX, prefix) == 0 ? why + prefix : why);
        return st;
    }
    if (b->device_count == 0) {
        snprintf(reason, reason_size, "no OpenCL device on %u platform%s", count,
                 count == 1 ? "" : "s");
        return util_fail(KILN_ERR_BACKEND_UNAVAILABLE, "opencl: %s", reason);
    }
    return KILN_OK;
}

static void opencl_close(port_backend *b);

static kiln_status opencl_open(port_backend **out, char *reason, size_t reason_size)
{
    *out = NULL;
    kiln_status st = opencl_load(reason, reason_size);
    if (st != KILN_OK)
        return st;
    port_backend *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(reason, reason_size, "no host memory for the OpenCL backend");
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "opencl: %s", reason);
    }
    pthread_mutex_init(&b->lock, NULL);
    st = opencl_enumerate(b, reason, reason_size);
    if (st != KILN_OK) {
        opencl_close(b);
        return st;
    }
    *out = b;
    return KILN_OK;
}

static void opencl_device_free(port_device *dev)
{
    if (dev->probe_queue)
        opencl_api.ReleaseCommandQueue(dev->probe_queue);
    if (dev->context)
        opencl_api.ReleaseContext(dev->context);
    pthread_mutex_destroy(&dev->probe_lock);
    free(dev);
}

static void opencl_close(port_backend *b)
{
    if (!b)
        return;
    /* Devices left open are the caller's leak; still free them. */
    for (uint32_t i = 0; i < b->device_count; i++)
        if (b->devices[i].open)
            opencl_device_free(b->devices[i].open);
    free(b->devices);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

static uint32_t opencl_device_count(port_backend *b)
{
    return b ? b->device_count : 0;
}

static kiln_status opencl_device_create(port_backend *b, uint32_t index, port_device **out)
{
    port_device *dev = calloc(1, sizeof *dev);
    if (!dev)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "opencl: no memory for a device");
    dev->backend = b;
    dev->index = index;
    dev->platform = b->devices[index].platform;
    dev->id = b->devices[index].id;
    atomic_init(&dev->used_bytes, 0);
    pthread_mutex_init(&dev->probe_lock, NULL);
    const cl_context_properties properties[] = {CL_CONTEXT_PLATFORM,
                                                (cl_context_properties)dev->platform, 0};
    cl_int err = CL_SUCCESS;
    dev->context = opencl_api.CreateContext(properties, 1, &dev->id, NULL, NULL, &err);
    kiln_status st = KILN_OK;
    if (!dev->context)
        st = opencl_fail(opencl_status(err) == KILN_ERR_OUT_OF_HOST_MEMORY
                             ? KILN_ERR_OUT_OF_HOST_MEMORY
                             : KILN_ERR_DEVICE,
                         err, "clCreateContext for device %u", index);
    if (st == KILN_OK)
        st = opencl_describe(dev);
    if (st != KILN_OK) {
        opencl_device_free(dev);
        return st;
    }
    *out = dev;
    return KILN_OK;
}

static kiln_status opencl_device_open(port_backend *b, uint32_t index, port_device **out)
{
    if (index >= b->device_count)
        return util_fail(KILN_ERR_INVALID_DEVICE, "opencl: device %u does not exist (%u devices)",
                         index, b->device_count);
    kiln_status st = KILN_OK;
    pthread_mutex_lock(&b->lock);
    opencl_device_entry *entry = &b->devices[index];
    if (!entry->open)
        st = opencl_device_create(b, index, &entry->open);
    if (st == KILN_OK) {
        entry->open->refs++;
        *out = entry->open;
    }
    pthread_mutex_unlock(&b->lock);
    return st;
}

static void opencl_device_close(port_device *dev)
{
    if (!dev)
        return;
    port_backend *b = dev->backend;
    pthread_mutex_lock(&b->lock);
    int last = --dev->refs == 0;
    if (last)
        b->devices[dev->index].open = NULL;
    pthread_mutex_unlock(&b->lock);
    if (last)
        opencl_device_free(dev);
}

static kiln_status opencl_device_info(port_device *dev, kiln_device_info *out)
{
    *out = dev->info;
    return KILN_OK;
}

const port_backend_ops opencl_backend_ops = {
    .name = "opencl",
    .backend = KILN_BACKEND_OPENCL,
    .dialect = PORT_DIALECT_OPENCL,
    .open = opencl_open,
    .close = opencl_close,
    .device_count = opencl_device_count,
    .device_open = opencl_device_open,
    .device_close = opencl_device_close,
    .device_info = opencl_device_info,
    .compile = &opencl_compile_ops,
    .memory = &opencl_memory_ops,
    .execution = &opencl_execution_ops,
};
