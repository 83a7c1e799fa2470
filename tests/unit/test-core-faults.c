/* The core's error paths when an adapter fails, driven through the fault
 * adapter wrapping the CPU: what the public API returns (status and detail),
 * that a failed call hands out nothing (the sanitizer build checks for
 * leaks), how a device fault degrades a device until its probe passes, and
 * that work after a fault still computes the right results. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kiln/kiln.h>

#include "backends/fault/fault_plan.h"
#include "test-fault-support.h"

/* Largest random buffer: a few pages. */
#define FAULTS_MAX_ITEMS 4096u
#define FAULTS_LOG_MAX 4096

/* Launches round the global size up to whole work-groups: n bounds it. */
static const char scale_source[] = "kernel void scale(global float *x, float a, uint n)\n"
                                   "{\n"
                                   "    uint i = global_id(0);\n"
                                   "    if (i < n)\n"
                                   "        x[i] = x[i] * a;\n"
                                   "}\n";

/* One context with only the fault adapter, shared by the tests. */
static struct {
    kiln_context *ctx;
    kiln_device *dev;
    kiln_queue *queue;
    kiln_program *program;
    kiln_kernel *scale;
    char name[KILN_NAME_MAX];
} env;

static char log_text[FAULTS_LOG_MAX];

static void capture_log(kiln_log_level level, const char *message, void *user)
{
    (void)level;
    (void)user;
    snprintf(log_text + strlen(log_text), sizeof log_text - strlen(log_text), "%s\n", message);
}

static void seed_random(void)
{
    const char *fixed = getenv("KILN_TEST_SEED");
    unsigned seed = fixed ? (unsigned)strtoul(fixed, NULL, 10)
                          : (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    printf("# seed %u (set KILN_TEST_SEED to replay)\n", seed);
    srand(seed);
}

static size_t random_items(void)
{
    return 1 + (size_t)rand() % FAULTS_MAX_ITEMS;
}

static void expect(kiln_status got, kiln_status want, const char *detail)
{
    if (got != want || strcmp(kiln_last_error(), detail) != 0)
        fail_msg("got %s '%s', want %s '%s'", kiln_status_name(got), kiln_last_error(),
                 kiln_status_name(want), detail);
}

static kiln_context *fault_context(uint32_t flags)
{
    kiln_context *ctx = NULL;
    kiln_context_options opts = {.size = sizeof opts,
                                 .backends = KILN_BACKEND_BIT(KILN_BACKEND_FAULT),
                                 .flags = flags,
                                 .log = capture_log};
    log_text[0] = '\0';
    assert_int_equal(kiln_context_create(&ctx, &opts), KILN_OK);
    return ctx;
}

static int group_setup(void **state)
{
    (void)state;
    health_set_clock(leaping_clock);
    unsetenv("KILN_FAULT");
    test_fault_plan("none");
    env.ctx = fault_context(KILN_CONTEXT_NO_DISK_CACHE);
    if (kiln_device_find(env.ctx, "fault:0", &env.dev) != KILN_OK)
        return -1;
    kiln_device_info info;
    if (kiln_device_get_info(env.dev, &info) != KILN_OK || info.backend != KILN_BACKEND_FAULT)
        return -1;
    snprintf(env.name, sizeof env.name, "%s", info.name);
    if (kiln_queue_create(env.dev, KILN_PRIORITY_NORMAL, &env.queue) != KILN_OK ||
        kiln_program_build(env.dev, scale_source, NULL, &env.program) != KILN_OK ||
        kiln_kernel_get(env.program, "scale", &env.scale) != KILN_OK)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    kiln_kernel_release(env.scale);
    kiln_program_release(env.program);
    kiln_queue_destroy(env.queue);
    kiln_context_destroy(env.ctx);
    fault_plan_clear();
    health_set_clock(NULL);
    return 0;
}

/* Each test starts with a plan that fails nothing and a healthy device. */
static int setup(void **state)
{
    (void)state;
    test_fault_plan("none");
    kiln_buffer *probe = NULL;
    assert_int_equal(kiln_buffer_create(env.dev, 4, 0, &probe), KILN_OK);
    kiln_buffer_release(probe);
    return 0;
}

/* Scales random floats on the device and compares with the host. */
static void check_scale_works(void)
{
    size_t n = random_items();
    float *host = malloc(n * sizeof *host), *back = malloc(n * sizeof *back);
    assert_non_null(host);
    assert_non_null(back);
    for (size_t i = 0; i < n; i++)
        host[i] = (float)rand() / (float)RAND_MAX * 100.0f - 50.0f;
    float a = (float)(rand() % 17) - 8.0f;
    kiln_buffer *buf = NULL;
    assert_int_equal(kiln_buffer_create(env.dev, n * sizeof *host, 0, &buf), KILN_OK);
    assert_int_equal(kiln_buffer_write(env.queue, buf, 0, host, n * sizeof *host), KILN_OK);
    kiln_range range = {.dims = 1, .global = {n}};
    kiln_arg args[] = {KILN_ARG_BUFFER(buf), KILN_ARG_F32(a), KILN_ARG_U32(n)};
    assert_int_equal(kiln_launch(env.queue, env.scale, &range, args, 3, NULL), KILN_OK);
    assert_int_equal(kiln_buffer_read(env.queue, buf, 0, back, n * sizeof *back), KILN_OK);
    for (size_t i = 0; i < n; i++)
        assert_true(back[i] == host[i] * a);
    kiln_buffer_release(buf);
    free(host);
    free(back);
}

static void buffer_alloc_failure_names_device_and_size(void **state)
{
    (void)state;
    size_t bytes = random_items() * sizeof(float);
    char want[512];
    snprintf(want, sizeof want, "device '%s' cannot allocate %zu bytes", env.name, bytes);
    kiln_buffer *buf = (kiln_buffer *)&buf;
    test_fault_plan("calls=memory.alloc;count=1;status=out_of_memory");
    expect(kiln_buffer_create(env.dev, bytes, 0, &buf), KILN_ERR_OUT_OF_MEMORY, want);
    assert_null(buf);
    /* Other statuses keep the adapter's own detail. */
    test_fault_plan("calls=memory.alloc;count=1;status=device");
    expect(kiln_buffer_create(env.dev, bytes, 0, &buf), KILN_ERR_DEVICE,
           "injected fault: memory.alloc call 1");
    assert_null(buf);
    fault_stats stats;
    fault_plan_stats(&stats);
    assert_int_equal(stats.seen[FAULT_OP_ALLOC], 1);
    check_scale_works();
}

static void buffer_transfer_failures_return_the_adapter_status(void **state)
{
    (void)state;
    size_t n = random_items();
    unsigned char *in = malloc(n), *out = malloc(n);
    assert_non_null(in);
    assert_non_null(out);
    for (size_t i = 0; i < n; i++)
        in[i] = (unsigned char)rand();
    kiln_buffer *a = NULL, *b = NULL;
    assert_int_equal(kiln_buffer_create(env.dev, n, 0, &a), KILN_OK);
    assert_int_equal(kiln_buffer_create(env.dev, n, 0, &b), KILN_OK);

    test_fault_plan("calls=memory.write;count=1;status=io");
    expect(kiln_buffer_write(env.queue, a, 0, in, n), KILN_ERR_IO,
           "injected fault: memory.write call 1");
    assert_int_equal(kiln_buffer_write(env.queue, a, 0, in, n), KILN_OK);
    test_fault_plan("calls=memory.copy;count=1;status=device");
    expect(kiln_buffer_copy(env.queue, b, 0, a, 0, n), KILN_ERR_DEVICE,
           "injected fault: memory.copy call 1");
    assert_int_equal(kiln_buffer_copy(env.queue, b, 0, a, 0, n), KILN_OK);
    test_fault_plan("calls=memory.fill;count=1;status=internal");
    expect(kiln_buffer_fill(env.queue, b, 0, 0x5a, n / 2), KILN_ERR_INTERNAL,
           "injected fault: memory.fill call 1");
    test_fault_plan("calls=memory.read;count=1;status=io");
    memset(out, 0, n);
    expect(kiln_buffer_read(env.queue, b, 0, out, n), KILN_ERR_IO,
           "injected fault: memory.read call 1");
    /* The failed fill changed nothing: b holds exactly the copy of a. */
    assert_int_equal(kiln_buffer_read(env.queue, b, 0, out, n), KILN_OK);
    assert_memory_equal(in, out, n);
    kiln_buffer_release(a);
    kiln_buffer_release(b);
    free(in);
    free(out);
}

/* After a device fault every entry point refuses the device until its
 * health probe passes again. */
static void device_fault_degrades_the_device_until_faults_stop(void **state)
{
    (void)state;
    kiln_buffer *buf = NULL;
    assert_int_equal(kiln_buffer_create(env.dev, 64, 0, &buf), KILN_OK);
    test_fault_plan("calls=memory.fill;from=1;status=device_fault");
    expect(kiln_buffer_fill(env.queue, buf, 0, 1, 64), KILN_ERR_DEVICE_FAULT,
           "injected fault: memory.fill call 1");
    kiln_device_info info;
    assert_int_equal(kiln_device_get_info(env.dev, &info), KILN_OK);
    assert_int_equal(info.health, KILN_HEALTH_DEGRADED);

    char want[512];
    snprintf(want, sizeof want, "device '%s' (fault:0) is degraded after a fault", env.name);
    kiln_buffer *other = NULL;
    kiln_queue *q = NULL;
    kiln_program *p = NULL;
    kiln_host_buffer *hb = NULL;
    unsigned char byte = 0;
    kiln_range range = {.dims = 1, .global = {16}};
    kiln_arg args[] = {KILN_ARG_BUFFER(buf), KILN_ARG_F32(2.0f), KILN_ARG_U32(16)};
    expect(kiln_buffer_create(env.dev, 64, 0, &other), KILN_ERR_DEVICE_LOST, want);
    expect(kiln_queue_create(env.dev, KILN_PRIORITY_NORMAL, &q), KILN_ERR_DEVICE_LOST, want);
    expect(kiln_program_build(env.dev, scale_source, NULL, &p), KILN_ERR_DEVICE_LOST, want);
    expect(kiln_launch(env.queue, env.scale, &range, args, 3, NULL), KILN_ERR_DEVICE_LOST, want);
    expect(kiln_host_buffer_create(env.dev, 64, &hb), KILN_ERR_DEVICE_LOST, want);
    expect(kiln_buffer_read(env.queue, buf, 0, &byte, 1), KILN_ERR_DEVICE_LOST, want);
    assert_null(other);
    assert_null(q);
    assert_null(p);
    assert_null(hb);

    /* The plan ends: the next call probes, finds the device healthy, runs. */
    test_fault_plan("none");
    assert_int_equal(kiln_buffer_read(env.queue, buf, 0, &byte, 1), KILN_OK);
    assert_int_equal(kiln_device_get_info(env.dev, &info), KILN_OK);
    assert_int_equal(info.health, KILN_HEALTH_HEALTHY);
    kiln_buffer_release(buf);
    check_scale_works();
}

static void lost_device_and_failing_probe_report_lost(void **state)
{
    (void)state;
    kiln_range range = {.dims = 1, .global = {16}};
    kiln_buffer *buf = NULL;
    assert_int_equal(kiln_buffer_create(env.dev, 16 * sizeof(float), 0, &buf), KILN_OK);
    kiln_arg args[] = {KILN_ARG_BUFFER(buf), KILN_ARG_F32(3.0f), KILN_ARG_U32(16)};
    kiln_event *ev = (kiln_event *)&ev;
    test_fault_plan("calls=execution.launch;from=1;status=device_lost");
    expect(kiln_launch(env.queue, env.scale, &range, args, 3, &ev), KILN_ERR_DEVICE_LOST,
           "injected fault: execution.launch call 1");
    assert_null(ev);
    kiln_device_info info;
    assert_int_equal(kiln_device_get_info(env.dev, &info), KILN_OK);
    assert_int_equal(info.health, KILN_HEALTH_LOST);
    char want[512];
    snprintf(want, sizeof want, "device '%s' (fault:0) is lost after a fault", env.name);
    expect(kiln_launch(env.queue, env.scale, &range, args, 3, &ev), KILN_ERR_DEVICE_LOST, want);

    /* A fault whose health probe itself fails: degraded at once (the probe
     * gave no answer), lost at the next probe. */
    test_fault_plan("none");
    assert_int_equal(kiln_queue_finish(env.queue), KILN_OK);
    test_fault_plan("calls=execution.synchronize,execution.health;from=1;status=device_fault");
    /* The detail is the fault's, not the failed probe's that followed it. */
    assert_int_equal(kiln_queue_finish(env.queue), KILN_ERR_DEVICE_FAULT);
    assert_non_null(strstr(kiln_last_error(), "injected fault: execution.synchronize call "));
    assert_int_equal(kiln_device_get_info(env.dev, &info), KILN_OK);
    assert_int_equal(info.health, KILN_HEALTH_DEGRADED);
    snprintf(want, sizeof want, "device '%s' (fault:0) is lost after a fault", env.name);
    expect(kiln_launch(env.queue, env.scale, &range, args, 3, NULL), KILN_ERR_DEVICE_LOST, want);
    fault_stats stats;
    fault_plan_stats(&stats);
    assert_int_equal(stats.injected[FAULT_OP_HEALTH], 2);
    kiln_buffer_release(buf);
}

static void queue_failures_return_the_adapter_status(void **state)
{
    (void)state;
    kiln_queue *q = (kiln_queue *)&q;
    test_fault_plan("calls=execution.stream_create;count=1;status=out_of_host_memory");
    expect(kiln_queue_create(env.dev, KILN_PRIORITY_HIGH, &q), KILN_ERR_OUT_OF_HOST_MEMORY,
           "injected fault: execution.stream_create call 1");
    assert_null(q);
    assert_int_equal(kiln_queue_create(env.dev, KILN_PRIORITY_HIGH, &q), KILN_OK);
    test_fault_plan("calls=execution.synchronize;count=1;status=device");
    expect(kiln_queue_finish(q), KILN_ERR_DEVICE, "injected fault: execution.synchronize call 1");
    assert_int_equal(kiln_queue_finish(q), KILN_OK);
    kiln_queue_destroy(q);
}

static void event_failures_return_the_adapter_status(void **state)
{
    (void)state;
    kiln_event *before = NULL, *after = NULL, *failed = (kiln_event *)&failed;
    test_fault_plan("calls=execution.event_record;count=2;status=device");
    assert_int_equal(kiln_queue_marker(env.queue, &before), KILN_OK);
    expect(kiln_queue_marker(env.queue, &failed), KILN_ERR_DEVICE,
           "injected fault: execution.event_record call 2");
    assert_null(failed);
    check_scale_works();
    assert_int_equal(kiln_queue_marker(env.queue, &after), KILN_OK);

    test_fault_plan("calls=execution.event_wait;count=1;status=device");
    expect(kiln_event_wait(after), KILN_ERR_DEVICE, "injected fault: execution.event_wait call 1");
    assert_int_equal(kiln_event_wait(after), KILN_OK);
    uint64_t ns = UINT64_MAX;
    test_fault_plan("calls=execution.event_elapsed_ns;count=1;status=internal");
    expect(kiln_event_elapsed_ns(before, after, &ns), KILN_ERR_INTERNAL,
           "injected fault: execution.event_elapsed_ns call 1");
    assert_int_equal(kiln_event_elapsed_ns(before, after, &ns), KILN_OK);
    assert_true(ns < UINT64_MAX);

    /* A launch that fails hands out no event; one that runs does. */
    kiln_buffer *buf = NULL;
    assert_int_equal(kiln_buffer_create(env.dev, 16 * sizeof(float), 0, &buf), KILN_OK);
    kiln_range range = {.dims = 1, .global = {16}};
    kiln_arg args[] = {KILN_ARG_BUFFER(buf), KILN_ARG_F32(1.0f), KILN_ARG_U32(16)};
    kiln_event *launched = (kiln_event *)&launched;
    test_fault_plan("calls=execution.launch;count=1;status=device");
    expect(kiln_launch(env.queue, env.scale, &range, args, 3, &launched), KILN_ERR_DEVICE,
           "injected fault: execution.launch call 1");
    assert_null(launched);
    assert_int_equal(kiln_launch(env.queue, env.scale, &range, args, 3, &launched), KILN_OK);
    assert_non_null(launched);
    assert_int_equal(kiln_event_wait(launched), KILN_OK);
    kiln_event_release(launched);
    kiln_buffer_release(buf);
    kiln_event_release(before);
    kiln_event_release(after);
}

/* A source no cache has seen: a second kernel with a fresh constant (the
 * disk cache keys the translated code, so a comment would not do). */
static void fresh_source(char *out, size_t size)
{
    snprintf(out, size, "%skernel void salt(global uint *x)\n{\n    x[0] = %uu ^ %uu;\n}\n",
             scale_source, (unsigned)rand(), (unsigned)getpid());
}

static void program_build_failures_return_status_and_detail(void **state)
{
    (void)state;
    char source[512];
    fresh_source(source, sizeof source);
    kiln_build_options opts = {.size = sizeof opts, .source_name = "faulty.kc"};
    kiln_program *p = (kiln_program *)&p;
    test_fault_plan("calls=compile.compile;count=1;status=compile");
    expect(kiln_program_build(env.dev, source, &opts, &p), KILN_ERR_COMPILE,
           "faulty.kc: the fault compiler failed without output");
    assert_null(p);
    test_fault_plan("calls=compile.compile;count=1;status=no_compiler");
    expect(kiln_program_build(env.dev, source, &opts, &p), KILN_ERR_NO_COMPILER,
           "injected fault: compile.compile call 1");
    test_fault_plan("calls=compile.get_function;count=1;status=device");
    assert_int_equal(kiln_program_build(env.dev, source, &opts, &p), KILN_ERR_INTERNAL);
    assert_non_null(strstr(kiln_last_error(), "compiled module lacks entry"));
    assert_non_null(strstr(kiln_last_error(), "of kernel 'scale'"));
    assert_null(p);
    /* Nothing failed was cached: the next build compiles afresh and works. */
    test_fault_plan("none");
    assert_int_equal(kiln_program_build(env.dev, source, &opts, &p), KILN_OK);
    assert_int_equal(kiln_program_origin(p), KILN_BUILD_COMPILED);
    fault_stats stats;
    fault_plan_stats(&stats);
    assert_int_equal(stats.seen[FAULT_OP_COMPILE], 1);
    kiln_program_release(p);
}

static kiln_build_origin build_in_new_context(const char *source, const char *plan_text)
{
    kiln_context *ctx = fault_context(0);
    kiln_device *dev = NULL;
    kiln_program *p = NULL;
    assert_int_equal(kiln_device_find(ctx, "fault:0", &dev), KILN_OK);
    test_fault_plan(plan_text);
    assert_int_equal(kiln_program_build(dev, source, NULL, &p), KILN_OK);
    kiln_build_origin origin = kiln_program_origin(p);
    kiln_program_release(p);
    kiln_context_destroy(ctx);
    return origin;
}

/* The disk cache: an entry that does not load is rebuilt, and a module that
 * cannot be serialized is simply not stored. */
static void disk_cache_survives_load_and_binary_failures(void **state)
{
    (void)state;
    char source[512];
    fresh_source(source, sizeof source);
    assert_int_equal(build_in_new_context(source, "calls=compile.module_binary;count=1"),
                     KILN_BUILD_COMPILED);
    assert_int_equal(build_in_new_context(source, "none"), KILN_BUILD_COMPILED);
    assert_int_equal(build_in_new_context(source, "calls=compile.module_load;count=1;status=io"),
                     KILN_BUILD_COMPILED);
    fault_stats stats;
    fault_plan_stats(&stats);
    assert_int_equal(stats.injected[FAULT_OP_MODULE_LOAD], 1);
    assert_int_equal(stats.seen[FAULT_OP_COMPILE], 1);
    assert_int_equal(build_in_new_context(source, "none"), KILN_BUILD_DISK_CACHE);
}

static void context_lists_failed_backend_and_devices(void **state)
{
    (void)state;
    static const struct {
        const char *plan;
        kiln_status status;
        const char *detail;
    } device_faults[] = {
        {"calls=backend.device_open;count=1;status=device_lost", KILN_ERR_DEVICE_LOST,
         "injected fault: backend.device_open call 1"},
        {"calls=backend.device_info;count=1;status=device", KILN_ERR_DEVICE,
         "injected fault: backend.device_info call 1"},
        {"calls=compile.cache_identity;count=1;status=io", KILN_ERR_IO,
         "injected fault: compile.cache_identity call 1"},
    };
    for (size_t i = 0; i < sizeof device_faults / sizeof device_faults[0]; i++) {
        test_fault_plan(device_faults[i].plan);
        kiln_context *ctx = fault_context(KILN_CONTEXT_NO_DISK_CACHE);
        assert_int_equal(kiln_device_count(ctx), 0);
        kiln_device *dev = NULL;
        assert_int_equal(kiln_device_find(ctx, "fault:0", &dev), KILN_ERR_NOT_FOUND);
        kiln_backend_info info;
        assert_int_equal(kiln_backend_get_info(ctx, 0, &info), KILN_OK);
        assert_int_equal(info.status, KILN_OK);
        assert_int_equal(info.device_count, 0);
        char want[256];
        snprintf(want, sizeof want, "fault device 0 failed to open: %s", device_faults[i].detail);
        if (!strstr(log_text, want))
            fail_msg("log '%s' lacks '%s'", log_text, want);
        kiln_context_destroy(ctx);
    }
    test_fault_plan("calls=backend.open;count=1;status=device");
    kiln_context *ctx = fault_context(KILN_CONTEXT_NO_DISK_CACHE);
    kiln_backend_info info;
    assert_int_equal(kiln_backend_get_info(ctx, 0, &info), KILN_OK);
    assert_int_equal(info.status, KILN_ERR_DEVICE);
    assert_string_equal(info.reason, "injected fault: backend.open call 1");
    assert_int_equal(kiln_device_count(ctx), 0);
    assert_non_null(strstr(log_text, "backend fault unavailable: injected fault"));
    kiln_context_destroy(ctx);
}

static void host_buffer_alloc_failure_returns_the_status(void **state)
{
    (void)state;
    size_t bytes = random_items();
    kiln_host_buffer *hb = (kiln_host_buffer *)&hb;
    test_fault_plan("calls=memory.host_alloc;count=1;status=out_of_host_memory");
    expect(kiln_host_buffer_create(env.dev, bytes, &hb), KILN_ERR_OUT_OF_HOST_MEMORY,
           "injected fault: memory.host_alloc call 1");
    assert_null(hb);
    assert_int_equal(kiln_host_buffer_create(env.dev, bytes, &hb), KILN_OK);
    assert_int_equal(kiln_host_buffer_size(hb), bytes);
    assert_non_null(kiln_host_buffer_data(hb));
    kiln_host_buffer_release(hb);
}

int main(void)
{
    seed_random();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(buffer_alloc_failure_names_device_and_size, setup),
        cmocka_unit_test_setup(buffer_transfer_failures_return_the_adapter_status, setup),
        cmocka_unit_test_setup(device_fault_degrades_the_device_until_faults_stop, setup),
        cmocka_unit_test_setup(lost_device_and_failing_probe_report_lost, setup),
        cmocka_unit_test_setup(queue_failures_return_the_adapter_status, setup),
        cmocka_unit_test_setup(event_failures_return_the_adapter_status, setup),
        cmocka_unit_test_setup(program_build_failures_return_status_and_detail, setup),
        cmocka_unit_test_setup(disk_cache_survives_load_and_binary_failures, setup),
        cmocka_unit_test_setup(context_lists_failed_backend_and_devices, setup),
        cmocka_unit_test_setup(host_buffer_alloc_failure_returns_the_status, setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
