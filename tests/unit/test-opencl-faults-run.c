/* The OpenCL adapter when the driver fails while work runs: buffers that
 * cannot be made, transfers, copies and fills that fail (the data stays as
 * it was), page-locked host memory, streams, launches refused at enqueue,
 * kernels that fail on the device (reported at synchronize), events, the
 * health probe, the bounded list of pending launches, and host allocation
 * failures on these paths. Each failure is injected into one call
 * (test-opencl-inject.h); the rest runs on the real driver, and results
 * are checked against the host on random data. Skipped (77) without an
 * OpenCL device. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "backends/opencl/opencl_backend.h"
#include "test-opencl-inject.h"

#define SKIP_STATUS 77
#define RUN_WORDS 1024
#define RUN_BYTES (RUN_WORDS * sizeof(uint32_t))
/* Launches in the pending-list test: past OPENCL_PENDING_MAX. */
#define RUN_MANY_LAUNCHES (OPENCL_PENDING_MAX + OPENCL_PENDING_MAX / 4)
/* Iterations of the slow kernel: long enough (about 100 us on a CPU
 * device) that launches queue up faster than they run. */
#define RUN_SLOW_SPIN 100000u

static const char run_source[] =
    "kernel void scale(global uint *out, global const uint *in, uint mul, uint n)\n"
    "{\n"
    "    size_t i = get_global_id(0);\n"
    "    if (i < n)\n"
    "        out[i] = in[i] * mul;\n"
    "}\n"
    "kernel void slow(global uint *acc, uint spin)\n"
    "{\n"
    "    uint x = acc[1];\n"
    "    for (uint i = 0; i < spin; i++)\n"
    "        x = x * 1664525u + 1013904223u;\n"
    "    acc[1] = x;\n"
    "    acc[0] += 1;\n"
    "}\n";

static const port_backend_ops *ops = &opencl_backend_ops;
static const port_memory *mem_ops;
static const port_execution *x;

static struct {
    port_backend *backend;
    port_device *dev;
    port_stream *stream;
    port_module *module;
    port_function *scale, *slow;
} run;

static void random_words(uint32_t *words, size_t n)
{
    for (size_t i = 0; i < n; i++)
        words[i] = (uint32_t)rand() ^ ((uint32_t)rand() << 16);
}

static port_mem *buffer_with(const uint32_t *words)
{
    port_mem *m = NULL;
    assert_int_equal(mem_ops->alloc(run.dev, RUN_BYTES, &m), KILN_OK);
    assert_int_equal(mem_ops->write(run.stream, m, 0, words, RUN_BYTES), KILN_OK);
    return m;
}

static void assert_buffer_holds(port_mem *m, const uint32_t *words)
{
    uint32_t got[RUN_WORDS];
    assert_int_equal(mem_ops->read(run.stream, m, 0, got, RUN_BYTES), KILN_OK);
    assert_memory_equal(got, words, RUN_BYTES);
}

static void health_probe_failures_degrade_the_device(void **state)
{
    kiln_health health = KILN_HEALTH_HEALTHY;
    /* The probe's queue, buffer, write or read fails. */
    INJECT_FAIL(CreateCommandQueue, 0, CL_OUT_OF_RESOURCES);
    assert_int_equal(x->health(run.dev, &health), KILN_OK);
    assert_int_equal(health, KILN_HEALTH_DEGRADED);
    assert_int_equal(inject.failed, 1);
    INJECT_FAIL(CreateBuffer, 0, CL_MEM_OBJECT_ALLOCATION_FAILURE);
    assert_int_equal(x->health(run.dev, &health), KILN_OK);
    assert_int_equal(health, KILN_HEALTH_DEGRADED);
    INJECT_FAIL(EnqueueWriteBuffer, 0, CL_OUT_OF_RESOURCES);
    assert_int_equal(x->health(run.dev, &health), KILN_OK);
    assert_int_equal(health, KILN_HEALTH_DEGRADED);
    INJECT_FAIL(EnqueueReadBuffer, 0, CL_OUT_OF_RESOURCES);
    assert_int_equal(x->health(run.dev, &health), KILN_OK);
    assert_int_equal(health, KILN_HEALTH_DEGRADED);
    inject_reset();
    assert_int_equal(x->health(run.dev, &health), KILN_OK);
    assert_int_equal(health, KILN_HEALTH_HEALTHY);
}

static void buffers_the_driver_refuses_are_out_of_memory(void **state)
{
    uint64_t used = 0, total = 0, used_after = 0;
    assert_int_equal(mem_ops->usage(run.dev, &used, &total), KILN_OK);
    port_mem *m = NULL;
    char want[512];
    snprintf(want, sizeof want,
             "opencl: clCreateBuffer of 4096 bytes on %s: CL_MEM_OBJECT_ALLOCATION_FAILURE (-4)",
             run.dev->info.name);
    INJECT_FAIL(CreateBuffer, 0, CL_MEM_OBJECT_ALLOCATION_FAILURE);
    EXPECT_FAIL(mem_ops->alloc(run.dev, 4096, &m), KILN_ERR_OUT_OF_MEMORY, want);
    INJECT_FAIL(CreateBuffer, 0, CL_OUT_OF_HOST_MEMORY);
    snprintf(want, sizeof want,
             "opencl: clCreateBuffer of 4096 bytes on %s: CL_OUT_OF_HOST_MEMORY (-6)",
             run.dev->info.name);
    EXPECT_FAIL(mem_ops->alloc(run.dev, 4096, &m), KILN_ERR_OUT_OF_HOST_MEMORY, want);
    inject_reset();
    assert_null(m);
    /* Nothing stays counted for the refused buffers. */
    assert_int_equal(mem_ops->usage(run.dev, &used_after, &total), KILN_OK);
    assert_true(used_after == used);
    /* Beyond the device's memory counting what kiln holds: nothing is
     * asked of the driver. */
    atomic_store(&run.dev->used_bytes, total - 100);
    snprintf(want, sizeof want,
             "opencl: 4096 bytes do not fit: kiln has %llu of %llu bytes of %s allocated",
             (unsigned long long)(total - 100), (unsigned long long)total, run.dev->info.name);
    EXPECT_FAIL(mem_ops->alloc(run.dev, 4096, &m), KILN_ERR_OUT_OF_MEMORY, want);
    atomic_store(&run.dev->used_bytes, used);
    mem_ops->free(run.dev, NULL);
}

static void failed_transfers_leave_the_data_as_it_was(void **state)
{
    uint32_t a[RUN_WORDS], b[RUN_WORDS], got[RUN_WORDS];
    random_words(a, RUN_WORDS);
    random_words(b, RUN_WORDS);
    port_mem *ma = buffer_with(a), *mb = buffer_with(b);
    INJECT_FAIL(EnqueueWriteBuffer, 0, CL_INVALID_COMMAND_QUEUE);
    EXPECT_FAIL(mem_ops->write(run.stream, ma, 0, b, RUN_BYTES), KILN_ERR_DEVICE,
                "opencl: clEnqueueWriteBuffer of 4096 bytes: CL_INVALID_COMMAND_QUEUE (-36)");
    INJECT_FAIL(EnqueueReadBuffer, 0, CL_OUT_OF_HOST_MEMORY);
    EXPECT_FAIL(mem_ops->read(run.stream, ma, 0, got, RUN_BYTES), KILN_ERR_OUT_OF_HOST_MEMORY,
                "opencl: clEnqueueReadBuffer of 4096 bytes: CL_OUT_OF_HOST_MEMORY (-6)");
    INJECT_FAIL(EnqueueFillBuffer, 0, CL_OUT_OF_RESOURCES);
    EXPECT_FAIL(mem_ops->fill(run.stream, ma, 0, 0x5a, RUN_BYTES), KILN_ERR_OUT_OF_MEMORY,
                "opencl: clEnqueueFillBuffer of 4096 bytes: CL_OUT_OF_RESOURCES (-5)");
    INJECT_FAIL(EnqueueCopyBuffer, 0, CL_INVALID_MEM_OBJECT);
    EXPECT_FAIL(mem_ops->copy(run.stream, ma, 0, mb, 0, RUN_BYTES), KILN_ERR_INVALID_ARG,
                "opencl: copy of 4096 bytes: CL_INVALID_MEM_OBJECT (-38)");
    /* An overlapping copy: its temporary buffer, the copy into it, the
     * copy back. */
    const size_t half = RUN_BYTES / 2;
    INJECT_FAIL(CreateBuffer, 0, CL_MEM_OBJECT_ALLOCATION_FAILURE);
    EXPECT_FAIL(mem_ops->copy(run.stream, ma, 4, ma, 0, half), KILN_ERR_OUT_OF_MEMORY,
                "opencl: copy of 2048 bytes: CL_MEM_OBJECT_ALLOCATION_FAILURE (-4)");
    for (int skip = 0; skip < 2; skip++) {
        INJECT_FAIL(EnqueueCopyBuffer, skip, CL_OUT_OF_RESOURCES);
        EXPECT_FAIL(mem_ops->copy(run.stream, ma, 4, ma, 0, half), KILN_ERR_OUT_OF_MEMORY,
                    "opencl: copy of 2048 bytes: CL_OUT_OF_RESOURCES (-5)");
    }
    inject_reset();
    assert_buffer_holds(ma, a);
    assert_buffer_holds(mb, b);
    /* Refused before the driver: no buffer, past the end; nothing to do:
     * zero bytes, a copy onto itself. */
    EXPECT_FAIL(mem_ops->write(run.stream, NULL, 0, b, 4), KILN_ERR_NULL_HANDLE,
                "opencl: write: no buffer");
    EXPECT_FAIL(mem_ops->read(run.stream, ma, RUN_BYTES - 4, got, 8), KILN_ERR_OUT_OF_RANGE,
                "opencl: read of 8 bytes at offset 4092 passes the end of a 4096-byte buffer");
    EXPECT_FAIL(mem_ops->fill(run.stream, ma, RUN_BYTES + 1, 0, 0), KILN_ERR_OUT_OF_RANGE,
                "opencl: fill of 0 bytes at offset 4097 passes the end of a 4096-byte buffer");
    EXPECT_FAIL(mem_ops->copy(run.stream, ma, 0, NULL, 0, 4), KILN_ERR_NULL_HANDLE,
                "opencl: copy source: no buffer");
    assert_int_equal(mem_ops->write(run.stream, ma, 0, b, 0), KILN_OK);
    assert_int_equal(mem_ops->read(run.stream, ma, 0, got, 0), KILN_OK);
    assert_int_equal(mem_ops->fill(run.stream, ma, 0, 0, 0), KILN_OK);
    assert_int_equal(mem_ops->copy(run.stream, ma, 8, ma, 8, 64), KILN_OK);
    assert_buffer_holds(ma, a);
    mem_ops->free(run.dev, ma);
    mem_ops->free(run.dev, mb);
}

static void host_memory_failures_are_host_memory(void **state)
{
    void *ptr = NULL;
    port_host_mem *h = NULL;
    EXPECT_FAIL(mem_ops->host_alloc(run.dev, 0, &ptr, &h), KILN_ERR_INVALID_SIZE,
                "opencl: cannot allocate 0 bytes of host memory");
    char want[512];
    size_t too_big = (size_t)run.dev->max_alloc_bytes + 1;
    snprintf(want, sizeof want,
             "opencl: %zu bytes exceed the largest single allocation of %s "
             "(CL_DEVICE_MAX_MEM_ALLOC_SIZE = %llu bytes)",
             too_big, run.dev->info.name, (unsigned long long)run.dev->max_alloc_bytes);
    EXPECT_FAIL(mem_ops->host_alloc(run.dev, too_big, &ptr, &h), KILN_ERR_OUT_OF_HOST_MEMORY,
                want);
    INJECT_FAIL(CreateBuffer, 0, CL_MEM_OBJECT_ALLOCATION_FAILURE);
    EXPECT_FAIL(mem_ops->host_alloc(run.dev, 4096, &ptr, &h), KILN_ERR_OUT_OF_HOST_MEMORY,
                "opencl: clCreateBuffer (CL_MEM_ALLOC_HOST_PTR) of 4096 bytes of host memory: "
                "CL_MEM_OBJECT_ALLOCATION_FAILURE (-4)");
    INJECT_FAIL(CreateCommandQueue, 0, CL_OUT_OF_HOST_MEMORY);
    EXPECT_FAIL(mem_ops->host_alloc(run.dev, 4096, &ptr, &h), KILN_ERR_OUT_OF_HOST_MEMORY,
                "opencl: clCreateCommandQueue for a host buffer: CL_OUT_OF_HOST_MEMORY (-6)");
    INJECT_FAIL(EnqueueMapBuffer, 0, CL_MAP_FAILURE);
    EXPECT_FAIL(mem_ops->host_alloc(run.dev, 4096, &ptr, &h), KILN_ERR_DEVICE,
                "opencl: clEnqueueMapBuffer of 4096 bytes of host memory: CL_MAP_FAILURE (-12)");
    inject_reset();
    assert_null(ptr);
    assert_null(h);
    mem_ops->host_free(run.dev, NULL);
    /* It works again, and the memory is usable. */
    assert_int_equal(mem_ops->host_alloc(run.dev, RUN_BYTES, &ptr, &h), KILN_OK);
    random_words(ptr, RUN_WORDS);
    port_mem *m = buffer_with(ptr);
    assert_buffer_holds(m, ptr);
    mem_ops->free(run.dev, m);
    mem_ops->host_free(run.dev, h);
}

static void streams_the_driver_refuses_are_reported(void **state)
{
    port_stream *s = NULL;
    char want[512];
    INJECT_FAIL(CreateCommandQueue, 0, CL_OUT_OF_HOST_MEMORY);
    snprintf(want, sizeof want, "opencl: clCreateCommandQueue on %s: CL_OUT_OF_HOST_MEMORY (-6)",
             run.dev->info.name);
    EXPECT_FAIL(x->stream_create(run.dev, 0, &s), KILN_ERR_OUT_OF_HOST_MEMORY, want);
    INJECT_FAIL(CreateCommandQueue, 0, CL_INVALID_QUEUE_PROPERTIES);
    snprintf(want, sizeof want,
             "opencl: clCreateCommandQueue on %s: CL_INVALID_QUEUE_PROPERTIES (-35)",
             run.dev->info.name);
    EXPECT_FAIL(x->stream_create(run.dev, 0, &s), KILN_ERR_DEVICE, want);
    inject_reset();
    assert_null(s);
    x->stream_destroy(NULL);
}

/* scale over RUN_WORDS words of in into out with mul. */
typedef struct scale_call {
    port_arg args[4];
    uint32_t mul, n;
    port_launch launch;
} scale_call;

static void scale_prepare(scale_call *c, port_mem *out, port_mem *in)
{
    c->mul = (uint32_t)rand() | 1u;
    c->n = RUN_WORDS;
    c->args[0] = (port_arg){.mem = out};
    c->args[1] = (port_arg){.mem = in};
    c->args[2] = (port_arg){.value = &c->mul, .size = sizeof c->mul};
    c->args[3] = (port_arg){.value = &c->n, .size = sizeof c->n};
    c->launch = (port_launch){.dims = 1, .groups = {RUN_WORDS / 64}, .local = {64},
                              .args = c->args, .nargs = 4};
}

static void assert_scaled(port_mem *out, const uint32_t *in, uint32_t mul)
{
    uint32_t want[RUN_WORDS];
    for (size_t i = 0; i < RUN_WORDS; i++)
        want[i] = in[i] * mul;
    assert_buffer_holds(out, want);
}

/* The scale kernel ready to run over fresh random input into a zeroed
 * output, as the launch and device-fault tests start. */
typedef struct scale_setup {
    uint32_t in[RUN_WORDS], zero[RUN_WORDS];
    port_mem *min, *mout;
    scale_call c;
} scale_setup;

static void scale_setup_make(scale_setup *s)
{
    memset(s->zero, 0, sizeof s->zero);
    random_words(s->in, RUN_WORDS);
    s->min = buffer_with(s->in);
    s->mout = buffer_with(s->zero);
    scale_prepare(&s->c, s->mout, s->min);
}

/* Checks the output holds the input scaled, and frees both buffers. */
static void scale_setup_finish(scale_setup *s)
{
    assert_scaled(s->mout, s->in, s->c.mul);
    mem_ops->free(run.dev, s->min);
    mem_ops->free(run.dev, s->mout);
}

/* What the adapter reports for a driver error code. */
typedef struct cl_outcome {
    cl_int code;
    kiln_status status;
} cl_outcome;

static void launches_the_driver_refuses_are_reported(void **state)
{
    scale_setup s;
    scale_setup_make(&s);
    static const cl_outcome refusals[] = {
        {CL_OUT_OF_RESOURCES, KILN_ERR_DEVICE},
        {CL_INVALID_WORK_GROUP_SIZE, KILN_ERR_INVALID_RANGE},
        {CL_MEM_OBJECT_ALLOCATION_FAILURE, KILN_ERR_OUT_OF_MEMORY},
        {CL_INVALID_KERNEL_ARGS, KILN_ERR_INVALID_ARG},
    };
    char want[512];
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        INJECT_FAIL(EnqueueNDRangeKernel, 0, refusals[i].code);
        snprintf(want, sizeof want, "opencl: clEnqueueNDRangeKernel of 'scale': %s (%d)",
                 opencl_error_name(refusals[i].code), (int)refusals[i].code);
        port_event *b = NULL, *e = NULL;
        EXPECT_FAIL(x->launch(run.stream, run.scale, &s.c.launch, &b, &e), refusals[i].status,
                    want);
        assert_null(b);
        assert_null(e);
    }
    INJECT_FAIL(SetKernelArg, 2, CL_INVALID_ARG_SIZE);
    EXPECT_FAIL(x->launch(run.stream, run.scale, &s.c.launch, NULL, NULL), KILN_ERR_INVALID_ARG,
                "opencl: argument 2 of 'scale' (4 bytes): CL_INVALID_ARG_SIZE (-51)");
    inject_reset();
    assert_int_equal(x->synchronize(run.stream), KILN_OK);
    assert_buffer_holds(s.mout, s.zero);
    /* Refused before the driver. */
    EXPECT_FAIL(x->launch(NULL, run.scale, &s.c.launch, NULL, NULL), KILN_ERR_NULL_HANDLE,
                "opencl: launch without stream, function or range");
    s.c.launch.args = NULL;
    EXPECT_FAIL(x->launch(run.stream, run.scale, &s.c.launch, NULL, NULL), KILN_ERR_NULL_HANDLE,
                "opencl: launch of 4 arguments without them");
    s.c.launch.args = s.c.args;
    s.c.args[1] = (port_arg){.mem = NULL, .value = NULL};
    EXPECT_FAIL(x->launch(run.stream, run.scale, &s.c.launch, NULL, NULL), KILN_ERR_INVALID_ARG,
                "opencl: argument 1 of 'scale' has neither buffer nor value");
    s.c.args[1] = (port_arg){.mem = s.min};
    s.c.launch.groups[0] = 0;
    EXPECT_FAIL(x->launch(run.stream, run.scale, &s.c.launch, NULL, NULL), KILN_ERR_INVALID_RANGE,
                "opencl: dimension 0 of the launch is empty");
    s.c.launch.groups[0] = SIZE_MAX / 2;
    snprintf(want, sizeof want, "opencl: dimension 0: %zu groups of 64 items overflow",
             SIZE_MAX / 2);
    EXPECT_FAIL(x->launch(run.stream, run.scale, &s.c.launch, NULL, NULL), KILN_ERR_INVALID_RANGE,
                want);
    s.c.launch.groups[0] = 1;
    s.c.launch.local[0] = run.dev->max_item_sizes[0] + 1;
    snprintf(want, sizeof want, "opencl: local size %zu of dimension 0 exceeds the device's %zu",
             run.dev->max_item_sizes[0] + 1, run.dev->max_item_sizes[0]);
    EXPECT_FAIL(x->launch(run.stream, run.scale, &s.c.launch, NULL, NULL), KILN_ERR_INVALID_RANGE,
                want);
    /* Every dimension within the device's limit, their product past the
     * kernel's. */
    size_t limit = run.scale->work_group_limit;
    size_t l0 = run.dev->max_item_sizes[0] < limit ? run.dev->max_item_sizes[0] : limit;
    size_t l1 = limit / l0 + 1;
    if (l1 <= run.dev->max_item_sizes[1]) {
        s.c.launch = (port_launch){.dims = 2, .groups = {1, 1}, .local = {l0, l1},
                                   .args = s.c.args, .nargs = 4};
        snprintf(want, sizeof want,
                 "opencl: a work-group of %zu items exceeds the limit of %zu for kernel "
                 "'scale' on %s",
                 l0 * l1, limit, run.dev->info.name);
        EXPECT_FAIL(x->launch(run.stream, run.scale, &s.c.launch, NULL, NULL),
                    KILN_ERR_INVALID_RANGE, want);
    }
    /* It runs once the driver takes it. */
    scale_prepare(&s.c, s.mout, s.min);
    assert_int_equal(x->launch(run.stream, run.scale, &s.c.launch, NULL, NULL), KILN_OK);
    assert_int_equal(x->synchronize(run.stream), KILN_OK);
    scale_setup_finish(&s);
}

static void kernels_that_fail_on_the_device_are_reported_at_synchronize(void **state)
{
    scale_setup s;
    scale_setup_make(&s);
    static const cl_outcome faults[] = {
        {CL_OUT_OF_RESOURCES, KILN_ERR_DEVICE_FAULT},
        {CL_MEM_OBJECT_ALLOCATION_FAILURE, KILN_ERR_OUT_OF_MEMORY},
        {CL_OUT_OF_HOST_MEMORY, KILN_ERR_OUT_OF_HOST_MEMORY},
    };
    char want[512];
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        /* Two launches; the device says both ended with the error: the
         * first is the one reported. */
        assert_int_equal(x->launch(run.stream, run.scale, &s.c.launch, NULL, NULL), KILN_OK);
        assert_int_equal(x->launch(run.stream, run.scale, &s.c.launch, NULL, NULL), KILN_OK);
        INJECT_INFO(GetEventInfo, CL_EVENT_COMMAND_EXECUTION_STATUS, CL_SUCCESS, &faults[i].code,
                    sizeof faults[i].code);
        snprintf(want, sizeof want, "opencl: kernel 'scale' failed: %s (%d)",
                 opencl_error_name(faults[i].code), (int)faults[i].code);
        EXPECT_FAIL(x->synchronize(run.stream), faults[i].status, want);
        assert_int_equal(run.stream->pending_count, 0);
        inject_reset();
        /* Reported once. */
        assert_int_equal(x->synchronize(run.stream), KILN_OK);
    }
    /* clFinish itself fails. */
    INJECT_FAIL(Finish, 0, CL_OUT_OF_RESOURCES);
    EXPECT_FAIL(x->synchronize(run.stream), KILN_ERR_DEVICE_FAULT,
                "opencl: clFinish: CL_OUT_OF_RESOURCES (-5)");
    inject_reset();
    scale_setup_finish(&s);
}

static void event_failures_are_reported(void **state)
{
    port_event *b = NULL, *e = NULL, *mark = NULL;
    uint64_t ns = 0;
    INJECT_FAIL(EnqueueMarkerWithWaitList, 0, CL_OUT_OF_RESOURCES);
    EXPECT_FAIL(x->event_record(run.stream, &mark), KILN_ERR_DEVICE,
                "opencl: clEnqueueMarkerWithWaitList: CL_OUT_OF_RESOURCES (-5)");
    inject_reset();
    assert_null(mark);
    EXPECT_FAIL(x->event_wait(NULL), KILN_ERR_NULL_HANDLE, "opencl: wait on no event");
    EXPECT_FAIL(x->event_elapsed_ns(NULL, NULL, &ns), KILN_ERR_NULL_HANDLE,
                "opencl: elapsed time needs two events");
    uint32_t in[RUN_WORDS];
    random_words(in, RUN_WORDS);
    port_mem *min = buffer_with(in), *mout = buffer_with(in);
    scale_call c;
    scale_prepare(&c, mout, min);
    assert_int_equal(x->launch(run.stream, run.scale, &c.launch, &b, &e), KILN_OK);
    INJECT_FAIL(WaitForEvents, 0, CL_INVALID_EVENT);
    EXPECT_FAIL(x->event_wait(e), KILN_ERR_DEVICE_FAULT,
                "opencl: clWaitForEvents: CL_INVALID_EVENT (-58)");
    const cl_int failed = CL_OUT_OF_RESOURCES;
    INJECT_INFO(GetEventInfo, CL_EVENT_COMMAND_EXECUTION_STATUS, CL_SUCCESS, &failed,
                sizeof failed);
    EXPECT_FAIL(x->event_wait(e), KILN_ERR_DEVICE_FAULT,
                "opencl: the awaited command failed: CL_OUT_OF_RESOURCES (-5)");
    /* The begin's failure stops elapsed before the end is read. */
    EXPECT_FAIL(x->event_elapsed_ns(b, e, &ns), KILN_ERR_DEVICE_FAULT,
                "opencl: the awaited command failed: CL_OUT_OF_RESOURCES (-5)");
    INJECT_INFO(GetEventProfilingInfo, CL_PROFILING_COMMAND_END, CL_PROFILING_INFO_NOT_AVAILABLE,
                NULL, 0);
    EXPECT_FAIL(x->event_elapsed_ns(b, e, &ns), KILN_ERR_UNSUPPORTED,
                "opencl: clGetEventProfilingInfo: CL_PROFILING_INFO_NOT_AVAILABLE (-7)");
    INJECT_INFO(GetEventProfilingInfo, CL_PROFILING_COMMAND_START, CL_INVALID_EVENT, NULL, 0);
    EXPECT_FAIL(x->event_elapsed_ns(b, e, &ns), KILN_ERR_DEVICE,
                "opencl: clGetEventProfilingInfo: CL_INVALID_EVENT (-58)");
    inject_reset();
    /* Real timestamps: the end after the begin, not the other way. */
    assert_int_equal(x->event_elapsed_ns(b, e, &ns), KILN_OK);
    uint64_t back = 0;
    if (ns > 0) {
        util_clear_error();
        assert_int_equal(x->event_elapsed_ns(e, b, &back), KILN_ERR_INVALID_ARG);
        assert_non_null(strstr(util_last_error(), "ns before the begin event"));
    }
    assert_int_equal(x->synchronize(run.stream), KILN_OK);
    assert_scaled(mout, in, c.mul);
    x->event_release(b);
    x->event_release(e);
    x->event_release(NULL);
    mem_ops->free(run.dev, min);
    mem_ops->free(run.dev, mout);
}

static void endless_launches_keep_the_pending_list_bounded(void **state)
{
    uint32_t acc[2] = {0, (uint32_t)rand()};
    port_mem *m = NULL;
    assert_int_equal(mem_ops->alloc(run.dev, sizeof acc, &m), KILN_OK);
    assert_int_equal(mem_ops->write(run.stream, m, 0, acc, sizeof acc), KILN_OK);
    uint32_t spin = RUN_SLOW_SPIN;
    port_arg args[2] = {{.mem = m}, {.value = &spin, .size = sizeof spin}};
    port_launch launch = {.dims = 1, .groups = {1}, .local = {1}, .args = args, .nargs = 2};
    /* Counts the host's waits (none fails). */
    INJECT_FAIL(WaitForEvents, 0, CL_SUCCESS);
    inject.count = 0;
    size_t most = 0;
    for (unsigned i = 0; i < RUN_MANY_LAUNCHES; i++) {
        assert_int_equal(x->launch(run.stream, run.slow, &launch, NULL, NULL), KILN_OK);
        if (run.stream->pending_count > most)
            most = run.stream->pending_count;
    }
    int waits = inject.calls;
    inject_reset();
    printf("# %u launches: at most %zu pending, %d waits\n", (unsigned)RUN_MANY_LAUNCHES, most,
           waits);
    assert_true(most <= OPENCL_PENDING_MAX);
    /* At the cap the host waited for the older half (a device faster than
     * the enqueues never lets the list get there). */
    if (most == OPENCL_PENDING_MAX)
        assert_true(waits >= 1);
    assert_int_equal(x->synchronize(run.stream), KILN_OK);
    assert_int_equal(run.stream->pending_count, 0);
    uint32_t got[2];
    assert_int_equal(mem_ops->read(run.stream, m, 0, got, sizeof got), KILN_OK);
    assert_int_equal(got[0], RUN_MANY_LAUNCHES);
    /* The same chain of the generator on the host. */
    uint32_t want = acc[1];
    for (unsigned i = 0; i < RUN_MANY_LAUNCHES; i++)
        for (uint32_t k = 0; k < spin; k++)
            want = want * 1664525u + 1013904223u;
    assert_int_equal(got[1], want);
    mem_ops->free(run.dev, m);
}

/* A stream, a buffer, a launch with both events, a marker, the time
 * between them and the result: everything the run paths allocate. */
static kiln_status sweep_run(void *ctx)
{
    const uint32_t *in = ctx;
    port_stream *s = NULL;
    port_mem *min = NULL, *mout = NULL;
    port_event *b = NULL, *e = NULL, *mark = NULL;
    void *host = NULL;
    port_host_mem *h = NULL;
    scale_call c;
    kiln_status st = x->stream_create(run.dev, 0, &s);
    if (st == KILN_OK)
        st = mem_ops->alloc(run.dev, RUN_BYTES, &min);
    if (st == KILN_OK)
        st = mem_ops->alloc(run.dev, RUN_BYTES, &mout);
    if (st == KILN_OK)
        st = mem_ops->host_alloc(run.dev, RUN_BYTES, &host, &h);
    if (st == KILN_OK)
        st = mem_ops->write(s, min, 0, in, RUN_BYTES);
    if (st == KILN_OK) {
        scale_prepare(&c, mout, min);
        st = x->launch(s, run.scale, &c.launch, &b, &e);
    }
    if (st == KILN_OK)
        st = x->event_record(s, &mark);
    uint64_t ns = 0;
    if (st == KILN_OK)
        st = x->event_elapsed_ns(b, mark, &ns);
    if (st == KILN_OK)
        st = mem_ops->read(s, mout, 0, host, RUN_BYTES);
    if (st == KILN_OK)
        for (size_t i = 0; i < RUN_WORDS; i++)
            assert_int_equal(((uint32_t *)host)[i], in[i] * c.mul);
    x->event_release(b);
    x->event_release(e);
    x->event_release(mark);
    mem_ops->host_free(run.dev, h);
    mem_ops->free(run.dev, min);
    mem_ops->free(run.dev, mout);
    x->stream_destroy(s);
    return st;
}

static void host_memory_failures_while_running_are_reported(void **state)
{
    if (!INJECT_HOST_MEMORY)
        skip();
    uint32_t in[RUN_WORDS];
    random_words(in, RUN_WORDS);
    assert_true(inject_sweep_host_memory(sweep_run, in, "no memory for an event") >= 5);
    assert_true(inject_sweep_host_memory(sweep_run, in, "no memory for a buffer handle") >= 5);
    assert_true(inject_sweep_host_memory(sweep_run, in, "no memory for a stream") >= 5);
    assert_true(inject_sweep_host_memory(sweep_run, in, "no memory for a host buffer") >= 5);
}

int main(void)
{
    const char *fixed = getenv("KILN_TEST_SEED");
    unsigned seed = fixed ? (unsigned)strtoul(fixed, NULL, 10)
                          : (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    printf("# seed %u (set KILN_TEST_SEED to replay)\n", seed);
    srand(seed);
    char reason[256] = "";
    kiln_status st = ops->open(&run.backend, reason, sizeof reason);
    if (st == KILN_ERR_BACKEND_UNAVAILABLE) {
        printf("# OpenCL is unavailable (%s): skipped\n", reason);
        return SKIP_STATUS;
    }
    mem_ops = ops->memory;
    x = ops->execution;
    port_compile_input in = {.source = run_source, .source_length = strlen(run_source)};
    if (st != KILN_OK || ops->device_open(run.backend, 0, &run.dev) != KILN_OK ||
        x->stream_create(run.dev, 0, &run.stream) != KILN_OK ||
        ops->compile->compile(run.dev, &in, &run.module, NULL) != KILN_OK ||
        ops->compile->get_function(run.module, "scale", &run.scale) != KILN_OK ||
        ops->compile->get_function(run.module, "slow", &run.slow) != KILN_OK) {
        fprintf(stderr, "opencl: %s\n", util_last_error());
        return 1;
    }
    inject_save();
    const struct CMUnitTest tests[] = {
        /* First: the device's probe queue is made by the first probe. */
        cmocka_unit_test(health_probe_failures_degrade_the_device),
        cmocka_unit_test(buffers_the_driver_refuses_are_out_of_memory),
        cmocka_unit_test(failed_transfers_leave_the_data_as_it_was),
        cmocka_unit_test(host_memory_failures_are_host_memory),
        cmocka_unit_test(streams_the_driver_refuses_are_reported),
        cmocka_unit_test(launches_the_driver_refuses_are_reported),
        cmocka_unit_test(kernels_that_fail_on_the_device_are_reported_at_synchronize),
        cmocka_unit_test(event_failures_are_reported),
        cmocka_unit_test(endless_launches_keep_the_pending_list_bounded),
        cmocka_unit_test(host_memory_failures_while_running_are_reported),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    ops->compile->module_release(run.module);
    x->stream_destroy(run.stream);
    ops->device_close(run.dev);
    ops->close(run.backend);
    return failed;
}
