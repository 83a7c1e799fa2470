/* The OpenCL dialect builds with a real OpenCL C compiler (PoCL here) via
 * clBuildProgram, and runs: barriers, shared memory, integer and float
 * atomics give the host's answer. libOpenCL is loaded at run time; no
 * platform (or no library) is a skip (77). */
#include "lang/harness.h"

#if __has_include(<CL/cl.h>)
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

typedef struct cl_api {
    void *dl;
    cl_int (*GetPlatformIDs)(cl_uint, cl_platform_id *, cl_uint *);
    cl_int (*GetDeviceIDs)(cl_platform_id, cl_device_type, cl_uint, cl_device_id *, cl_uint *);
    cl_int (*GetDeviceInfo)(cl_device_id, cl_device_info, size_t, void *, size_t *);
    cl_context (*CreateContext)(const cl_context_properties *, cl_uint, const cl_device_id *,
                                void *, void *, cl_int *);
    cl_command_queue (*CreateCommandQueue)(cl_context, cl_device_id, cl_bitfield, cl_int *);
    cl_program (*CreateProgramWithSource)(cl_context, cl_uint, const char **, const size_t *, cl_int *);
    cl_int (*BuildProgram)(cl_program, cl_uint, const cl_device_id *, const char *, void *, void *);
    cl_int (*GetProgramBuildInfo)(cl_program, cl_device_id, cl_program_build_info, size_t, void *, size_t *);
    cl_kernel (*CreateKernel)(cl_program, const char *, cl_int *);
    cl_mem (*CreateBuffer)(cl_context, cl_mem_flags, size_t, void *, cl_int *);
    cl_int (*SetKernelArg)(cl_kernel, cl_uint, size_t, const void *);
    cl_int (*EnqueueNDRangeKernel)(cl_command_queue, cl_kernel, cl_uint, const size_t *, const size_t *,
                                   const size_t *, cl_uint, const void *, void *);
    cl_int (*EnqueueReadBuffer)(cl_command_queue, cl_mem, cl_bool, size_t, size_t, void *, cl_uint,
                                const void *, void *);
    cl_int (*Finish)(cl_command_queue);
    cl_int (*ReleaseMemObject)(cl_mem);
    cl_int (*ReleaseKernel)(cl_kernel);
    cl_int (*ReleaseProgram)(cl_program);
    cl_int (*ReleaseCommandQueue)(cl_command_queue);
    cl_int (*ReleaseContext)(cl_context);
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    lang_caps caps;
} cl_api;

static cl_api api;

#define LOAD(name) (*(void **)&api.name = dlsym(api.dl, "cl" #name)) != NULL

static int cl_open(void)
{
    api.dl = dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!api.dl)
        return 0;
    if (!(LOAD(GetPlatformIDs) && LOAD(GetDeviceIDs) && LOAD(GetDeviceInfo) && LOAD(CreateContext) &&
          LOAD(CreateCommandQueue) && LOAD(CreateProgramWithSource) && LOAD(BuildProgram) &&
          LOAD(GetProgramBuildInfo) && LOAD(CreateKernel) && LOAD(CreateBuffer) &&
          LOAD(SetKernelArg) && LOAD(EnqueueNDRangeKernel) && LOAD(EnqueueReadBuffer) &&
          LOAD(Finish) && LOAD(ReleaseMemObject) && LOAD(ReleaseKernel) && LOAD(ReleaseProgram) &&
          LOAD(ReleaseCommandQueue) && LOAD(ReleaseContext)))
        return 0;
    cl_platform_id platform;
    cl_uint count = 0;
    if (api.GetPlatformIDs(1, &platform, &count) != CL_SUCCESS || count == 0)
        return 0;
    if (api.GetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &api.device, &count) != CL_SUCCESS || !count)
        return 0;
    cl_int err;
    api.context = api.CreateContext(NULL, 1, &api.device, NULL, NULL, &err);
    if (!api.context)
        return 0;
    api.queue = api.CreateCommandQueue(api.context, api.device, 0, &err);
    char ext[8192] = "";
    api.GetDeviceInfo(api.device, CL_DEVICE_EXTENSIONS, sizeof ext - 1, ext, NULL);
    api.caps.has_double = strstr(ext, "cl_khr_fp64") != NULL;
    api.caps.has_int64_atomics = strstr(ext, "cl_khr_int64_base_atomics") != NULL &&
                                 strstr(ext, "cl_khr_int64_extended_atomics") != NULL;
    api.caps.has_float_atomics = 1; /* emulated with atomic_cmpxchg */
    api.caps.has_subgroups = 0;
    return api.queue != NULL;
}

static cl_program cl_build(const char *src, const char *defines)
{
    lang_unit *u = harness_translate(src, PORT_DIALECT_OPENCL, defines, api.caps);
    const char *text = lang_unit_source(u);
    size_t len = lang_unit_source_length(u);
    cl_int err;
    cl_program p = api.CreateProgramWithSource(api.context, 1, &text, &len, &err);
    assert_non_null(p);
    if (api.BuildProgram(p, 1, &api.device, "", NULL, NULL) != CL_SUCCESS) {
        char log[16384] = "";
        api.GetProgramBuildInfo(p, api.device, CL_PROGRAM_BUILD_LOG, sizeof log - 1, log, NULL);
        fprintf(stderr, "%s\n---- build log:\n%s\n", text, log);
        fail_msg("clBuildProgram failed");
    }
    lang_unit_free(u);
    return p;
}

static void everything_builds_with_opencl(void **state)
{
    (void)state;
    char *src = harness_read_corpus("everything.kc");
    if (!api.caps.has_double || !api.caps.has_int64_atomics) {
        fprintf(stderr, "device lacks fp64 or int64 atomics: building without them is "
                        "covered by the capability errors\n");
        free(src);
        skip();
    }
    api.ReleaseProgram(cl_build(src, NULL));
    free(src);
}

static void histogram_and_reduction_run_on_opencl(void **state)
{
    (void)state;
    char *src = harness_read_corpus("sgemm.kc");
    cl_program p = cl_build(src, "-DTS=8");
    free(src);
    cl_int err;
    unsigned n = 1000 + (unsigned)(rand() % 3000);
    unsigned *data = malloc(n * sizeof *data), bins[16] = {0}, ref[16] = {0};
    float total = 0, ref_total = 0;
    for (unsigned i = 0; i < n; i++) {
        data[i] = (unsigned)rand();
        ref[data[i] % 16]++;
        ref_total += (float)(data[i] % 4);
    }
    cl_mem d = api.CreateBuffer(api.context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, n * 4, data, &err);
    cl_mem b = api.CreateBuffer(api.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof bins, bins, &err);
    cl_mem t = api.CreateBuffer(api.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, 4, &total, &err);
    cl_kernel k = api.CreateKernel(p, "histogram", &err);
    assert_non_null(k);
    api.SetKernelArg(k, 0, sizeof d, &d);
    api.SetKernelArg(k, 1, sizeof n, &n);
    api.SetKernelArg(k, 2, sizeof b, &b);
    api.SetKernelArg(k, 3, sizeof t, &t);
    size_t local = 64, global = (n + 63) / 64 * 64;
    assert_int_equal(api.EnqueueNDRangeKernel(api.queue, k, 1, NULL, &global, &local, 0, NULL, NULL), CL_SUCCESS);
    api.EnqueueReadBuffer(api.queue, b, CL_TRUE, 0, sizeof bins, bins, 0, NULL, NULL);
    api.EnqueueReadBuffer(api.queue, t, CL_TRUE, 0, 4, &total, 0, NULL, NULL);
    for (int i = 0; i < 16; i++)
        assert_int_equal(bins[i], ref[i]);
    assert_true(harness_close_enough(total, ref_total, 1e-5));
    api.ReleaseKernel(k);
    api.ReleaseMemObject(d), api.ReleaseMemObject(b), api.ReleaseMemObject(t);
    api.ReleaseProgram(p);
    free(data);
}

int main(void)
{
    if (!cl_open()) {
        fprintf(stderr, "no OpenCL platform: skipped\n");
        return 77;
    }
    harness_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(everything_builds_with_opencl),
        cmocka_unit_test(histogram_and_reduction_run_on_opencl),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    api.ReleaseCommandQueue(api.queue);
    api.ReleaseContext(api.context);
    return rc;
}
#else
int main(void)
{
    fprintf(stderr, "OpenCL headers not available at build time: skipped\n");
    return 77;
}
#endif
