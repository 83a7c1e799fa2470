/* Loading libcuda and NVRTC at run time. The libraries stay loaded for the
 * life of the process: unloading libcuda after cuInit is not supported by
 * the driver, and NVRTC is small next to it. */
#include "cuda_api.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CUDA_DRIVER_LIBRARY "libcuda.so.1"
#define CUDA_DRIVER_LIBRARY_DEV "libcuda.so"
#define CUDA_DEFAULT_TOOLKIT "/usr/local/cuda"
#define CUDA_PATH_MAX 4096

/* Library names NVRTC has shipped under, newest first; the unversioned
 * name comes from a toolkit's development package. */
static const char *const cuda_nvrtc_names[] = {
    "libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so.11",
};
#define CUDA_NVRTC_NAME_COUNT (sizeof cuda_nvrtc_names / sizeof cuda_nvrtc_names[0])

typedef struct cuda_symbol {
    const char *name;
    const char *fallback; /* older name of the same function, or NULL */
    void **slot;
    int optional;
} cuda_symbol;

/* dlsym returns a data pointer; POSIX guarantees it converts to a function
 * pointer, which is what the slots hold. */
static int cuda_resolve(void *library, const cuda_symbol *symbols, size_t count,
                        char *reason, size_t reason_size, const char *library_name)
{
    for (size_t i = 0; i < count; i++) {
        void *p = dlsym(library, symbols[i].name);
        if (!p && symbols[i].fallback)
            p = dlsym(library, symbols[i].fallback);
        if (!p && !symbols[i].optional) {
            snprintf(reason, reason_size, "%s has no %s (too old a driver or library?)",
                     library_name, symbols[i].name);
            return 0;
        }
        *symbols[i].slot = p;
    }
    return 1;
}

#define CUDA_SYM(api, field, name) {name, NULL, (void **)&(api)->field, 0}
#define CUDA_SYM_OR(api, field, name, old) {name, old, (void **)&(api)->field, 0}
#define CUDA_SYM_OPTIONAL(api, field, name) {name, NULL, (void **)&(api)->field, 1}

int cuda_api_load_driver(cuda_driver_api *api, char *reason, size_t reason_size)
{
    void *library = dlopen(CUDA_DRIVER_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        /* Keep the first failure's text: it names the library that matters. */
        const char *why = dlerror();
        snprintf(reason, reason_size, "no NVIDIA driver: cannot load %s (%s)",
                 CUDA_DRIVER_LIBRARY, why ? why : "not found");
        library = dlopen(CUDA_DRIVER_LIBRARY_DEV, RTLD_NOW | RTLD_LOCAL);
    }
    if (!library)
        return 0;
    const cuda_symbol symbols[] = {
        CUDA_SYM(api, Init, "cuInit"),
        CUDA_SYM(api, DriverGetVersion, "cuDriverGetVersion"),
        CUDA_SYM(api, GetErrorName, "cuGetErrorName"),
        CUDA_SYM(api, GetErrorString, "cuGetErrorString"),
        CUDA_SYM(api, DeviceGetCount, "cuDeviceGetCount"),
        CUDA_SYM(api, DeviceGet, "cuDeviceGet"),
        CUDA_SYM(api, DeviceGetName, "cuDeviceGetName"),
        CUDA_SYM(api, DeviceGetAttribute, "cuDeviceGetAttribute"),
        CUDA_SYM(api, DeviceTotalMem, "cuDeviceTotalMem_v2"),
        CUDA_SYM(api, DevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain"),
        CUDA_SYM(api, DevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2"),
        CUDA_SYM(api, DevicePrimaryCtxReset, "cuDevicePrimaryCtxReset_v2"),
        CUDA_SYM(api, CtxSetCurrent, "cuCtxSetCurrent"),
        CUDA_SYM(api, CtxSynchronize, "cuCtxSynchronize"),
        CUDA_SYM(api, CtxGetStreamPriorityRange, "cuCtxGetStreamPriorityRange"),
        CUDA_SYM(api, MemAlloc, "cuMemAlloc_v2"),
        CUDA_SYM(api, MemFree, "cuMemFree_v2"),
        CUDA_SYM(api, MemGetInfo, "cuMemGetInfo_v2"),
        CUDA_SYM(api, MemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2"),
        CUDA_SYM(api, MemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2"),
        CUDA_SYM(api, MemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2"),
        CUDA_SYM(api, MemsetD8Async, "cuMemsetD8Async"),
        CUDA_SYM_OR(api, MemHostRegister, "cuMemHostRegister_v2", "cuMemHostRegister"),
        CUDA_SYM(api, MemHostUnregister, "cuMemHostUnregister"),
        CUDA_SYM(api, ModuleLoadDataEx, "cuModuleLoadDataEx"),
        CUDA_SYM(api, ModuleUnload, "cuModuleUnload"),
        CUDA_SYM(api, ModuleGetFunction, "cuModuleGetFunction"),
        CUDA_SYM(api, FuncGetAttribute, "cuFuncGetAttribute"),
        CUDA_SYM(api, LaunchKernel, "cuLaunchKernel"),
        CUDA_SYM(api, StreamCreateWithPriority, "cuStreamCreateWithPriority"),
        CUDA_SYM(api, StreamDestroy, "cuStreamDestroy_v2"),
        CUDA_SYM(api, StreamSynchronize, "cuStreamSynchronize"),
        CUDA_SYM(api, EventCreate, "cuEventCreate"),
        CUDA_SYM(api, EventRecord, "cuEventRecord"),
        CUDA_SYM(api, EventSynchronize, "cuEventSynchronize"),
        /* CUDA 12.8 added _v2 (same signature); 13 dropped the old one. */
        CUDA_SYM_OR(api, EventElapsedTime, "cuEventElapsedTime_v2", "cuEventElapsedTime"),
        CUDA_SYM(api, EventDestroy, "cuEventDestroy_v2"),
    };
    if (!cuda_resolve(library, symbols, sizeof symbols / sizeof symbols[0], reason, reason_size,
                      CUDA_DRIVER_LIBRARY)) {
        dlclose(library);
        return 0;
    }
    return 1;
}

static int cuda_nvrtc_resolve(void *library, cuda_nvrtc_api *api, char *reason,
                              size_t reason_size, const char *path)
{
    const cuda_symbol symbols[] = {
        CUDA_SYM(api, Version, "nvrtcVersion"),
        CUDA_SYM(api, GetErrorString, "nvrtcGetErrorString"),
        CUDA_SYM(api, CreateProgram, "nvrtcCreateProgram"),
        CUDA_SYM(api, CompileProgram, "nvrtcCompileProgram"),
        CUDA_SYM(api, GetProgramLogSize, "nvrtcGetProgramLogSize"),
        CUDA_SYM(api, GetProgramLog, "nvrtcGetProgramLog"),
        CUDA_SYM(api, GetCUBINSize, "nvrtcGetCUBINSize"),
        CUDA_SYM(api, GetCUBIN, "nvrtcGetCUBIN"),
        CUDA_SYM(api, GetPTXSize, "nvrtcGetPTXSize"),
        CUDA_SYM(api, GetPTX, "nvrtcGetPTX"),
        CUDA_SYM(api, DestroyProgram, "nvrtcDestroyProgram"),
        CUDA_SYM_OPTIONAL(api, GetNumSupportedArchs, "nvrtcGetNumSupportedArchs"),
        CUDA_SYM_OPTIONAL(api, GetSupportedArchs, "nvrtcGetSupportedArchs"),
    };
    return cuda_resolve(library, symbols, sizeof symbols / sizeof symbols[0], reason,
                        reason_size, path);
}

/* Tries every NVRTC name in dir ("" = the loader's search path). */
static void *cuda_nvrtc_open_in(const char *dir, char *path, size_t path_size)
{
    for (size_t i = 0; i < CUDA_NVRTC_NAME_COUNT; i++) {
        int n = snprintf(path, path_size, "%s%s%s", dir, *dir ? "/" : "", cuda_nvrtc_names[i]);
        if (n < 0 || (size_t)n >= path_size)
            continue; /* a truncated path would name another file */
        void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (library)
            return library;
    }
    return NULL;
}

int cuda_api_load_nvrtc(cuda_nvrtc_api *api, char *reason, size_t reason_size)
{
    char dirs[3][CUDA_PATH_MAX];
    size_t dir_count = 0;
    const char *toolkit = getenv("KILN_CUDA_PATH");
    if (toolkit && *toolkit) {
        snprintf(dirs[dir_count++], CUDA_PATH_MAX, "%s/lib64", toolkit);
        snprintf(dirs[dir_count++], CUDA_PATH_MAX, "%s/lib", toolkit);
    }
    snprintf(dirs[dir_count++], CUDA_PATH_MAX, "%s/lib64", CUDA_DEFAULT_TOOLKIT);
    char path[CUDA_PATH_MAX + 64];
    void *library = NULL;
    for (size_t i = 0; i < dir_count && !library; i++)
        library = cuda_nvrtc_open_in(dirs[i], path, sizeof path);
    if (!library)
        library = cuda_nvrtc_open_in("", path, sizeof path);
    if (!library) {
        snprintf(reason, reason_size,
                 "NVRTC (libnvrtc.so) was not found in $KILN_CUDA_PATH/lib64, "
                 "$KILN_CUDA_PATH/lib (KILN_CUDA_PATH=%s), " CUDA_DEFAULT_TOOLKIT
                 "/lib64 or the loader's path; install the CUDA toolkit or set "
                 "KILN_CUDA_PATH to it",
                 toolkit && *toolkit ? toolkit : "unset");
        return 0;
    }
    if (!cuda_nvrtc_resolve(library, api, reason, reason_size, path)) {
        dlclose(library);
        return 0;
    }
    return 1;
}
