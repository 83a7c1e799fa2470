/* The OpenCL adapter when the driver fails before anything runs: platform
 * and device enumeration, context creation, device queries (failed, or
 * answering other devices' values: kinds, extension lists, long identities)
 * and the compile port (program creation, builds, binaries, kernels), plus
 * host allocation failures there. Each failure is injected into one call
 * (test-opencl-inject.h); the rest runs on the real driver. Checked: the
 * status, the detail naming the OpenCL call and error, and that the adapter
 * works again once the driver does. Skipped (77) without an OpenCL device. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backends/opencl/opencl_backend.h"
#include "test-opencl-inject.h"
#include "util/log_buffer.h"

#define SKIP_STATUS 77

/* Longer than any string the adapter keeps (OPENCL_TEXT_MAX). */
#define LONG_TEXT_BYTES (OPENCL_TEXT_MAX + 100)

static const char scale_source[] =
    "kernel void scale(global uint *out, global const uint *in, uint mul, uint n)\n"
    "{\n"
    "    size_t i = get_global_id(0);\n"
    "    if (i < n)\n"
    "        out[i] = in[i] * mul;\n"
    "}\n";

static const char broken_source[] = "kernel void broken(global uint *out) { out[0] = nope; }\n";

static const port_backend_ops *ops = &opencl_backend_ops;
static port_backend *backend;
static char device_name[KILN_NAME_MAX];

static port_device *open_device(void)
{
    port_device *dev = NULL;
    kiln_status st = ops->device_open(backend, 0, &dev);
    if (st != KILN_OK)
        fail_msg("device_open: %d %s", (int)st, util_last_error());
    return dev;
}

static port_module *compile_source(port_device *dev, const char *source)
{
    port_compile_input in = {.source = source, .source_length = strlen(source),
                             .source_name = "inject.cl"};
    port_module *m = NULL;
    kiln_status st = ops->compile->compile(dev, &in, &m, NULL);
    if (st != KILN_OK)
        fail_msg("compile: %d %s", (int)st, util_last_error());
    return m;
}

static kiln_status open_backend(char *reason, size_t size)
{
    port_backend *b = (port_backend *)&b; /* not NULL: a failed open clears it */
    kiln_status st = ops->open(&b, reason, size);
    if (st == KILN_OK)
        ops->close(b);
    else
        assert_null(b);
    return st;
}

static void platform_failures_make_the_backend_unavailable(void **state)
{
    char reason[256];
    INJECT_FAIL(GetPlatformIDs, 0, CL_OUT_OF_HOST_MEMORY);
    EXPECT_FAIL(open_backend(reason, sizeof reason), KILN_ERR_BACKEND_UNAVAILABLE,
                "opencl: clGetPlatformIDs: CL_OUT_OF_HOST_MEMORY (-6)");
    assert_string_equal(reason, "clGetPlatformIDs failed: CL_OUT_OF_HOST_MEMORY");
    /* A loader that answers "none" without an error. */
    INJECT_FAIL(GetPlatformIDs, 0, CL_SUCCESS);
    inject.zero_count = 1;
    EXPECT_FAIL(open_backend(reason, sizeof reason), KILN_ERR_BACKEND_UNAVAILABLE,
                "opencl: no OpenCL platform");
    assert_string_equal(reason, "no OpenCL platform");
    /* The list itself fails after the count succeeded. */
    INJECT_FAIL(GetPlatformIDs, 1, CL_INVALID_VALUE);
    EXPECT_FAIL(open_backend(reason, sizeof reason), KILN_ERR_DEVICE,
                "opencl: clGetPlatformIDs: CL_INVALID_VALUE (-30)");
    assert_string_equal(reason, "clGetPlatformIDs: CL_INVALID_VALUE (-30)");
    inject_reset();
    assert_int_equal(open_backend(reason, sizeof reason), KILN_OK);
}

static void device_failures_are_reported_per_platform(void **state)
{
    cl_uint platforms = 0;
    assert_int_equal(inject_real.GetPlatformIDs(0, NULL, &platforms), CL_SUCCESS);
    char want[128], detail[160], reason[256];
    snprintf(want, sizeof want, "no OpenCL device on %u platform%s", platforms,
             platforms == 1 ? "" : "s");
    snprintf(detail, sizeof detail, "opencl: %s", want);
    /* Every platform without devices, by error or by an empty answer. */
    INJECT_FAIL(GetDeviceIDs, 0, CL_DEVICE_NOT_FOUND);
    inject.count = -1;
    EXPECT_FAIL(open_backend(reason, sizeof reason), KILN_ERR_BACKEND_UNAVAILABLE, detail);
    assert_string_equal(reason, want);
    INJECT_FAIL(GetDeviceIDs, 0, CL_SUCCESS);
    inject.count = -1;
    inject.zero_count = 1;
    assert_int_equal(open_backend(reason, sizeof reason), KILN_ERR_BACKEND_UNAVAILABLE);
    assert_string_equal(reason, want);
    /* The count, then the list, fails. */
    for (int skip = 0; skip < 2; skip++) {
        INJECT_FAIL(GetDeviceIDs, skip, CL_INVALID_PLATFORM);
        EXPECT_FAIL(open_backend(reason, sizeof reason), KILN_ERR_DEVICE,
                    "opencl: clGetDeviceIDs: CL_INVALID_PLATFORM (-32)");
        assert_string_equal(reason, "clGetDeviceIDs: CL_INVALID_PLATFORM (-32)");
    }
    inject_reset();
}

static void a_context_that_cannot_be_made_leaves_the_device_closed(void **state)
{
    port_device *dev = NULL;
    INJECT_FAIL(CreateContext, 0, CL_OUT_OF_HOST_MEMORY);
    EXPECT_FAIL(ops->device_open(backend, 0, &dev), KILN_ERR_OUT_OF_HOST_MEMORY,
                "opencl: clCreateContext for device 0: CL_OUT_OF_HOST_MEMORY (-6)");
    INJECT_FAIL(CreateContext, 0, CL_DEVICE_NOT_AVAILABLE);
    EXPECT_FAIL(ops->device_open(backend, 0, &dev), KILN_ERR_DEVICE,
                "opencl: clCreateContext for device 0: CL_DEVICE_NOT_AVAILABLE (-2)");
    assert_null(dev);
    inject_reset();
    dev = open_device();
    assert_string_equal(dev->info.name, device_name);
    ops->device_close(dev);
    uint32_t count = ops->device_count(backend);
    char want[128];
    snprintf(want, sizeof want, "opencl: device %u does not exist (%u devices)", count, count);
    EXPECT_FAIL(ops->device_open(backend, count, &dev), KILN_ERR_INVALID_DEVICE, want);
    assert_int_equal(ops->device_count(NULL), 0);
    ops->device_close(NULL);
    ops->close(NULL);
    /* A backend closed with a device still open frees it (the sanitizer
     * build checks that nothing leaks). */
    port_backend *b = NULL;
    char reason[256];
    assert_int_equal(ops->open(&b, reason, sizeof reason), KILN_OK);
    assert_int_equal(ops->device_open(b, 0, &dev), KILN_OK);
    assert_int_equal(dev->refs, 1);
    ops->close(b);
}

static void device_queries_that_fail_leave_fields_empty(void **state)
{
    INJECT_INFO(GetDeviceInfo, CL_DEVICE_NAME, CL_INVALID_VALUE, NULL, 0);
    port_device *dev = open_device();
    assert_string_equal(dev->info.name, "");
    assert_non_null(strstr(dev->identity, "; device=; "));
    ops->device_close(dev);
    INJECT_INFO(GetPlatformInfo, CL_PLATFORM_NAME, CL_INVALID_PLATFORM, NULL, 0);
    dev = open_device();
    assert_string_equal(dev->info.name, device_name);
    assert_int_equal(strncmp(dev->identity, "platform= ", strlen("platform= ")), 0);
    ops->device_close(dev);
    /* Without CL_DEVICE_MAX_WORK_ITEM_SIZES every dimension gets the
     * work-group limit. */
    INJECT_INFO(GetDeviceInfo, CL_DEVICE_MAX_WORK_ITEM_SIZES, CL_INVALID_VALUE, NULL, 0);
    dev = open_device();
    for (unsigned d = 0; d < 3; d++)
        assert_int_equal(dev->max_item_sizes[d], dev->info.max_work_group_size);
    ops->device_close(dev);
    /* A device without memory is refused. */
    const cl_ulong zero = 0;
    INJECT_INFO(GetDeviceInfo, CL_DEVICE_GLOBAL_MEM_SIZE, CL_SUCCESS, &zero, sizeof zero);
    char want[512];
    snprintf(want, sizeof want, "opencl: device 0 (%s) reports no memory or work-group",
             device_name);
    EXPECT_FAIL(ops->device_open(backend, 0, &dev), KILN_ERR_DEVICE, want);
    inject_reset();
}

static void the_kind_follows_the_device_type(void **state)
{
    static const struct {
        cl_device_type type;
        kiln_device_kind kind;
    } kinds[] = {
        {CL_DEVICE_TYPE_GPU, KILN_DEVICE_KIND_GPU},
        {CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_CPU, KILN_DEVICE_KIND_GPU},
        {CL_DEVICE_TYPE_CPU, KILN_DEVICE_KIND_CPU},
        {CL_DEVICE_TYPE_ACCELERATOR, KILN_DEVICE_KIND_ACCELERATOR},
        {CL_DEVICE_TYPE_CUSTOM, KILN_DEVICE_KIND_OTHER},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        INJECT_INFO(GetDeviceInfo, CL_DEVICE_TYPE, CL_SUCCESS, &kinds[i].type,
                    sizeof kinds[i].type);
        port_device *dev = open_device();
        assert_int_equal(dev->info.kind, kinds[i].kind);
        ops->device_close(dev);
    }
    inject_reset();
}

static uint32_t capabilities_with(const char *extensions)
{
    INJECT_INFO(GetDeviceInfo, CL_DEVICE_EXTENSIONS, CL_SUCCESS, extensions,
                strlen(extensions) + 1);
    port_device *dev = open_device();
    uint32_t caps = dev->info.capabilities;
    ops->device_close(dev);
    inject_reset();
    return caps;
}

static void capabilities_need_whole_extension_names(void **state)
{
    const uint32_t all = KILN_CAP_FLOAT_ATOMICS | KILN_CAP_DOUBLE | KILN_CAP_INT64_ATOMICS;
    assert_int_equal(capabilities_with("cl_khr_int64_extended_atomics cl_khr_fp64 "
                                       "cl_khr_int64_base_atomics"),
                     all);
    /* Prefixes, suffixes and one of the two int64 extensions count for
     * nothing. */
    assert_int_equal(capabilities_with("cl_khr_fp64_x xcl_khr_fp64 cl_khr_int64_base_atomics"),
                     KILN_CAP_FLOAT_ATOMICS);
    assert_int_equal(capabilities_with("cl_khr_fp64"), KILN_CAP_FLOAT_ATOMICS | KILN_CAP_DOUBLE);
    /* The list's size, then its text, cannot be read. */
    INJECT_INFO(GetDeviceInfo, CL_DEVICE_EXTENSIONS, CL_INVALID_VALUE, NULL, 0);
    port_device *dev = open_device();
    assert_int_equal(dev->info.capabilities, KILN_CAP_FLOAT_ATOMICS);
    ops->device_close(dev);
    INJECT_INFO(GetDeviceInfo, CL_DEVICE_EXTENSIONS, CL_INVALID_VALUE, NULL, 0);
    inject.with_value_only = 1;
    dev = open_device();
    assert_int_equal(dev->info.capabilities, KILN_CAP_FLOAT_ATOMICS);
    ops->device_close(dev);
    inject_reset();
}

static void an_unavailable_device_is_lost(void **state)
{
    const cl_bool no = CL_FALSE;
    INJECT_INFO(GetDeviceInfo, CL_DEVICE_AVAILABLE, CL_SUCCESS, &no, sizeof no);
    port_device *dev = open_device();
    assert_int_equal(dev->info.health, KILN_HEALTH_LOST);
    kiln_health health = KILN_HEALTH_HEALTHY;
    assert_int_equal(ops->execution->health(dev, &health), KILN_OK);
    assert_int_equal(health, KILN_HEALTH_LOST);
    INJECT_INFO(GetDeviceInfo, CL_DEVICE_AVAILABLE, CL_DEVICE_NOT_AVAILABLE, NULL, 0);
    health = KILN_HEALTH_HEALTHY;
    assert_int_equal(ops->execution->health(dev, &health), KILN_OK);
    assert_int_equal(health, KILN_HEALTH_LOST);
    inject_reset();
    assert_int_equal(ops->execution->health(dev, &health), KILN_OK);
    assert_int_equal(health, KILN_HEALTH_HEALTHY);
    ops->device_close(dev);
}

static uint64_t fnv1a(const char *text)
{
    uint64_t hash = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        hash = (hash ^ *p) * 0x100000001b3ull;
    return hash;
}

static void identities_too_long_are_hashed_or_refused(void **state)
{
    /* Every string the driver gives at full length: more than the
     * identity can hold. */
    static char long_text[LONG_TEXT_BYTES];
    memset(long_text, 'x', sizeof long_text - 1);
    INJECT_INFO(GetPlatformInfo, INJECT_ANY_PARAM, CL_SUCCESS, long_text, sizeof long_text);
    opencl_api.GetDeviceInfo = inject_GetDeviceInfo;
    port_device *dev = NULL;
    char want[512];
    snprintf(want, sizeof want, "opencl: the cache identity of %.*s is too long",
             KILN_NAME_MAX - 1, long_text);
    EXPECT_FAIL(ops->device_open(backend, 0, &dev), KILN_ERR_INTERNAL, want);
    inject_reset();
    /* A caller's buffer too small for the whole identity gets the name and
     * a hash of the whole. */
    dev = open_device();
    char full[8192], small[128];
    assert_int_equal(ops->compile->cache_identity(dev, full, sizeof full), KILN_OK);
    assert_int_equal(ops->compile->cache_identity(dev, small, sizeof small), KILN_OK);
    snprintf(want, sizeof want, "opencl %.64s; identity-fnv1a=%016llx", device_name,
             (unsigned long long)fnv1a(full));
    assert_string_equal(small, want);
    char tiny[10];
    snprintf(want, sizeof want, "opencl: the cache identity needs %zu bytes, got 10",
             strlen(small) + 1);
    EXPECT_FAIL(ops->compile->cache_identity(dev, tiny, sizeof tiny), KILN_ERR_INVALID_SIZE,
                want);
    ops->device_close(dev);
}

static void compile_failures_name_the_call_and_error(void **state)
{
    const cl_uint no = 0;
    INJECT_INFO(GetDeviceInfo, CL_DEVICE_COMPILER_AVAILABLE, CL_SUCCESS, &no, sizeof no);
    port_device *dev = open_device();
    inject_reset();
    port_compile_input in = {.source = scale_source, .source_length = strlen(scale_source)};
    port_module *m = NULL;
    char want[512];
    snprintf(want, sizeof want, "opencl: device %s has no OpenCL C compiler", device_name);
    EXPECT_FAIL(ops->compile->compile(dev, &in, &m, NULL), KILN_ERR_NO_COMPILER, want);
    ops->device_close(dev);

    dev = open_device();
    EXPECT_FAIL(ops->compile->compile(dev, NULL, &m, NULL), KILN_ERR_NULL_HANDLE,
                "opencl: nothing to compile");
    INJECT_FAIL(CreateProgramWithSource, 0, CL_OUT_OF_HOST_MEMORY);
    EXPECT_FAIL(ops->compile->compile(dev, &in, &m, NULL), KILN_ERR_OUT_OF_HOST_MEMORY,
                "opencl: clCreateProgramWithSource: CL_OUT_OF_HOST_MEMORY (-6)");
    /* What clBuildProgram returns decides the status; the detail and the
     * log both carry it. */
    static const struct {
        cl_int err;
        kiln_status status;
    } builds[] = {
        {CL_COMPILER_NOT_AVAILABLE, KILN_ERR_NO_COMPILER},
        {CL_OUT_OF_HOST_MEMORY, KILN_ERR_OUT_OF_HOST_MEMORY},
        {CL_INVALID_OPERATION, KILN_ERR_COMPILE},
    };
    for (size_t i = 0; i < sizeof builds / sizeof builds[0]; i++) {
        INJECT_FAIL(BuildProgram, 0, builds[i].err);
        port_log log = {0};
        snprintf(want, sizeof want, "opencl: clBuildProgram for %s: %s (%d)\n", device_name,
                 opencl_error_name(builds[i].err), (int)builds[i].err);
        util_clear_error();
        assert_int_equal(ops->compile->compile(dev, &in, &m, &log), builds[i].status);
        /* The driver's log of a program never built may follow. */
        assert_int_equal(strncmp(util_last_error(), want, strlen(want)), 0);
        assert_non_null(log.text);
        assert_int_equal(strncmp(log.text, want, strlen(want)), 0);
        util_log_free(&log);
    }
    /* A real build error whose log cannot be read: the detail still names
     * the failure. */
    INJECT_INFO(GetProgramBuildInfo, CL_PROGRAM_BUILD_LOG, CL_INVALID_VALUE, NULL, 0);
    port_compile_input bad = {.source = broken_source, .source_length = strlen(broken_source)};
    snprintf(want, sizeof want, "opencl: clBuildProgram for %s: CL_BUILD_PROGRAM_FAILURE (-11)\n",
             device_name);
    EXPECT_FAIL(ops->compile->compile(dev, &bad, &m, NULL), KILN_ERR_COMPILE, want);
    inject_reset();
    ops->device_close(dev);
}

static void binary_failures_are_refused(void **state)
{
    port_device *dev = open_device();
    port_module *m = compile_source(dev, scale_source);
    void *bytes = NULL;
    size_t size = 0;
    INJECT_INFO(GetProgramInfo, CL_PROGRAM_BINARY_SIZES, CL_INVALID_PROGRAM, NULL, 0);
    EXPECT_FAIL(ops->compile->module_binary(m, &bytes, &size), KILN_ERR_DEVICE,
                "opencl: clGetProgramInfo(CL_PROGRAM_BINARY_SIZES): CL_INVALID_PROGRAM (-44)");
    const size_t none = 0;
    INJECT_INFO(GetProgramInfo, CL_PROGRAM_BINARY_SIZES, CL_SUCCESS, &none, sizeof none);
    EXPECT_FAIL(ops->compile->module_binary(m, &bytes, &size), KILN_ERR_UNSUPPORTED,
                "opencl: the driver gives no program binary");
    INJECT_INFO(GetProgramInfo, CL_PROGRAM_BINARIES, CL_OUT_OF_RESOURCES, NULL, 0);
    EXPECT_FAIL(ops->compile->module_binary(m, &bytes, &size), KILN_ERR_DEVICE,
                "opencl: clGetProgramInfo(CL_PROGRAM_BINARIES): CL_OUT_OF_RESOURCES (-5)");
    assert_null(bytes);
    inject_reset();
    assert_int_equal(ops->compile->module_binary(m, &bytes, &size), KILN_OK);
    port_module *loaded = NULL;
    /* The driver refuses the binary: its per-device status is the reason. */
    INJECT_FAIL(CreateProgramWithBinary, 0, CL_INVALID_BINARY);
    inject.binary_status = CL_INVALID_VALUE;
    EXPECT_FAIL(ops->compile->module_load(dev, bytes, size, &loaded), KILN_ERR_INVALID_ARG,
                "opencl: clCreateProgramWithBinary: CL_INVALID_VALUE (-30)");
    INJECT_FAIL(CreateProgramWithBinary, 0, CL_OUT_OF_HOST_MEMORY);
    EXPECT_FAIL(ops->compile->module_load(dev, bytes, size, &loaded),
                KILN_ERR_OUT_OF_HOST_MEMORY,
                "opencl: clCreateProgramWithBinary: CL_OUT_OF_HOST_MEMORY (-6)");
    /* A binary that does not build is bad bytes, not bad source. */
    INJECT_FAIL(BuildProgram, 0, CL_BUILD_PROGRAM_FAILURE);
    util_clear_error();
    assert_int_equal(ops->compile->module_load(dev, bytes, size, &loaded), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(util_last_error(), "clBuildProgram for "));
    assert_non_null(strstr(util_last_error(), "CL_BUILD_PROGRAM_FAILURE (-11)"));
    assert_null(loaded);
    inject_reset();
    assert_int_equal(ops->compile->module_load(dev, bytes, size, &loaded), KILN_OK);
    ops->compile->module_release(loaded);
    ops->compile->module_release(NULL);
    free(bytes);
    ops->compile->module_release(m);
    ops->device_close(dev);
}

static void kernel_failures_are_not_kept(void **state)
{
    port_device *dev = open_device();
    port_module *m = compile_source(dev, scale_source);
    port_function *f = NULL;
    EXPECT_FAIL(ops->compile->get_function(m, NULL, &f), KILN_ERR_NULL_HANDLE,
                "opencl: no entry name");
    INJECT_FAIL(CreateKernel, 0, CL_OUT_OF_HOST_MEMORY);
    EXPECT_FAIL(ops->compile->get_function(m, "scale", &f), KILN_ERR_OUT_OF_HOST_MEMORY,
                "opencl: clCreateKernel('scale'): CL_OUT_OF_HOST_MEMORY (-6)");
    /* A driver that gives no kernel and no error must not read as success. */
    INJECT_FAIL(CreateKernel, 0, CL_SUCCESS);
    EXPECT_FAIL(ops->compile->get_function(m, "scale", &f), KILN_ERR_DEVICE,
                "opencl: clCreateKernel('scale'): CL_SUCCESS (0)");
    INJECT_INFO(GetKernelInfo, CL_KERNEL_NUM_ARGS, CL_INVALID_KERNEL, NULL, 0);
    EXPECT_FAIL(ops->compile->get_function(m, "scale", &f), KILN_ERR_DEVICE,
                "opencl: kernel info of 'scale': CL_INVALID_KERNEL (-48)");
    INJECT_INFO(GetKernelWorkGroupInfo, CL_KERNEL_WORK_GROUP_SIZE, CL_INVALID_DEVICE, NULL, 0);
    EXPECT_FAIL(ops->compile->get_function(m, "scale", &f), KILN_ERR_DEVICE,
                "opencl: kernel info of 'scale': CL_INVALID_DEVICE (-33)");
    assert_null(f);
    assert_null(m->functions);
    inject_reset();
    assert_int_equal(ops->compile->get_function(m, "scale", &f), KILN_OK);
    assert_int_equal(f->arg_count, 4);
    ops->compile->module_release(m);
    ops->device_close(dev);
}

static kiln_status sweep_open(void *ctx)
{
    char reason[256];
    kiln_status st = open_backend(reason, sizeof reason);
    if (st != KILN_OK)
        assert_string_equal(reason, util_last_error() + strlen("opencl: "));
    return st;
}

static kiln_status sweep_device(void *ctx)
{
    port_device *dev = NULL;
    kiln_status st = ops->device_open(backend, 0, &dev);
    if (st == KILN_OK) {
        assert_string_equal(dev->info.name, device_name);
        ops->device_close(dev);
    }
    return st;
}

static kiln_status sweep_module(void *ctx)
{
    port_device *dev = ctx;
    port_compile_input in = {.source = scale_source, .source_length = strlen(scale_source)};
    port_module *m = NULL;
    kiln_status st = ops->compile->compile(dev, &in, &m, NULL);
    void *bytes = NULL;
    size_t size = 0;
    if (st == KILN_OK)
        st = ops->compile->module_binary(m, &bytes, &size);
    port_function *f = NULL;
    if (st == KILN_OK)
        st = ops->compile->get_function(m, "scale", &f);
    if (st == KILN_OK)
        assert_int_equal(f->arg_count, 4);
    free(bytes);
    if (m)
        ops->compile->module_release(m);
    return st;
}

/* A build error stays a build error when the host has no memory for its
 * log: the detail then names the failure without the log. */
static void build_errors_survive_host_memory_failures(void **state)
{
    if (!INJECT_HOST_MEMORY)
        skip();
    port_device *dev = open_device();
    port_compile_input bad = {.source = broken_source, .source_length = strlen(broken_source)};
    char header[512];
    snprintf(header, sizeof header,
             "opencl: clBuildProgram for %s: CL_BUILD_PROGRAM_FAILURE (-11)\n", device_name);
    int without_log = 0;
    for (int k = 0; k < INJECT_SWEEP_MAX; k++) {
        port_module *m = NULL;
        util_clear_error();
        inject_alloc_arm(k);
        port_log log = {0};
        kiln_status st = ops->compile->compile(dev, &bad, &m, &log);
        int failed = inject_alloc_disarm();
        assert_int_equal(st, KILN_ERR_COMPILE);
        assert_null(m);
        const char *detail = util_last_error();
        assert_int_equal(strncmp(detail, header, strlen(header)), 0);
        /* The caller's log too, unless its own memory was the one refused. */
        if (log.text)
            assert_int_equal(strncmp(log.text, header, strlen(header)), 0);
        util_log_free(&log);
        if (!failed) {
            /* Nothing failed: the driver's log follows. */
            assert_true(strlen(detail) > strlen(header));
            break;
        }
        if (strcmp(detail, header) == 0)
            without_log = 1;
    }
    assert_true(without_log);
    ops->device_close(dev);
}

static void host_memory_failures_at_setup_are_reported(void **state)
{
    if (!INJECT_HOST_MEMORY)
        skip();
    assert_true(inject_sweep_host_memory(sweep_open, NULL, "no memory for") >= 3);
    assert_true(inject_sweep_host_memory(sweep_device, NULL, "no memory for a device") >= 1);
    port_device *dev = open_device();
    assert_true(inject_sweep_host_memory(sweep_module, dev, "no memory for a function") >= 3);
    ops->device_close(dev);
}

int main(void)
{
    char reason[256] = "";
    kiln_status st = ops->open(&backend, reason, sizeof reason);
    if (st == KILN_ERR_BACKEND_UNAVAILABLE) {
        printf("# OpenCL is unavailable (%s): skipped\n", reason);
        return SKIP_STATUS;
    }
    if (st != KILN_OK) {
        fprintf(stderr, "opencl: %s\n", util_last_error());
        return 1;
    }
    inject_save();
    port_device *dev = NULL;
    if (ops->device_open(backend, 0, &dev) != KILN_OK) {
        fprintf(stderr, "opencl: %s\n", util_last_error());
        return 1;
    }
    snprintf(device_name, sizeof device_name, "%s", dev->info.name);
    ops->device_close(dev);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(platform_failures_make_the_backend_unavailable),
        cmocka_unit_test(device_failures_are_reported_per_platform),
        cmocka_unit_test(a_context_that_cannot_be_made_leaves_the_device_closed),
        cmocka_unit_test(device_queries_that_fail_leave_fields_empty),
        cmocka_unit_test(the_kind_follows_the_device_type),
        cmocka_unit_test(capabilities_need_whole_extension_names),
        cmocka_unit_test(an_unavailable_device_is_lost),
        cmocka_unit_test(identities_too_long_are_hashed_or_refused),
        cmocka_unit_test(compile_failures_name_the_call_and_error),
        cmocka_unit_test(binary_failures_are_refused),
        cmocka_unit_test(kernel_failures_are_not_kept),
        cmocka_unit_test(build_errors_survive_host_memory_failures),
        cmocka_unit_test(host_memory_failures_at_setup_are_reported),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    ops->close(backend);
    return failed;
}
