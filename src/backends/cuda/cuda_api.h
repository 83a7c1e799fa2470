/* Our own declarations of the parts of the CUDA driver API and of NVRTC that
 * the adapter uses (cuew-style), so that building kiln needs no CUDA
 * toolkit. Both libraries are opened with dlopen at run time and every
 * function is reached through the tables below. The values are those of
 * cuda.h and nvrtc.h (CUDA 11 to 13); they are part of NVIDIA's stable ABI. */
#ifndef KILN_CUDA_API_H
#define KILN_CUDA_API_H

#include <stddef.h>

typedef int CUresult;
typedef int CUdevice;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;
typedef unsigned long long CUdeviceptr;
typedef int CUdevice_attribute;
typedef int CUjit_option;
/* NVRTC's own spelling of its opaque handle type. */
typedef struct _nvrtcProgram *nvrtcProgram; /* NOLINT(bugprone-reserved-identifier,cert-dcl37-c) */
typedef int nvrtcResult;

/* CUresult values the adapter tells apart (cuda.h, enum cudaError_enum). */
#define CUDA_SUCCESS 0
#define CUDA_ERROR_INVALID_VALUE 1
#define CUDA_ERROR_OUT_OF_MEMORY 2
#define CUDA_ERROR_NOT_INITIALIZED 3
#define CUDA_ERROR_DEINITIALIZED 4
#define CUDA_ERROR_DEVICE_UNAVAILABLE 46
#define CUDA_ERROR_NO_DEVICE 100
#define CUDA_ERROR_INVALID_DEVICE 101
#define CUDA_ERROR_INVALID_IMAGE 200
#define CUDA_ERROR_NO_BINARY_FOR_GPU 209
#define CUDA_ERROR_ECC_UNCORRECTABLE 214
#define CUDA_ERROR_INVALID_PTX 218
#define CUDA_ERROR_NVLINK_UNCORRECTABLE 220
#define CUDA_ERROR_UNSUPPORTED_PTX_VERSION 222
#define CUDA_ERROR_INVALID_HANDLE 400
#define CUDA_ERROR_NOT_FOUND 500
#define CUDA_ERROR_ILLEGAL_ADDRESS 700
#define CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES 701
#define CUDA_ERROR_LAUNCH_TIMEOUT 702
#define CUDA_ERROR_CONTEXT_IS_DESTROYED 709
#define CUDA_ERROR_ASSERT 710
#define CUDA_ERROR_HARDWARE_STACK_ERROR 714
#define CUDA_ERROR_ILLEGAL_INSTRUCTION 715
#define CUDA_ERROR_MISALIGNED_ADDRESS 716
#define CUDA_ERROR_INVALID_ADDRESS_SPACE 717
#define CUDA_ERROR_INVALID_PC 718
#define CUDA_ERROR_LAUNCH_FAILED 719
#define CUDA_ERROR_TOO_MANY_PEERS 711
#define CUDA_ERROR_NOT_SUPPORTED 801

/* Device attributes (cuda.h, enum CUdevice_attribute_enum). */
#define CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK 1
/* CUfunction_attribute: threads per block this kernel can launch with. */
#define CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK 0
#define CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X 2
#define CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y 3
#define CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z 4
#define CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X 5
#define CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y 6
#define CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z 7
#define CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK 8
#define CU_DEVICE_ATTRIBUTE_WARP_SIZE 10
#define CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT 16
#define CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR 75
#define CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR 76

/* cuMemHostRegister flag: the pages count as pinned in every context. */
#define CU_MEMHOSTREGISTER_PORTABLE 0x1u

#define CU_STREAM_NON_BLOCKING 0x1u
#define CU_EVENT_DEFAULT 0x0u

/* JIT options for cuModuleLoadDataEx (cuda.h, enum CUjit_option_enum). */
#define CU_JIT_ERROR_LOG_BUFFER 5
#define CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES 6

/* nvrtcResult values (nvrtc.h). */
#define NVRTC_SUCCESS 0
#define NVRTC_ERROR_INVALID_OPTION 5
#define NVRTC_ERROR_COMPILATION 6

/* The driver functions, by the symbol each is resolved from (the _v2 names
 * where the driver exports them: the plain names are the CUDA 3.x ABI). */
typedef struct cuda_driver_api {
    CUresult (*Init)(unsigned flags);
    CUresult (*DriverGetVersion)(int *version);
    CUresult (*GetErrorName)(CUresult error, const char **name);
    CUresult (*GetErrorString)(CUresult error, const char **text);
    CUresult (*DeviceGetCount)(int *count);
    CUresult (*DeviceGet)(CUdevice *device, int ordinal);
    CUresult (*DeviceGetName)(char *name, int length, CUdevice device);
    CUresult (*DeviceGetAttribute)(int *value, CUdevice_attribute attribute, CUdevice device);
    CUresult (*DeviceTotalMem)(size_t *bytes, CUdevice device);
    CUresult (*DevicePrimaryCtxRetain)(CUcontext *context, CUdevice device);
    CUresult (*DevicePrimaryCtxRelease)(CUdevice device);
    CUresult (*DevicePrimaryCtxReset)(CUdevice device);
    CUresult (*CtxSetCurrent)(CUcontext context);
    CUresult (*CtxSynchronize)(void);
    CUresult (*CtxGetStreamPriorityRange)(int *least, int *greatest);
    CUresult (*MemAlloc)(CUdeviceptr *ptr, size_t bytes);
    CUresult (*MemFree)(CUdeviceptr ptr);
    CUresult (*MemGetInfo)(size_t *free_bytes, size_t *total_bytes);
    CUresult (*MemcpyHtoDAsync)(CUdeviceptr dst, const void *src, size_t bytes, CUstream s);
    CUresult (*MemcpyDtoHAsync)(void *dst, CUdeviceptr src, size_t bytes, CUstream s);
    CUresult (*MemcpyDtoDAsync)(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream s);
    CUresult (*MemsetD8Async)(CUdeviceptr dst, unsigned char byte, size_t bytes, CUstream s);
    CUresult (*MemHostRegister)(void *ptr, size_t bytes, unsigned flags);
    CUresult (*MemHostUnregister)(void *ptr);
    CUresult (*ModuleLoadDataEx)(CUmodule *module, const void *image, unsigned count,
                                 CUjit_option *options, void **values);
    CUresult (*ModuleUnload)(CUmodule module);
    CUresult (*ModuleGetFunction)(CUfunction *function, CUmodule module, const char *name);
    CUresult (*FuncGetAttribute)(int *value, int attribute, CUfunction function);
    CUresult (*LaunchKernel)(CUfunction f, unsigned grid_x, unsigned grid_y, unsigned grid_z,
                             unsigned block_x, unsigned block_y, unsigned block_z,
                             unsigned shared_bytes, CUstream s, void **params, void **extra);
    CUresult (*StreamCreateWithPriority)(CUstream *s, unsigned flags, int priority);
    CUresult (*StreamDestroy)(CUstream s);
    CUresult (*StreamSynchronize)(CUstream s);
    CUresult (*EventCreate)(CUevent *e, unsigned flags);
    CUresult (*EventRecord)(CUevent e, CUstream s);
    CUresult (*EventSynchronize)(CUevent e);
    CUresult (*EventElapsedTime)(float *ms, CUevent start, CUevent end);
    CUresult (*EventDestroy)(CUevent e);
} cuda_driver_api;

typedef struct cuda_nvrtc_api {
    nvrtcResult (*Version)(int *major, int *minor);
    const char *(*GetErrorString)(nvrtcResult result);
    nvrtcResult (*CreateProgram)(nvrtcProgram *prog, const char *source, const char *name,
                                 int header_count, const char *const *headers,
                                 const char *const *include_names);
    nvrtcResult (*CompileProgram)(nvrtcProgram prog, int option_count,
                                  const char *const *options);
    nvrtcResult (*GetProgramLogSize)(nvrtcProgram prog, size_t *size);
    nvrtcResult (*GetProgramLog)(nvrtcProgram prog, char *log);
    nvrtcResult (*GetCUBINSize)(nvrtcProgram prog, size_t *size);
    nvrtcResult (*GetCUBIN)(nvrtcProgram prog, char *cubin);
    nvrtcResult (*GetPTXSize)(nvrtcProgram prog, size_t *size);
    nvrtcResult (*GetPTX)(nvrtcProgram prog, char *ptx);
    nvrtcResult (*DestroyProgram)(nvrtcProgram *prog);
    /* Optional (NVRTC 11.2+): NULL where the library lacks them. */
    nvrtcResult (*GetNumSupportedArchs)(int *count);
    nvrtcResult (*GetSupportedArchs)(int *archs);
} cuda_nvrtc_api;

/* Opens libcuda and resolves every driver function into api. 0 and a
 * reason when the library or one of its functions is missing. */
int cuda_api_load_driver(cuda_driver_api *api, char *reason, size_t reason_size);

/* Opens NVRTC (KILN_CUDA_PATH, /usr/local/cuda, then the loader's search
 * path) into api. 0 and the places tried in reason when none loads. */
int cuda_api_load_nvrtc(cuda_nvrtc_api *api, char *reason, size_t reason_size);

#endif
