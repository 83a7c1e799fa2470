/* Describing an OpenCL device from real queries: kiln_device_info, the
 * limits the adapter checks against, and the kernel cache identity. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../util/fail.h"
#include "opencl_internal.h"

/* Numeric device parameters by their OpenCL type; 0 when the query fails. */
static cl_ulong opencl_device_ulong(cl_device_id id, cl_device_info param)
{
    cl_ulong value = 0;
    return opencl_api.GetDeviceInfo(id, param, sizeof value, &value, NULL) == CL_SUCCESS ? value : 0;
}

static cl_uint opencl_device_uint(cl_device_id id, cl_device_info param)
{
    cl_uint value = 0;
    return opencl_api.GetDeviceInfo(id, param, sizeof value, &value, NULL) == CL_SUCCESS ? value : 0;
}

static size_t opencl_device_size(cl_device_id id, cl_device_info param)
{
    size_t value = 0;
    return opencl_api.GetDeviceInfo(id, param, sizeof value, &value, NULL) == CL_SUCCESS ? value : 0;
}

/* Copies text into a fixed field, truncated to fit. */
#define OPENCL_FIELD(field, text) \
    snprintf((field), sizeof(field), "%.*s", (int)sizeof(field) - 1, (text))

/* The extension list (space-separated), malloc'd; NULL when unavailable. */
static char *opencl_extensions(cl_device_id id)
{
    size_t size = 0;
    if (opencl_api.GetDeviceInfo(id, CL_DEVICE_EXTENSIONS, 0, NULL, &size) != CL_SUCCESS)
        return NULL;
    char *text = malloc(size + 1);
    if (!text)
        return NULL;
    if (opencl_api.GetDeviceInfo(id, CL_DEVICE_EXTENSIONS, size, text, NULL) != CL_SUCCESS) {
        free(text);
        return NULL;
    }
    text[size] = '\0';
    return text;
}

/* Whether the space-separated list holds name as a whole word (so that
 * "cl_khr_fp64" is not found in "cl_khr_fp64_foo"). */
static int opencl_has_extension(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && (p = strstr(p, name)) != NULL; p += n) {
        int starts = p == list || p[-1] == ' ';
        int ends = p[n] == '\0' || p[n] == ' ';
        if (starts && ends)
            return 1;
    }
    return 0;
}

static uint32_t opencl_capabilities(cl_device_id id)
{
    char *ext = opencl_extensions(id);
    /* Float atomics are emulated by the emitter with a compare-and-swap
     * loop on the bits, which every OpenCL 1.2 device runs. */
    uint32_t caps = KILN_CAP_FLOAT_ATOMICS;
    if (ext && opencl_has_extension(ext, "cl_khr_fp64"))
        caps |= KILN_CAP_DOUBLE;
    if (ext && opencl_has_extension(ext, "cl_khr_int64_base_atomics") &&
        opencl_has_extension(ext, "cl_khr_int64_extended_atomics"))
        caps |= KILN_CAP_INT64_ATOMICS;
    /* KILN_CAP_SUBGROUPS stays off: the emitter's sub_group_* code has not
     * been run on a device with cl_khr_subgroups (PoCL here has none), and
     * a subgroup of one work-item is always correct. */
    free(ext);
    return caps;
}

static kiln_device_kind opencl_kind(cl_device_type type)
{
    if (type & CL_DEVICE_TYPE_GPU)
        return KILN_DEVICE_KIND_GPU;
    if (type & CL_DEVICE_TYPE_CPU)
        return KILN_DEVICE_KIND_CPU;
    if (type & CL_DEVICE_TYPE_ACCELERATOR)
        return KILN_DEVICE_KIND_ACCELERATOR;
    return KILN_DEVICE_KIND_OTHER;
}

static uint32_t opencl_clamp_u32(uint64_t value)
{
    return value > UINT32_MAX ? UINT32_MAX : (uint32_t)value;
}

static kiln_status opencl_identity(port_device *dev)
{
    char platform_name[OPENCL_TEXT_MAX], platform_version[OPENCL_TEXT_MAX];
    char device_version[OPENCL_TEXT_MAX], driver[OPENCL_TEXT_MAX];
    opencl_platform_text(dev->platform, CL_PLATFORM_NAME, platform_name, sizeof platform_name);
    opencl_platform_text(dev->platform, CL_PLATFORM_VERSION, platform_version,
                         sizeof platform_version);
    opencl_device_text(dev->id, CL_DEVICE_VERSION, device_version, sizeof device_version);
    opencl_device_text(dev->id, CL_DRIVER_VERSION, driver, sizeof driver);
    int n = snprintf(dev->identity, sizeof dev->identity,
                     "platform=%s %s; device=%s; driver=%s; version=%s", platform_name,
                     platform_version, dev->info.name, driver, device_version);
    if (n < 0 || (size_t)n >= sizeof dev->identity)
        return util_fail(KILN_ERR_INTERNAL, "opencl: the cache identity of %s is too long",
                         dev->info.name);
    return KILN_OK;
}

kiln_status opencl_describe(port_device *dev)
{
    kiln_device_info *info = &dev->info;
    cl_device_id id = dev->id;
    char text[OPENCL_TEXT_MAX];
    memset(info, 0, sizeof *info);
    opencl_device_text(id, CL_DEVICE_NAME, text, sizeof text);
    OPENCL_FIELD(info->name, text);
    opencl_device_text(id, CL_DEVICE_VENDOR, text, sizeof text);
    OPENCL_FIELD(info->vendor, text);
    opencl_device_text(id, CL_DRIVER_VERSION, text, sizeof text);
    OPENCL_FIELD(info->driver_version, text);
    /* "OpenCL C 1.2 PoCL": what the kernels are compiled for. */
    opencl_device_text(id, CL_DEVICE_OPENCL_C_VERSION, text, sizeof text);
    OPENCL_FIELD(info->architecture, text);
    info->backend = KILN_BACKEND_OPENCL;
    info->backend_index = dev->index;
    info->kind = opencl_kind(opencl_device_ulong(id, CL_DEVICE_TYPE));
    info->memory_bytes = opencl_device_ulong(id, CL_DEVICE_GLOBAL_MEM_SIZE);
    info->compute_units = opencl_device_uint(id, CL_DEVICE_MAX_COMPUTE_UNITS);
    info->max_work_group_size =
        opencl_clamp_u32(opencl_device_size(id, CL_DEVICE_MAX_WORK_GROUP_SIZE));
    info->shared_memory_bytes = opencl_device_ulong(id, CL_DEVICE_LOCAL_MEM_SIZE);
    /* Subgroups are not enabled (opencl_capabilities): one item each. */
    info->subgroup_size = 1;
    info->capabilities = opencl_capabilities(id);
    info->health = opencl_device_uint(id, CL_DEVICE_AVAILABLE) ? KILN_HEALTH_HEALTHY
                                                                         : KILN_HEALTH_LOST;
    dev->max_alloc_bytes = opencl_device_ulong(id, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
    dev->has_compiler = opencl_device_uint(id, CL_DEVICE_COMPILER_AVAILABLE) != 0;
    if (opencl_api.GetDeviceInfo(id, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof dev->max_item_sizes,
                                 dev->max_item_sizes, NULL) != CL_SUCCESS)
        for (unsigned d = 0; d < 3; d++)
            dev->max_item_sizes[d] = info->max_work_group_size;
    if (info->memory_bytes == 0 || info->max_work_group_size == 0)
        return util_fail(KILN_ERR_DEVICE, "opencl: device %u (%s) reports no memory or work-group",
                         dev->index, info->name);
    return opencl_identity(dev);
}
