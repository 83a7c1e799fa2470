/* What the OpenCL adapter does beyond the port contracts: device info
 * equal to the driver's own answers, module bytes that round-trip (and
 * foreign bytes refused), refusal past CL_DEVICE_MAX_MEM_ALLOC_SIZE,
 * overlapping copies within one buffer, launch events sharing one
 * cl_event, one function launched from several threads at once, and a
 * bool parameter passed as one byte. Skipped (77) without an OpenCL
 * device. */
#include "contract/contract-support.h"

#include <pthread.h>

#include "backends/opencl/opencl_backend.h"
#include "backends/opencl/opencl_internal.h"

#define ADAPTER_THREADS 4
#define ADAPTER_THREAD_ROUNDS 25
#define ADAPTER_COPY_ROUNDS 40
#define ADAPTER_MAX_COPY_BYTES 100000
/* Header that module_binary puts before the driver's bytes (magic and
 * length, see opencl_compile.c). */
#define ADAPTER_BINARY_HEADER_BYTES 16u

static const char affine_source[] =
    "kernel void affine(global uint *out, global const uint *in, uint mul, uint add, uint n)\n"
    "{\n"
    "    uint i = global_id(0);\n"
    "    if (i < n)\n"
    "        out[i] = in[i] * mul + add;\n"
    "}\n"
    "kernel void pick(global uint *out, bool flag, uint a, uint b)\n"
    "{\n"
    "    out[global_id(0)] = flag ? a : b;\n"
    "}\n";

static void adapter_open_or_skip(void)
{
    contract.ops = &opencl_backend_ops;
    char reason[256] = "";
    kiln_status st = contract.ops->open(&contract.backend, reason, sizeof reason);
    if (st == KILN_ERR_BACKEND_UNAVAILABLE) {
        printf("# OpenCL is unavailable (%s): skipped\n", reason);
        exit(CONTRACT_SKIP);
    }
    if (st != KILN_OK || contract.ops->device_open(contract.backend, 0, &contract.dev) != KILN_OK ||
        contract.ops->device_info(contract.dev, &contract.info) != KILN_OK ||
        contract.ops->execution->stream_create(contract.dev, 0, &contract.stream) != KILN_OK) {
        fprintf(stderr, "opencl: %s\n", util_last_error());
        exit(1);
    }
    printf("# opencl device 0: %s\n", contract.info.name);
}

static cl_ulong driver_ulong(cl_device_info param)
{
    cl_ulong v = 0;
    assert_int_equal(opencl_api.GetDeviceInfo(contract.dev->id, param, sizeof v, &v, NULL),
                     CL_SUCCESS);
    return v;
}

static void device_info_is_what_the_driver_reports(void **state)
{
    const kiln_device_info *info = &contract.info;
    char text[OPENCL_TEXT_MAX];
    opencl_device_text(contract.dev->id, CL_DEVICE_NAME, text, sizeof text);
    assert_true(strlen(info->name) > 0);
    assert_int_equal(strncmp(info->name, text, sizeof info->name - 1), 0);
    assert_int_equal(info->backend, KILN_BACKEND_OPENCL);
    assert_int_equal(info->backend_index, 0);
    assert_true(info->memory_bytes == driver_ulong(CL_DEVICE_GLOBAL_MEM_SIZE));
    assert_true(info->shared_memory_bytes == driver_ulong(CL_DEVICE_LOCAL_MEM_SIZE));
    cl_uint units = 0;
    opencl_api.GetDeviceInfo(contract.dev->id, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units,
                             NULL);
    assert_int_equal(info->compute_units, units);
    cl_device_type type = driver_ulong(CL_DEVICE_TYPE);
    kiln_device_kind want = (type & CL_DEVICE_TYPE_GPU)           ? KILN_DEVICE_KIND_GPU
                            : (type & CL_DEVICE_TYPE_CPU)         ? KILN_DEVICE_KIND_CPU
                            : (type & CL_DEVICE_TYPE_ACCELERATOR) ? KILN_DEVICE_KIND_ACCELERATOR
                                                                  : KILN_DEVICE_KIND_OTHER;
    assert_int_equal(info->kind, want);
    assert_non_null(strstr(info->architecture, "OpenCL C"));
    size_t size = 0;
    opencl_api.GetDeviceInfo(contract.dev->id, CL_DEVICE_EXTENSIONS, 0, NULL, &size);
    char *ext = calloc(1, size + 1);
    assert_non_null(ext);
    opencl_api.GetDeviceInfo(contract.dev->id, CL_DEVICE_EXTENSIONS, size, ext, NULL);
    assert_int_equal(!!(info->capabilities & KILN_CAP_DOUBLE), strstr(ext, "cl_khr_fp64") != NULL);
    free(ext);
    assert_true(info->capabilities & KILN_CAP_FLOAT_ATOMICS);
    assert_false(info->capabilities & KILN_CAP_SUBGROUPS);
    assert_int_equal(info->subgroup_size, 1);
    assert_int_equal(info->health, KILN_HEALTH_HEALTHY);
}

/* Runs affine over n random words on f and checks every result. */
static void check_affine(port_function *f, size_t n)
{
    const port_memory *m = contract.ops->memory;
    uint32_t *in = malloc(n * sizeof *in), *got = malloc(n * sizeof *got);
    assert_true(in && got);
    for (size_t i = 0; i < n; i++)
        in[i] = (uint32_t)rand();
    uint32_t mul = (uint32_t)rand(), add = (uint32_t)rand(), count = (uint32_t)n;
    port_mem *din = NULL, *dout = NULL;
    CONTRACT_OK(m->alloc(contract.dev, n * sizeof *in, &din));
    CONTRACT_OK(m->alloc(contract.dev, n * sizeof *in, &dout));
    CONTRACT_OK(m->write(contract.stream, din, 0, in, n * sizeof *in));
    port_arg args[5] = {{.mem = dout}, {.mem = din}, {.value = &mul, .size = sizeof mul},
                        {.value = &add, .size = sizeof add}, {.value = &count, .size = sizeof count}};
    port_launch launch = {.dims = 1, .groups = {(n + 63) / 64}, .local = {64}, .args = args,
                          .nargs = 5};
    CONTRACT_OK(contract.ops->execution->launch(contract.stream, f, &launch, NULL, NULL));
    CONTRACT_OK(contract.ops->execution->synchronize(contract.stream));
    CONTRACT_OK(m->read(contract.stream, dout, 0, got, n * sizeof *got));
    for (size_t i = 0; i < n; i++)
        if (got[i] != in[i] * mul + add)
            fail_msg("affine[%zu]: got %u, want %u", i, got[i], in[i] * mul + add);
    m->free(contract.dev, din);
    m->free(contract.dev, dout);
    free(in);
    free(got);
}

static void module_bytes_round_trip_and_foreign_bytes_are_refused(void **state)
{
    contract_seed();
    const port_compile *c = contract.ops->compile;
    contract_program p;
    contract_build(affine_source, &p);
    void *bytes = NULL;
    size_t size = 0;
    CONTRACT_OK(c->module_binary(p.module, &bytes, &size));
    assert_true(size > ADAPTER_BINARY_HEADER_BYTES);
    c->module_release(p.module);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CONTRACT_OK(c->module_load(contract.dev, bytes, size, &p.module));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("# module_load of %zu bytes: %.3f ms\n", size,
           (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
    check_affine(contract_function(&p, "affine"), 1000 + contract_random_below(5000));
    /* A loaded module serializes again, to the same length. */
    void *again = NULL;
    size_t again_size = 0;
    CONTRACT_OK(c->module_binary(p.module, &again, &again_size));
    assert_true(again_size > ADAPTER_BINARY_HEADER_BYTES);
    free(again);
    /* Truncated, foreign and empty bytes never reach the driver. */
    port_module *m = NULL;
    assert_int_equal(c->module_load(contract.dev, bytes, size - 1, &m), KILN_ERR_INVALID_ARG);
    assert_int_equal(c->module_load(contract.dev, bytes, ADAPTER_BINARY_HEADER_BYTES - 1, &m),
                     KILN_ERR_INVALID_ARG);
    ((unsigned char *)bytes)[0] ^= 0xff;
    assert_int_equal(c->module_load(contract.dev, bytes, size, &m), KILN_ERR_INVALID_ARG);
    assert_null(m);
    assert_true(strlen(util_last_error()) > 0);
    free(bytes);
    contract_release(&p);
}

static void allocations_past_the_driver_limit_are_out_of_memory(void **state)
{
    const port_memory *m = contract.ops->memory;
    uint64_t before, after, total;
    CONTRACT_OK(m->usage(contract.dev, &before, &total));
    port_mem *mem = (port_mem *)&mem;
    size_t too_big = (size_t)contract.dev->max_alloc_bytes + 1;
    assert_int_equal(m->alloc(contract.dev, too_big, &mem), KILN_ERR_OUT_OF_MEMORY);
    assert_null(mem);
    assert_non_null(strstr(util_last_error(), "CL_DEVICE_MAX_MEM_ALLOC_SIZE"));
    assert_int_equal(m->alloc(contract.dev, SIZE_MAX, &mem), KILN_ERR_OUT_OF_MEMORY);
    assert_int_equal(m->alloc(contract.dev, 0, &mem), KILN_ERR_INVALID_SIZE);
    CONTRACT_OK(m->usage(contract.dev, &after, &total));
    assert_true(after == before);
    /* The device still allocates what fits, and counts it. */
    size_t bytes = 1 + contract_random_below(1u << 20);
    CONTRACT_OK(m->alloc(contract.dev, bytes, &mem));
    CONTRACT_OK(m->usage(contract.dev, &after, &total));
    assert_true(after == before + bytes);
    m->free(contract.dev, mem);
}

static void overlapping_copies_within_one_buffer_act_like_memmove(void **state)
{
    contract_seed();
    const port_memory *m = contract.ops->memory;
    size_t bytes = 2 + contract_random_below(ADAPTER_MAX_COPY_BYTES);
    unsigned char *model = malloc(bytes), *got = malloc(bytes);
    assert_true(model && got);
    for (size_t i = 0; i < bytes; i++)
        model[i] = (unsigned char)rand();
    port_mem *mem = NULL;
    CONTRACT_OK(m->alloc(contract.dev, bytes, &mem));
    CONTRACT_OK(m->write(contract.stream, mem, 0, model, bytes));
    for (int round = 0; round < ADAPTER_COPY_ROUNDS; round++) {
        size_t src = contract_random_below(bytes), dst = contract_random_below(bytes);
        size_t limit = bytes - (src > dst ? src : dst);
        size_t n = 1 + contract_random_below(limit);
        CONTRACT_OK(m->copy(contract.stream, mem, dst, mem, src, n));
        memmove(model + dst, model + src, n);
    }
    CONTRACT_OK(m->read(contract.stream, mem, 0, got, bytes));
    assert_memory_equal(got, model, bytes);
    m->free(contract.dev, mem);
    free(model);
    free(got);
}

static void launch_events_share_one_cl_event_and_outlive_each_other(void **state)
{
    contract_seed();
    const port_execution *x = contract.ops->execution;
    contract_program p;
    contract_build(affine_source, &p);
    port_function *f = contract_function(&p, "affine");
    size_t n = 4096;
    port_mem *buf = NULL;
    CONTRACT_OK(contract.ops->memory->alloc(contract.dev, n * sizeof(uint32_t), &buf));
    uint32_t mul = 3, add = (uint32_t)rand(), count = (uint32_t)n;
    port_arg args[5] = {{.mem = buf}, {.mem = buf}, {.value = &mul, .size = sizeof mul},
                        {.value = &add, .size = sizeof add}, {.value = &count, .size = sizeof count}};
    port_launch launch = {.dims = 1, .groups = {n / 64}, .local = {64}, .args = args, .nargs = 5};
    port_event *begin = NULL, *end = NULL, *mark = NULL;
    CONTRACT_OK(x->launch(contract.stream, f, &launch, &begin, &end));
    assert_ptr_equal(begin->event, end->event);
    assert_int_equal(begin->point, CL_PROFILING_COMMAND_START);
    assert_int_equal(end->point, CL_PROFILING_COMMAND_END);
    uint64_t kernel_ns = 0, tail_ns = 0;
    CONTRACT_OK(x->event_elapsed_ns(begin, end, &kernel_ns));
    x->event_release(begin); /* end keeps the cl_event alive */
    CONTRACT_OK(x->event_record(contract.stream, &mark));
    CONTRACT_OK(x->event_wait(end));
    CONTRACT_OK(x->event_elapsed_ns(end, mark, &tail_ns));
    printf("# kernel %llu ns, end to marker %llu ns\n", (unsigned long long)kernel_ns,
           (unsigned long long)tail_ns);
    /* Reversed, the span is negative: refused, not wrapped around. */
    if (tail_ns > 0)
        assert_int_equal(x->event_elapsed_ns(mark, end, &tail_ns), KILN_ERR_INVALID_ARG);
    x->event_release(end);
    x->event_release(mark);
    contract.ops->memory->free(contract.dev, buf);
    contract_release(&p);
}

typedef struct thread_work {
    port_function *f;
    unsigned seed;
    int mismatches;
    kiln_status status;
} thread_work;

/* One thread: its own stream and buffers, many launches of the shared
 * function with its own arguments. No cmocka calls (not thread-safe). */
static void *thread_run(void *arg)
{
    thread_work *w = arg;
    const port_memory *m = contract.ops->memory;
    const port_execution *x = contract.ops->execution;
    port_stream *s = NULL;
    port_mem *din = NULL, *dout = NULL;
    enum { N = 2048 };
    uint32_t in[N], got[N];
    if ((w->status = x->stream_create(contract.dev, 0, &s)) != KILN_OK ||
        (w->status = m->alloc(contract.dev, sizeof in, &din)) != KILN_OK ||
        (w->status = m->alloc(contract.dev, sizeof in, &dout)) != KILN_OK)
        goto done;
    for (int round = 0; round < ADAPTER_THREAD_ROUNDS && w->status == KILN_OK; round++) {
        for (size_t i = 0; i < N; i++)
            in[i] = (uint32_t)rand_r(&w->seed);
        uint32_t mul = (uint32_t)rand_r(&w->seed), add = (uint32_t)rand_r(&w->seed), n = N;
        port_arg args[5] = {{.mem = dout}, {.mem = din}, {.value = &mul, .size = sizeof mul},
                            {.value = &add, .size = sizeof add}, {.value = &n, .size = sizeof n}};
        port_launch launch = {.dims = 1, .groups = {N / 32}, .local = {32}, .args = args,
                              .nargs = 5};
        if ((w->status = m->write(s, din, 0, in, sizeof in)) != KILN_OK ||
            (w->status = x->launch(s, w->f, &launch, NULL, NULL)) != KILN_OK ||
            (w->status = m->read(s, dout, 0, got, sizeof got)) != KILN_OK ||
            (w->status = x->synchronize(s)) != KILN_OK)
            break;
        for (size_t i = 0; i < N; i++)
            w->mismatches += got[i] != in[i] * mul + add;
    }
done:
    m->free(contract.dev, din);
    m->free(contract.dev, dout);
    if (s)
        x->stream_destroy(s);
    return NULL;
}

static void one_function_launched_from_many_threads_keeps_its_arguments_apart(void **state)
{
    contract_seed();
    contract_program p;
    contract_build(affine_source, &p);
    port_function *f = contract_function(&p, "affine");
    pthread_t threads[ADAPTER_THREADS];
    thread_work work[ADAPTER_THREADS];
    for (int t = 0; t < ADAPTER_THREADS; t++) {
        work[t] = (thread_work){.f = f, .seed = (unsigned)rand(), .status = KILN_OK};
        assert_int_equal(pthread_create(&threads[t], NULL, thread_run, &work[t]), 0);
    }
    for (int t = 0; t < ADAPTER_THREADS; t++) {
        pthread_join(threads[t], NULL);
        assert_int_equal(work[t].status, KILN_OK);
        assert_int_equal(work[t].mismatches, 0);
    }
    contract_release(&p);
}

static void a_bool_parameter_travels_as_one_byte(void **state)
{
    contract_seed();
    contract_program p;
    contract_build(affine_source, &p);
    port_function *f = contract_function(&p, "pick");
    port_mem *out = NULL;
    CONTRACT_OK(contract.ops->memory->alloc(contract.dev, 64 * sizeof(uint32_t), &out));
    for (unsigned char flag = 0; flag <= 1; flag++) {
        uint32_t a = (uint32_t)rand(), b = ~a, got[64];
        port_arg args[4] = {{.mem = out}, {.value = &flag, .size = 1},
                            {.value = &a, .size = sizeof a}, {.value = &b, .size = sizeof b}};
        port_launch launch = {.dims = 1, .groups = {4}, .local = {16}, .args = args, .nargs = 4};
        CONTRACT_OK(contract.ops->execution->launch(contract.stream, f, &launch, NULL, NULL));
        CONTRACT_OK(contract.ops->memory->read(contract.stream, out, 0, got, sizeof got));
        for (int i = 0; i < 64; i++)
            assert_int_equal(got[i], flag ? a : b);
    }
    contract.ops->memory->free(contract.dev, out);
    contract_release(&p);
}

static void launches_the_kernel_cannot_take_are_refused(void **state)
{
    contract_program p;
    contract_build(affine_source, &p);
    port_function *f = contract_function(&p, "pick");
    port_mem *out = NULL;
    CONTRACT_OK(contract.ops->memory->alloc(contract.dev, 64, &out));
    unsigned char flag = 1;
    uint32_t a = 1, b = 2;
    port_arg args[4] = {{.mem = out}, {.value = &flag, .size = 1}, {.value = &a, .size = 4},
                        {.value = &b, .size = 4}};
    port_launch launch = {.dims = 1, .groups = {1}, .local = {16}, .args = args, .nargs = 3};
    const port_execution *x = contract.ops->execution;
    assert_int_equal(x->launch(contract.stream, f, &launch, NULL, NULL), KILN_ERR_INVALID_ARG);
    launch.nargs = 4;
    launch.local[0] = f->work_group_limit + 1;
    assert_int_equal(x->launch(contract.stream, f, &launch, NULL, NULL), KILN_ERR_INVALID_RANGE);
    launch.local[0] = 1;
    launch.dims = 4;
    assert_int_equal(x->launch(contract.stream, f, &launch, NULL, NULL), KILN_ERR_INVALID_RANGE);
    contract.ops->memory->free(contract.dev, out);
    contract_release(&p);
}

int main(void)
{
    adapter_open_or_skip();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(device_info_is_what_the_driver_reports),
        cmocka_unit_test(module_bytes_round_trip_and_foreign_bytes_are_refused),
        cmocka_unit_test(allocations_past_the_driver_limit_are_out_of_memory),
        cmocka_unit_test(overlapping_copies_within_one_buffer_act_like_memmove),
        cmocka_unit_test(launch_events_share_one_cl_event_and_outlive_each_other),
        cmocka_unit_test(one_function_launched_from_many_threads_keeps_its_arguments_apart),
        cmocka_unit_test(a_bool_parameter_travels_as_one_byte),
        cmocka_unit_test(launches_the_kernel_cannot_take_are_refused),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    contract_close();
    return failed;
}
