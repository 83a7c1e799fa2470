/* Loading the OpenCL ICD loader at run time, and turning OpenCL error codes
 * into names and kiln statuses. The loader is opened once per process and
 * never closed: the vendor drivers it loads (PoCL, ...) run threads of
 * their own and cannot be unloaded safely. */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../util/fail.h"
#include "opencl_internal.h"

opencl_functions opencl_api;

typedef struct opencl_error_entry {
    cl_int code;
    const char *name;
} opencl_error_entry;

#define OPENCL_ERROR(code) {code, #code},
static const opencl_error_entry opencl_errors[] = {
    OPENCL_ERROR(CL_SUCCESS)
    OPENCL_ERROR(CL_DEVICE_NOT_FOUND)
    OPENCL_ERROR(CL_DEVICE_NOT_AVAILABLE)
    OPENCL_ERROR(CL_COMPILER_NOT_AVAILABLE)
    OPENCL_ERROR(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    OPENCL_ERROR(CL_OUT_OF_RESOURCES)
    OPENCL_ERROR(CL_OUT_OF_HOST_MEMORY)
    OPENCL_ERROR(CL_PROFILING_INFO_NOT_AVAILABLE)
    OPENCL_ERROR(CL_MEM_COPY_OVERLAP)
    OPENCL_ERROR(CL_IMAGE_FORMAT_MISMATCH)
    OPENCL_ERROR(CL_IMAGE_FORMAT_NOT_SUPPORTED)
    OPENCL_ERROR(CL_BUILD_PROGRAM_FAILURE)
    OPENCL_ERROR(CL_MAP_FAILURE)
    OPENCL_ERROR(CL_MISALIGNED_SUB_BUFFER_OFFSET)
    OPENCL_ERROR(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    OPENCL_ERROR(CL_COMPILE_PROGRAM_FAILURE)
    OPENCL_ERROR(CL_LINKER_NOT_AVAILABLE)
    OPENCL_ERROR(CL_LINK_PROGRAM_FAILURE)
    OPENCL_ERROR(CL_DEVICE_PARTITION_FAILED)
    OPENCL_ERROR(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
    OPENCL_ERROR(CL_INVALID_VALUE)
    OPENCL_ERROR(CL_INVALID_DEVICE_TYPE)
    OPENCL_ERROR(CL_INVALID_PLATFORM)
    OPENCL_ERROR(CL_INVALID_DEVICE)
    OPENCL_ERROR(CL_INVALID_CONTEXT)
    OPENCL_ERROR(CL_INVALID_QUEUE_PROPERTIES)
    OPENCL_ERROR(CL_INVALID_COMMAND_QUEUE)
    OPENCL_ERROR(CL_INVALID_HOST_PTR)
    OPENCL_ERROR(CL_INVALID_MEM_OBJECT)
    OPENCL_ERROR(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
    OPENCL_ERROR(CL_INVALID_IMAGE_SIZE)
    OPENCL_ERROR(CL_INVALID_SAMPLER)
    OPENCL_ERROR(CL_INVALID_BINARY)
    OPENCL_ERROR(CL_INVALID_BUILD_OPTIONS)
    OPENCL_ERROR(CL_INVALID_PROGRAM)
    OPENCL_ERROR(CL_INVALID_PROGRAM_EXECUTABLE)
    OPENCL_ERROR(CL_INVALID_KERNEL_NAME)
    OPENCL_ERROR(CL_INVALID_KERNEL_DEFINITION)
    OPENCL_ERROR(CL_INVALID_KERNEL)
    OPENCL_ERROR(CL_INVALID_ARG_INDEX)
    OPENCL_ERROR(CL_INVALID_ARG_VALUE)
    OPENCL_ERROR(CL_INVALID_ARG_SIZE)
    OPENCL_ERROR(CL_INVALID_KERNEL_ARGS)
    OPENCL_ERROR(CL_INVALID_WORK_DIMENSION)
    OPENCL_ERROR(CL_INVALID_WORK_GROUP_SIZE)
    OPENCL_ERROR(CL_INVALID_WORK_ITEM_SIZE)
    OPENCL_ERROR(CL_INVALID_GLOBAL_OFFSET)
    OPENCL_ERROR(CL_INVALID_EVENT_WAIT_LIST)
    OPENCL_ERROR(CL_INVALID_EVENT)
    OPENCL_ERROR(CL_INVALID_OPERATION)
    OPENCL_ERROR(CL_INVALID_GL_OBJECT)
    OPENCL_ERROR(CL_INVALID_BUFFER_SIZE)
    OPENCL_ERROR(CL_INVALID_MIP_LEVEL)
    OPENCL_ERROR(CL_INVALID_GLOBAL_WORK_SIZE)
    OPENCL_ERROR(CL_INVALID_PROPERTY)
    OPENCL_ERROR(CL_INVALID_IMAGE_DESCRIPTOR)
    OPENCL_ERROR(CL_INVALID_COMPILER_OPTIONS)
    OPENCL_ERROR(CL_INVALID_LINKER_OPTIONS)
    OPENCL_ERROR(CL_INVALID_DEVICE_PARTITION_COUNT)
    /* Codes of OpenCL 2.0 and later that a newer driver may still return;
     * <CL/cl.h> declares them only for a newer target version. */
    {-69, "CL_INVALID_PIPE_SIZE"},
    {-70, "CL_INVALID_DEVICE_QUEUE"},
    {-71, "CL_INVALID_SPEC_ID"},
    {-72, "CL_MAX_SIZE_RESTRICTION_EXCEEDED"},
    {OPENCL_PLATFORM_NOT_FOUND_KHR, "CL_PLATFORM_NOT_FOUND_KHR"},
};
#undef OPENCL_ERROR

const char *opencl_error_name(cl_int err)
{
    for (size_t i = 0; i < sizeof opencl_errors / sizeof opencl_errors[0]; i++)
        if (opencl_errors[i].code == err)
            return opencl_errors[i].name;
    return "CL_UNKNOWN_ERROR";
}

kiln_status opencl_status(cl_int err)
{
    switch (err) {
    case CL_SUCCESS:
        return KILN_OK;
    case CL_OUT_OF_HOST_MEMORY:
        return KILN_ERR_OUT_OF_HOST_MEMORY;
    case CL_MEM_OBJECT_ALLOCATION_FAILURE:
    case CL_OUT_OF_RESOURCES:
    case CL_INVALID_BUFFER_SIZE:
        return KILN_ERR_OUT_OF_MEMORY;
    case CL_DEVICE_NOT_AVAILABLE:
    case CL_DEVICE_NOT_FOUND:
        return KILN_ERR_DEVICE_LOST;
    case CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST:
        return KILN_ERR_DEVICE_FAULT;
    case CL_COMPILER_NOT_AVAILABLE:
    case CL_LINKER_NOT_AVAILABLE:
        return KILN_ERR_NO_COMPILER;
    case CL_BUILD_PROGRAM_FAILURE:
    case CL_COMPILE_PROGRAM_FAILURE:
    case CL_LINK_PROGRAM_FAILURE:
        return KILN_ERR_COMPILE;
    case CL_INVALID_KERNEL_NAME:
        return KILN_ERR_NOT_FOUND;
    case CL_INVALID_WORK_DIMENSION:
    case CL_INVALID_WORK_GROUP_SIZE:
    case CL_INVALID_WORK_ITEM_SIZE:
    case CL_INVALID_GLOBAL_OFFSET:
    case CL_INVALID_GLOBAL_WORK_SIZE:
        return KILN_ERR_INVALID_RANGE;
    case CL_INVALID_VALUE:
    case CL_INVALID_BINARY:
    case CL_INVALID_MEM_OBJECT:
    case CL_INVALID_ARG_INDEX:
    case CL_INVALID_ARG_VALUE:
    case CL_INVALID_ARG_SIZE:
    case CL_INVALID_KERNEL_ARGS:
    case CL_MEM_COPY_OVERLAP:
        return KILN_ERR_INVALID_ARG;
    default:
        return KILN_ERR_DEVICE;
    }
}

kiln_status opencl_fail(kiln_status status, cl_int err, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return util_fail(status, OPENCL_DETAIL_PREFIX "%s: %s (%d)", what, opencl_error_name(err),
                     (int)err);
}

void opencl_device_text(cl_device_id id, cl_device_info param, char *out, size_t size)
{
    out[0] = '\0';
    if (opencl_api.GetDeviceInfo(id, param, size - 1, out, NULL) != CL_SUCCESS)
        out[0] = '\0';
    out[size - 1] = '\0';
}

void opencl_platform_text(cl_platform_id id, cl_platform_info param, char *out, size_t size)
{
    out[0] = '\0';
    if (opencl_api.GetPlatformInfo(id, param, size - 1, out, NULL) != CL_SUCCESS)
        out[0] = '\0';
    out[size - 1] = '\0';
}

kiln_status opencl_load_from(const char *const *names, opencl_functions *api, void **handle,
                             char *reason, size_t reason_size)
{
    void *dl = NULL;
    for (size_t i = 0; names[i] && !dl; i++)
        dl = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        snprintf(reason, reason_size, "%s not found", names[0] ? names[0] : "libOpenCL");
        return util_fail(KILN_ERR_BACKEND_UNAVAILABLE, "opencl: %s", reason);
    }
    const char *missing = NULL;
    /* dlsym returns a data pointer; POSIX guarantees it converts to a
     * function pointer. */
#define OPENCL_RESOLVE(name)                                                   \
    if (!missing && !(*(void **)&api->name = dlsym(dl, "cl" #name)))          \
        missing = "cl" #name;
    OPENCL_FUNCTIONS(OPENCL_RESOLVE)
#undef OPENCL_RESOLVE
    if (missing) {
        dlclose(dl);
        memset(api, 0, sizeof *api);
        snprintf(reason, reason_size, "the OpenCL loader lacks %s (older than OpenCL 1.2)",
                 missing);
        return util_fail(KILN_ERR_BACKEND_UNAVAILABLE, "opencl: %s", reason);
    }
    *handle = dl;
    return KILN_OK;
}

static pthread_once_t opencl_once = PTHREAD_ONCE_INIT;
static kiln_status opencl_load_status;
static char opencl_load_reason[256];
static void *opencl_library;

/* KILN_OPENCL_LIBRARY names the one library to open instead of the ICD
 * loader's sonames (a path or a soname, as dlopen takes it): tests point it
 * at a library that lacks entry points, and a user may pick a loader outside
 * the search path. It grants nothing LD_LIBRARY_PATH does not, and like it
 * is ignored in set-user-ID programs (secure_getenv). */
#define OPENCL_LIBRARY_VARIABLE "KILN_OPENCL_LIBRARY"

static void opencl_load_once(void)
{
    static const char *const names[] = OPENCL_LIBRARY_NAMES;
    const char *chosen = secure_getenv(OPENCL_LIBRARY_VARIABLE);
    const char *const override[] = {chosen, NULL};
    opencl_load_status =
        opencl_load_from(chosen && *chosen ? override : names, &opencl_api, &opencl_library,
                         opencl_load_reason, sizeof opencl_load_reason);
}

kiln_status opencl_load(char *reason, size_t reason_size)
{
    pthread_once(&opencl_once, opencl_load_once);
    if (opencl_load_status != KILN_OK) {
        snprintf(reason, reason_size, "%s", opencl_load_reason);
        return util_fail(KILN_ERR_BACKEND_UNAVAILABLE, "opencl: %s", opencl_load_reason);
    }
    return KILN_OK;
}
