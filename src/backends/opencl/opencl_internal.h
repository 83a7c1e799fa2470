/* What the files of the OpenCL adapter share: the table of OpenCL entry
 * points resolved from the ICD loader at run time, the structs behind the
 * port's opaque handles and the cross-file helpers (prefix opencl_).
 * Nothing outside src/backends/opencl includes this. */
#ifndef KILN_OPENCL_INTERNAL_H
#define KILN_OPENCL_INTERNAL_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "../../ports/backend_port.h"

/* Every OpenCL function the adapter calls. The loader is opened with dlopen
 * and each entry is looked up with dlsym, so libkiln never links -lOpenCL
 * and runs where no OpenCL is installed. The table's members are named
 * without the "cl" prefix and typed from the declarations in <CL/cl.h>. */
#define OPENCL_FUNCTIONS(X)                                                    \
    X(GetPlatformIDs) X(GetPlatformInfo) X(GetDeviceIDs) X(GetDeviceInfo)      \
    X(CreateContext) X(ReleaseContext) X(CreateCommandQueue)                   \
    X(ReleaseCommandQueue) X(Flush) X(Finish) X(CreateBuffer)                  \
    X(ReleaseMemObject) X(EnqueueWriteBuffer) X(EnqueueReadBuffer)             \
    X(EnqueueCopyBuffer) X(EnqueueFillBuffer) X(CreateProgramWithSource)       \
    X(CreateProgramWithBinary) X(BuildProgram) X(GetProgramInfo)               \
    X(GetProgramBuildInfo) X(ReleaseProgram) X(CreateKernel) X(ReleaseKernel)  \
    X(GetKernelInfo) X(GetKernelWorkGroupInfo) X(SetKernelArg) X(EnqueueNDRangeKernel)          \
    X(EnqueueMarkerWithWaitList) X(WaitForEvents) X(GetEventInfo)              \
    X(GetEventProfilingInfo) X(RetainEvent) X(ReleaseEvent)                    \
    X(EnqueueMapBuffer) X(EnqueueUnmapMemObject)

/* name is pasted and declared, never evaluated: no parentheses to add. */
/* NOLINTNEXTLINE(bugprone-macro-parentheses) */
#define OPENCL_MEMBER(name) __typeof__(&cl##name) name;
typedef struct opencl_functions {
    OPENCL_FUNCTIONS(OPENCL_MEMBER)
} opencl_functions;
#undef OPENCL_MEMBER

/* The ICD loader's sonames, tried in order: the versioned name that the
 * runtime package installs, then the development symlink. */
#define OPENCL_LIBRARY_NAMES {"libOpenCL.so.1", "libOpenCL.so", NULL}

/* The ICD extension's "no platform" code (<CL/cl_ext.h>), returned by the
 * loader when no vendor is installed. */
#define OPENCL_PLATFORM_NOT_FOUND_KHR (-1001)

/* Filled once per process by opencl_load (opencl_loader.c) and read-only
 * afterwards. */
extern opencl_functions opencl_api;

/* Longest platform or device string kept (names, versions, extensions). */
#define OPENCL_TEXT_MAX 1024

/* One device the loader reported, with what enumeration learnt about it. */
typedef struct opencl_device_entry {
    cl_platform_id platform;
    cl_device_id id;
    port_device *open; /* NULL until device_open; reference-counted */
} opencl_device_entry;

struct port_backend {
    pthread_mutex_t lock; /* guards the open devices and their counts */
    uint32_t device_count;
    opencl_device_entry *devices; /* in enumeration order: platform, then device */
};

struct port_device {
    port_backend *backend;
    uint32_t index;
    unsigned refs; /* device_open calls not yet closed (under backend->lock) */
    cl_platform_id platform;
    cl_device_id id;
    cl_context context;
    kiln_device_info info;
    char identity[4 * OPENCL_TEXT_MAX]; /* cache_identity, fixed at open */
    uint64_t max_alloc_bytes;           /* CL_DEVICE_MAX_MEM_ALLOC_SIZE */
    size_t max_item_sizes[3];           /* CL_DEVICE_MAX_WORK_ITEM_SIZES */
    int has_compiler;                   /* CL_DEVICE_COMPILER_AVAILABLE */
    /* OpenCL has no query for device-wide memory use: this counts what
     * this adapter allocated on the device. */
    _Atomic uint64_t used_bytes;
    pthread_mutex_t probe_lock; /* serializes health probes on probe_queue */
    cl_command_queue probe_queue; /* for health(); created on first probe */
};

struct port_module {
    port_device *dev;
    cl_program program;
    pthread_mutex_t lock;     /* guards functions */
    port_function *functions; /* looked up so far; released with the module */
};

/* clSetKernelArg is not thread-safe per kernel: setting the arguments and
 * enqueueing happen under lock, so two streams may launch one function. */
struct port_function {
    port_module *module;
    cl_kernel kernel;
    pthread_mutex_t lock;
    size_t work_group_limit; /* CL_KERNEL_WORK_GROUP_SIZE */
    cl_uint arg_count;
    port_function *next;
    char name[];
};

struct port_mem {
    cl_mem mem;
    size_t bytes;
};

/* A launch the stream has not yet seen complete: its status is checked at
 * synchronize (or when the list is pruned), so that a kernel that failed
 * on the device is reported even if no one waits on its event. */
typedef struct opencl_pending {
    cl_event event;
    char kernel[64]; /* its name, for the error detail */
} opencl_pending;

/* Most launches a stream keeps pending; beyond it the host waits for the
 * older half, which bounds memory and the driver's event count. */
#define OPENCL_PENDING_MAX 1024u

struct port_stream {
    port_device *dev;
    cl_command_queue queue; /* in order, with profiling */
    int priority;           /* kept; OpenCL 1.2 queues have no priorities */
    pthread_mutex_t lock;   /* guards what follows */
    opencl_pending *pending; /* oldest first */
    size_t pending_count, pending_capacity;
    kiln_status fault;      /* a launch that failed, reported at synchronize */
    char fault_detail[256];
};

/* A point of a stream: the start or the end of the command behind event.
 * A launch's begin and end share one cl_event, each holding a reference. */
struct port_event {
    cl_event event;
    cl_profiling_info point; /* CL_PROFILING_COMMAND_START or _END */
};

extern const port_compile opencl_compile_ops;
extern const port_memory opencl_memory_ops;
extern const port_execution opencl_execution_ops;

/* Opens the ICD loader once per process and resolves opencl_api. On
 * failure writes why into reason and returns KILN_ERR_BACKEND_UNAVAILABLE. */
kiln_status opencl_load(char *reason, size_t reason_size);

/* Resolves every function of opencl_functions from the first loadable of
 * names (NULL-terminated) into api. Exposed for tests that name a library
 * that does not exist; the adapter itself goes through opencl_load. */
kiln_status opencl_load_from(const char *const *names, opencl_functions *api, void **handle,
                             char *reason, size_t reason_size);

/* "CL_OUT_OF_RESOURCES" for -5, "CL_UNKNOWN_ERROR" for a code not listed. */
const char *opencl_error_name(cl_int err);

/* The kiln status a runtime error means in general. CL_OUT_OF_RESOURCES
 * is device memory here; launch paths decide on their own. */
kiln_status opencl_status(cl_int err);

/* What every detail of this adapter starts with. */
#define OPENCL_DETAIL_PREFIX "opencl: "

/* util_fail with "opencl: <what>: CL_NAME (code)". */
kiln_status opencl_fail(kiln_status status, cl_int err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* A string parameter of a device or platform, always NUL-terminated; ""
 * when the query fails. */
void opencl_device_text(cl_device_id id, cl_device_info param, char *out, size_t size);
void opencl_platform_text(cl_platform_id id, cl_platform_info param, char *out, size_t size);

/* Describes the device into dev->info, dev->identity and the limits. */
kiln_status opencl_describe(port_device *dev);

#endif
