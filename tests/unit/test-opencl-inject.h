/* Failure injection for the OpenCL adapter's tests, on a real device.
 *
 * The adapter calls OpenCL only through the table opencl_api (filled once
 * from the ICD loader). A test saves the real table (inject_save), then
 * points one entry at a wrapper here that forwards to the real function
 * except for the calls a plan picks: those return the chosen error (or, for
 * the clGet*Info queries, the chosen answer) without reaching the driver.
 * inject_reset puts the real table back. Everything not injected runs on
 * the real driver (PoCL in CI).
 *
 * Host allocation failures: the test executable defines the allocator of
 * test-alloc-interpose.h, which forwards to glibc's but can fail the Nth
 * call made from the executable's own code (kiln is linked into it
 * statically; the driver's allocations come from its shared libraries and
 * always succeed) on the calling thread. Not under sanitizers, which own the allocator:
 * there INJECT_HOST_MEMORY is 0 and those tests skip.
 *
 * Include after <cmocka.h>: the checking helpers at the end assert. */
#ifndef KILN_TEST_OPENCL_INJECT_H
#define KILN_TEST_OPENCL_INJECT_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backends/opencl/opencl_internal.h"
#include "util/fail.h"

/* The driver's own table, saved after the adapter loaded it. */
static opencl_functions inject_real;

/* Which calls of the injected entry fail, and how. */
typedef struct inject_plan {
    int skip;             /* matching calls let through first */
    int count;            /* matching calls to fail after them; -1: all */
    cl_int err;           /* what a failed call returns */
    cl_int binary_status; /* clCreateProgramWithBinary's per-device status */
    int zero_count;       /* clGet*IDs: report no entries (with err) */
    /* clGet*Info: only this parameter (INJECT_ANY_PARAM: all) ... */
    cl_uint param;
    int with_value_only; /* ... and only the query that reads the value */
    const void *answer;  /* when set: the value answered, CL_SUCCESS */
    size_t answer_size;
    int calls;  /* matching calls seen */
    int failed; /* calls failed so far */
} inject_plan;

#define INJECT_ANY_PARAM 0xffffffffu

static inject_plan inject;

static void inject_save(void)
{
    inject_real = opencl_api;
    memset(&inject, 0, sizeof inject);
}

static void inject_reset(void)
{
    opencl_api = inject_real;
    memset(&inject, 0, sizeof inject);
}

/* Whether this matching call is one to fail. */
static int inject_hit(void)
{
    inject.calls++;
    if (inject.skip > 0) {
        inject.skip--;
        return 0;
    }
    if (inject.count == 0)
        return 0;
    if (inject.count > 0)
        inject.count--;
    inject.failed++;
    return 1;
}

/* Points entry fn at its wrapper, failing call skip+1 with err. */
#define INJECT_FAIL(fn, skip_, err_)                                           \
    do {                                                                       \
        inject_reset();                                                        \
        inject.skip = (skip_);                                                 \
        inject.count = 1;                                                      \
        inject.err = (err_);                                                   \
        inject.param = INJECT_ANY_PARAM;                                       \
        opencl_api.fn = inject_##fn;                                           \
    } while (0)

/* A clGet*Info query of param: fails with err (answer NULL) or answers. */
#define INJECT_INFO(fn, param_, err_, answer_, answer_size_)                   \
    do {                                                                       \
        INJECT_FAIL(fn, 0, err_);                                              \
        inject.count = -1;                                                     \
        inject.param = (cl_uint)(param_);                                      \
        inject.answer = (answer_);                                             \
        inject.answer_size = (answer_size_);                                   \
    } while (0)

/* Entries that return their error. */
#define INJECT_STATUS_RETURN                                                   \
    if (inject_hit())                                                          \
        return inject.err;

static inline cl_int inject_GetPlatformIDs(cl_uint n, cl_platform_id *ids, cl_uint *count)
{
    if (inject_hit()) {
        if (inject.zero_count && count)
            *count = 0;
        return inject.err;
    }
    return inject_real.GetPlatformIDs(n, ids, count);
}

static inline cl_int inject_GetDeviceIDs(cl_platform_id p, cl_device_type t, cl_uint n, cl_device_id *ids,
                                  cl_uint *count)
{
    if (inject_hit()) {
        if (inject.zero_count && count)
            *count = 0;
        return inject.err;
    }
    return inject_real.GetDeviceIDs(p, t, n, ids, count);
}

static inline cl_int inject_Finish(cl_command_queue q)
{
    INJECT_STATUS_RETURN
    return inject_real.Finish(q);
}

static inline cl_int inject_EnqueueWriteBuffer(cl_command_queue q, cl_mem m, cl_bool b, size_t o, size_t n,
                                        const void *p, cl_uint ne, const cl_event *w, cl_event *e)
{
    INJECT_STATUS_RETURN
    return inject_real.EnqueueWriteBuffer(q, m, b, o, n, p, ne, w, e);
}

static inline cl_int inject_EnqueueReadBuffer(cl_command_queue q, cl_mem m, cl_bool b, size_t o, size_t n,
                                       void *p, cl_uint ne, const cl_event *w, cl_event *e)
{
    INJECT_STATUS_RETURN
    return inject_real.EnqueueReadBuffer(q, m, b, o, n, p, ne, w, e);
}

static inline cl_int inject_EnqueueCopyBuffer(cl_command_queue q, cl_mem s, cl_mem d, size_t so,
                                       size_t dof, size_t n, cl_uint ne, const cl_event *w,
                                       cl_event *e)
{
    INJECT_STATUS_RETURN
    return inject_real.EnqueueCopyBuffer(q, s, d, so, dof, n, ne, w, e);
}

static inline cl_int inject_EnqueueFillBuffer(cl_command_queue q, cl_mem m, const void *pat, size_t ps,
                                       size_t o, size_t n, cl_uint ne, const cl_event *w,
                                       cl_event *e)
{
    INJECT_STATUS_RETURN
    return inject_real.EnqueueFillBuffer(q, m, pat, ps, o, n, ne, w, e);
}

static inline cl_int inject_BuildProgram(cl_program p, cl_uint nd, const cl_device_id *d, const char *opt,
                                  void(CL_CALLBACK *notify)(cl_program, void *), void *user)
{
    INJECT_STATUS_RETURN
    return inject_real.BuildProgram(p, nd, d, opt, notify, user);
}

static inline cl_int inject_SetKernelArg(cl_kernel k, cl_uint i, size_t n, const void *v)
{
    INJECT_STATUS_RETURN
    return inject_real.SetKernelArg(k, i, n, v);
}

static inline cl_int inject_EnqueueNDRangeKernel(cl_command_queue q, cl_kernel k, cl_uint dims,
                                          const size_t *off, const size_t *global,
                                          const size_t *local, cl_uint ne, const cl_event *w,
                                          cl_event *e)
{
    INJECT_STATUS_RETURN
    return inject_real.EnqueueNDRangeKernel(q, k, dims, off, global, local, ne, w, e);
}

static inline cl_int inject_EnqueueMarkerWithWaitList(cl_command_queue q, cl_uint ne, const cl_event *w,
                                               cl_event *e)
{
    INJECT_STATUS_RETURN
    return inject_real.EnqueueMarkerWithWaitList(q, ne, w, e);
}

static inline cl_int inject_WaitForEvents(cl_uint n, const cl_event *events)
{
    /* The real wait always happens: a failed wait must not leave the
     * command running behind the test's back. */
    cl_int err = inject_real.WaitForEvents(n, events);
    return inject_hit() ? inject.err : err;
}

/* Entries that return an object and write their error. */
#define INJECT_OBJECT_RETURN                                                   \
    if (inject_hit()) {                                                        \
        if (errcode)                                                           \
            *errcode = inject.err;                                             \
        return NULL;                                                           \
    }

static inline cl_context inject_CreateContext(const cl_context_properties *props, cl_uint nd,
                                       const cl_device_id *d,
                                       void(CL_CALLBACK *notify)(const char *, const void *,
                                                                 size_t, void *),
                                       void *user, cl_int *errcode)
{
    INJECT_OBJECT_RETURN
    return inject_real.CreateContext(props, nd, d, notify, user, errcode);
}

static inline cl_command_queue inject_CreateCommandQueue(cl_context c, cl_device_id d,
                                                  cl_command_queue_properties props,
                                                  cl_int *errcode)
{
    INJECT_OBJECT_RETURN
    return inject_real.CreateCommandQueue(c, d, props, errcode);
}

static inline cl_mem inject_CreateBuffer(cl_context c, cl_mem_flags flags, size_t n, void *host,
                                  cl_int *errcode)
{
    INJECT_OBJECT_RETURN
    return inject_real.CreateBuffer(c, flags, n, host, errcode);
}

static inline cl_program inject_CreateProgramWithSource(cl_context c, cl_uint n, const char **text,
                                                 const size_t *lengths, cl_int *errcode)
{
    INJECT_OBJECT_RETURN
    return inject_real.CreateProgramWithSource(c, n, text, lengths, errcode);
}

static inline cl_program inject_CreateProgramWithBinary(cl_context c, cl_uint nd, const cl_device_id *d,
                                                 const size_t *lengths,
                                                 const unsigned char **binaries,
                                                 cl_int *binary_status, cl_int *errcode)
{
    if (inject_hit()) {
        if (binary_status)
            binary_status[0] = inject.binary_status;
        if (errcode)
            *errcode = inject.err;
        return NULL;
    }
    return inject_real.CreateProgramWithBinary(c, nd, d, lengths, binaries, binary_status,
                                               errcode);
}

static inline cl_kernel inject_CreateKernel(cl_program p, const char *name, cl_int *errcode)
{
    INJECT_OBJECT_RETURN
    return inject_real.CreateKernel(p, name, errcode);
}

static inline void *inject_EnqueueMapBuffer(cl_command_queue q, cl_mem m, cl_bool b, cl_map_flags f,
                                     size_t o, size_t n, cl_uint ne, const cl_event *w,
                                     cl_event *e, cl_int *errcode)
{
    INJECT_OBJECT_RETURN
    return inject_real.EnqueueMapBuffer(q, m, b, f, o, n, ne, w, e, errcode);
}

/* The clGet*Info queries: the planned parameter fails or is answered. */
static int inject_info_hit(cl_uint param, const void *value)
{
    if (inject.param != INJECT_ANY_PARAM && inject.param != param)
        return 0;
    if (inject.with_value_only && !value)
        return 0;
    return inject_hit();
}

static inline cl_int inject_info_answer(size_t size, void *value, size_t *size_ret)
{
    if (!inject.answer)
        return inject.err;
    if (value)
        memcpy(value, inject.answer, size < inject.answer_size ? size : inject.answer_size);
    if (size_ret)
        *size_ret = inject.answer_size;
    return CL_SUCCESS;
}

#define INJECT_INFO_WRAPPER(fn, object_type, param_type)                       \
    static inline cl_int inject_##fn(object_type o, param_type p, size_t size, void *value, \
                              size_t *size_ret)                                \
    {                                                                          \
        if (inject_info_hit((cl_uint)p, value))                                \
            return inject_info_answer(size, value, size_ret);                  \
        return inject_real.fn(o, p, size, value, size_ret);                    \
    }

INJECT_INFO_WRAPPER(GetPlatformInfo, cl_platform_id, cl_platform_info)
INJECT_INFO_WRAPPER(GetDeviceInfo, cl_device_id, cl_device_info)
INJECT_INFO_WRAPPER(GetProgramInfo, cl_program, cl_program_info)
INJECT_INFO_WRAPPER(GetKernelInfo, cl_kernel, cl_kernel_info)
INJECT_INFO_WRAPPER(GetEventInfo, cl_event, cl_event_info)
INJECT_INFO_WRAPPER(GetEventProfilingInfo, cl_event, cl_profiling_info)

static inline cl_int inject_GetProgramBuildInfo(cl_program p, cl_device_id d, cl_program_build_info param,
                                         size_t size, void *value, size_t *size_ret)
{
    if (inject_info_hit((cl_uint)param, value))
        return inject_info_answer(size, value, size_ret);
    return inject_real.GetProgramBuildInfo(p, d, param, size, value, size_ret);
}

static inline cl_int inject_GetKernelWorkGroupInfo(cl_kernel k, cl_device_id d,
                                            cl_kernel_work_group_info param, size_t size,
                                            void *value, size_t *size_ret)
{
    if (inject_info_hit((cl_uint)param, value))
        return inject_info_answer(size, value, size_ret);
    return inject_real.GetKernelWorkGroupInfo(k, d, param, size, value, size_ret);
}

/* ---- host allocation failures ---- */

/* Counted per thread, and only allocations from the executable's code. */
#define ALLOC_INTERPOSE_EXECUTABLE_ONLY
#define ALLOC_INTERPOSE_PER_THREAD
#include "test-alloc-interpose.h"

#define INJECT_HOST_MEMORY ALLOC_INTERPOSE_ACTIVE

/* Arms the failure of the (skip+1)-th allocation from here on. */
static void inject_alloc_arm(int skip)
{
#if INJECT_HOST_MEMORY
    alloc_fail_arm(skip + 1);
#else
    (void)skip;
#endif
}

/* Disarms; returns whether the armed failure happened. */
static int inject_alloc_disarm(void)
{
#if INJECT_HOST_MEMORY
    return alloc_fail_disarm();
#else
    return 1;
#endif
}

/* expr returns status with exactly detail as the thread's error. */
#define EXPECT_FAIL(expr, status, detail)                                      \
    do {                                                                       \
        util_clear_error();                                                    \
        assert_int_equal((expr), (status));                                    \
        assert_string_equal(util_last_error(), (detail));                      \
    } while (0)

/* Most allocations one swept operation may make. */
#define INJECT_SWEEP_MAX 64
typedef kiln_status (*inject_sweep_op)(void *ctx);

/* Fails the 1st, 2nd, ... allocation kiln makes in op until op runs
 * through. Each failure is reported as host memory with an "opencl: "
 * detail, or (where the adapter can do without the memory) not at all;
 * some detail must contain must_see. Returns the allocations op makes. */
static int inject_sweep_host_memory(inject_sweep_op op, void *ctx, const char *must_see)
{
    int seen = must_see == NULL;
    for (int k = 0; k < INJECT_SWEEP_MAX; k++) {
        util_clear_error();
        inject_alloc_arm(k);
        kiln_status st = op(ctx);
        int failed = inject_alloc_disarm();
        if (!failed) {
            assert_int_equal(st, KILN_OK);
            if (!seen)
                fail_msg("no failure read '%s'", must_see);
            return k;
        }
        if (st != KILN_OK) {
            assert_int_equal(st, KILN_ERR_OUT_OF_HOST_MEMORY);
            assert_int_equal(strncmp(util_last_error(), "opencl: ", strlen("opencl: ")), 0);
            if (must_see && strstr(util_last_error(), must_see))
                seen = 1;
        }
    }
    fail_msg("the operation still allocates after %d allocations", INJECT_SWEEP_MAX);
    return -1;
}

#endif
