/* KILN_QUEUE_CPU_FALLBACK queues (src/core/fallback.h), driven through the
 * fault adapter wrapping the CPU in a context that also has the CPU: a
 * fault at any launch, at the read or at finish is absorbed by moving the
 * queue to the CPU and re-running its journal, and the results equal a host
 * reference on fresh random inputs; where work ran is reported; a plain
 * queue returns the fault; what cannot be replayed is refused clearly; a
 * governed context records the fault, the fallback and the readmission in
 * an audit log that still verifies. */
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
#include "core/health.h"
#include "govern/audit.h"
#include "test-audit-support.h"
#include "test-temp-dir.h"

/* Largest random buffer: a few pages. */
#define FALLBACK_MAX_ITEMS 4096u
/* Launches per run: enough that a fault can land before, among and after
 * the others. */
#define FALLBACK_LAUNCHES 4u
#define FALLBACK_LOG_MAX 8192

static const char scale_source[] = "kernel void scale(global float *x, float a, uint n)\n"
                                   "{\n"
                                   "    uint i = global_id(0);\n"
                                   "    if (i < n)\n"
                                   "        x[i] = x[i] * a;\n"
                                   "}\n";

static struct {
    kiln_context *ctx;
    kiln_device *dev; /* fault:0 */
    kiln_program *program;
    kiln_kernel *scale;
} env;

static char log_text[FALLBACK_LOG_MAX];
static uint64_t test_now;

static uint64_t test_clock(void)
{
    return test_now;
}

static void capture_log(kiln_log_level level, const char *message, void *user)
{
    (void)level;
    (void)user;
    size_t used = strlen(log_text);
    snprintf(log_text + used, sizeof log_text - used, "%s\n", message);
}

/* Ends the plan and lets the device's next probe pass. */
static void recover(void)
{
    test_fault_plan("none");
    test_now += 2 * HEALTH_PROBE_MAX_NS;
}

static void seed_random(void)
{
    const char *fixed = getenv("KILN_TEST_SEED");
    unsigned seed = fixed ? (unsigned)strtoul(fixed, NULL, 10)
                          : (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    printf("# seed %u (set KILN_TEST_SEED to replay)\n", seed);
    srand(seed);
}

static kiln_status open_context(uint32_t backends, const char *policy_file, const char *log_file,
                                kiln_context **ctx)
{
    kiln_context_options o = {.size = sizeof o, .backends = backends,
                              .flags = KILN_CONTEXT_NO_DISK_CACHE, .log = capture_log,
                              .policy = policy_file, .audit_log = log_file};
    return kiln_context_create(ctx, &o);
}

static kiln_status open_env(const char *policy_file, const char *log_file)
{
    kiln_status st = open_context(KILN_BACKEND_BIT(KILN_BACKEND_FAULT) |
                                      KILN_BACKEND_BIT(KILN_BACKEND_CPU),
                                  policy_file, log_file, &env.ctx);
    if (st == KILN_OK)
        st = kiln_device_find(env.ctx, "fault:0", &env.dev);
    if (st == KILN_OK)
        st = kiln_program_build(env.dev, scale_source, NULL, &env.program);
    if (st == KILN_OK)
        st = kiln_kernel_get(env.program, "scale", &env.scale);
    return st;
}

static void close_env(void)
{
    kiln_kernel_release(env.scale);
    kiln_program_release(env.program);
    kiln_context_destroy(env.ctx);
    memset(&env, 0, sizeof env);
}

static int setup(void **state)
{
    (void)state;
    unsetenv("KILN_FAULT");
    unsetenv("KILN_POLICY");
    unsetenv("KILN_AUDIT_LOG");
    test_now = HEALTH_PROBE_MAX_NS;
    health_set_clock(test_clock);
    log_text[0] = '\0';
    test_fault_plan("none");
    return open_env(NULL, NULL) == KILN_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    recover();
    close_env();
    fault_plan_clear();
    health_set_clock(NULL);
    return 0;
}

static kiln_queue *fallback_queue(kiln_device *dev)
{
    kiln_queue_options o = {.size = sizeof o, .priority = KILN_PRIORITY_NORMAL,
                            .flags = KILN_QUEUE_CPU_FALLBACK};
    kiln_queue *q = NULL;
    assert_int_equal(kiln_queue_create_with(dev, &o, &q), KILN_OK);
    return q;
}

static kiln_queue_info queue_info(kiln_queue *q)
{
    kiln_queue_info info = {.size = sizeof info};
    assert_int_equal(kiln_queue_get_info(q, &info), KILN_OK);
    return info;
}

/* One run: write -> launch -> finish -> launch x (FALLBACK_LAUNCHES - 1)
 * -> read on fresh random floats, each launch scaling by a small integer
 * (exact in float, so the host reference is bit-equal). Returns the
 * queue for the caller to inspect and destroy. */
static kiln_queue *run_scaled(kiln_queue *q, kiln_event **last_event)
{
    size_t n = 1 + (size_t)rand() % FALLBACK_MAX_ITEMS;
    float *host = malloc(n * sizeof *host), *back = malloc(n * sizeof *back);
    assert_non_null(host);
    assert_non_null(back);
    for (size_t i = 0; i < n; i++)
        host[i] = (float)(rand() % 2001 - 1000) / 8.0f;
    kiln_buffer *buf = NULL;
    assert_int_equal(kiln_buffer_create(env.dev, n * sizeof *host, 0, &buf), KILN_OK);
    assert_int_equal(kiln_buffer_write(q, buf, 0, host, n * sizeof *host), KILN_OK);
    kiln_range range = {.dims = 1, .global = {n}};
    for (uint32_t l = 0; l < FALLBACK_LAUNCHES; l++) {
        float a = (float)(rand() % 7 - 3);
        kiln_arg args[] = {KILN_ARG_BUFFER(buf), KILN_ARG_F32(a), KILN_ARG_U32((uint32_t)n)};
        kiln_event **ev = l + 1 == FALLBACK_LAUNCHES ? last_event : NULL;
        assert_int_equal(kiln_launch(q, env.scale, &range, args, 3, ev), KILN_OK);
        for (size_t i = 0; i < n; i++)
            host[i] = host[i] * a;
        if (l == 0)
            assert_int_equal(kiln_queue_finish(q), KILN_OK);
    }
    assert_int_equal(kiln_buffer_read(q, buf, 0, back, n * sizeof *back), KILN_OK);
    for (size_t i = 0; i < n; i++)
        if (back[i] != host[i])
            fail_msg("item %zu of %zu: %g, want %g", i, n, (double)back[i], (double)host[i]);
    kiln_buffer_release(buf);
    free(host);
    free(back);
    return q;
}

static void expect_on_cpu(kiln_queue *q, uint64_t on_device, uint64_t on_cpu)
{
    kiln_queue_info info = queue_info(q);
    assert_int_equal(info.backend, KILN_BACKEND_CPU);
    assert_int_equal(info.fallbacks, 1);
    assert_int_equal(info.launches_on_device, on_device);
    assert_int_equal(info.launches_on_cpu, on_cpu);
    assert_non_null(strstr(log_text, "falls back to the CPU"));
}

static void a_fault_at_any_launch_falls_back_and_the_results_are_right(void **state)
{
    (void)state;
    seed_random();
    for (uint32_t i = 1; i <= FALLBACK_LAUNCHES; i++) {
        recover();
        char text[96];
        snprintf(text, sizeof text, "calls=execution.launch;count=%u;status=device_fault", i);
        test_fault_plan(text);
        kiln_event *ev = NULL;
        kiln_queue *q = run_scaled(fallback_queue(env.dev), &ev);
        /* The first launch ran on the device and was kept (a finish
         * followed it) unless the fault was that launch. */
        uint64_t kept = i == 1 ? 0 : 1;
        expect_on_cpu(q, kept, FALLBACK_LAUNCHES - kept);
        kiln_event_info where = {.size = sizeof where};
        assert_int_equal(kiln_event_get_info(ev, &where), KILN_OK);
        assert_int_equal(where.backend, KILN_BACKEND_CPU);
        assert_int_equal(kiln_event_wait(ev), KILN_OK);
        kiln_event_release(ev);
        kiln_queue_destroy(q);
    }
}

static void a_fault_at_the_read_falls_back_and_the_results_are_right(void **state)
{
    (void)state;
    seed_random();
    /* Reads through the adapter: the snapshot of the buffer before the
     * second launch (the first write wrote it whole: no snapshot), then the
     * caller's read. */
    test_fault_plan("calls=memory.read;count=2;status=device_lost");
    kiln_queue *q = run_scaled(fallback_queue(env.dev), NULL);
    expect_on_cpu(q, 1, FALLBACK_LAUNCHES - 1);
    kiln_queue_destroy(q);
}

static void a_fault_at_finish_falls_back_and_the_results_are_right(void **state)
{
    (void)state;
    seed_random();
    test_fault_plan("calls=execution.synchronize;count=1;status=device_fault");
    kiln_queue *q = run_scaled(fallback_queue(env.dev), NULL);
    expect_on_cpu(q, 0, FALLBACK_LAUNCHES);
    kiln_queue_destroy(q);
}

static void without_faults_a_fallback_queue_stays_on_its_device(void **state)
{
    (void)state;
    seed_random();
    kiln_event *ev = NULL;
    kiln_queue *q = run_scaled(fallback_queue(env.dev), &ev);
    kiln_queue_info info = queue_info(q);
    assert_int_equal(info.backend, KILN_BACKEND_FAULT);
    assert_int_equal(info.fallbacks, 0);
    assert_int_equal(info.launches_on_device, FALLBACK_LAUNCHES);
    assert_int_equal(info.launches_on_cpu, 0);
    kiln_event_info where = {.size = sizeof where};
    assert_int_equal(kiln_event_get_info(ev, &where), KILN_OK);
    assert_int_equal(where.backend, KILN_BACKEND_FAULT);
    kiln_event_release(ev);
    kiln_queue_destroy(q);
    assert_null(strstr(log_text, "falls back"));
}

static void a_queue_without_the_flag_returns_the_fault(void **state)
{
    (void)state;
    kiln_queue *q = NULL;
    assert_int_equal(kiln_queue_create(env.dev, KILN_PRIORITY_NORMAL, &q), KILN_OK);
    kiln_buffer *buf = NULL;
    assert_int_equal(kiln_buffer_create(env.dev, 16 * sizeof(float), 0, &buf), KILN_OK);
    test_fault_plan("calls=execution.launch;count=1;status=device_fault");
    kiln_range range = {.dims = 1, .global = {16}};
    kiln_arg args[] = {KILN_ARG_BUFFER(buf), KILN_ARG_F32(2.0f), KILN_ARG_U32(16)};
    assert_int_equal(kiln_launch(q, env.scale, &range, args, 3, NULL), KILN_ERR_DEVICE_FAULT);
    assert_string_equal(kiln_last_error(), "injected fault: execution.launch call 1");
    kiln_queue_info info = queue_info(q);
    assert_int_equal(info.backend, KILN_BACKEND_FAULT);
    assert_int_equal(info.fallbacks, 0);
    assert_null(strstr(log_text, "falls back"));
    recover();
    kiln_buffer_release(buf);
    kiln_queue_destroy(q);
}

static void a_context_without_a_cpu_returns_the_fault_with_why(void **state)
{
    (void)state;
    kiln_context *ctx = NULL;
    kiln_device *dev = NULL;
    assert_int_equal(open_context(KILN_BACKEND_BIT(KILN_BACKEND_FAULT), NULL, NULL, &ctx), KILN_OK);
    assert_int_equal(kiln_device_find(ctx, "fault:0", &dev), KILN_OK);
    kiln_queue *q = fallback_queue(dev);
    kiln_buffer *buf = NULL;
    assert_int_equal(kiln_buffer_create(dev, 64, 0, &buf), KILN_OK);
    test_fault_plan("calls=memory.fill;count=1;status=device_fault");
    assert_int_equal(kiln_buffer_fill(q, buf, 0, 1, 64), KILN_ERR_DEVICE_FAULT);
    assert_string_equal(kiln_last_error(), "injected fault: memory.fill call 1 (the queue cannot "
                                           "fall back: its context has no CPU device)");
    assert_int_equal(queue_info(q).fallbacks, 0);
    recover();
    /* A fault while taking the snapshot of a part of another: the same. */
    kiln_buffer *part = NULL;
    assert_int_equal(kiln_buffer_create(dev, 64, 0, &part), KILN_OK);
    test_fault_plan("calls=memory.read;count=1;status=device_fault");
    assert_int_equal(kiln_buffer_fill(q, part, 0, 1, 8), KILN_ERR_DEVICE_FAULT);
    assert_string_equal(kiln_last_error(), "injected fault: memory.read call 1 (the queue cannot "
                                           "fall back: its context has no CPU device)");
    recover();
    kiln_buffer_release(part);
    kiln_buffer_release(buf);
    kiln_queue_destroy(q);
    kiln_context_destroy(ctx);
}

static void a_buffer_in_another_fallback_journal_is_refused(void **state)
{
    (void)state;
    kiln_queue *a = fallback_queue(env.dev), *b = fallback_queue(env.dev);
    kiln_buffer *buf = NULL;
    assert_int_equal(kiln_buffer_create(env.dev, 64, 0, &buf), KILN_OK);
    assert_int_equal(kiln_buffer_fill(a, buf, 0, 1, 64), KILN_OK);
    assert_int_equal(kiln_buffer_fill(b, buf, 0, 2, 64), KILN_ERR_UNSUPPORTED);
    assert_non_null(strstr(kiln_last_error(), "journal of another KILN_QUEUE_CPU_FALLBACK queue"));
    /* a's synchronization point ends its claim. */
    assert_int_equal(kiln_queue_finish(a), KILN_OK);
    assert_int_equal(kiln_buffer_fill(b, buf, 0, 2, 64), KILN_OK);
    unsigned char back[64];
    assert_int_equal(kiln_buffer_read(b, buf, 0, back, sizeof back), KILN_OK);
    assert_int_equal(back[0], 2);
    assert_int_equal(back[63], 2);
    kiln_buffer_release(buf);
    kiln_queue_destroy(a);
    kiln_queue_destroy(b);
}

static void a_buffer_released_before_the_fault_is_stood_in_for(void **state)
{
    (void)state;
    kiln_queue *q = fallback_queue(env.dev);
    enum { N = 256 };
    float in[N], back[N];
    for (int i = 0; i < N; i++)
        in[i] = (float)(rand() % 100);
    kiln_buffer *tmp = NULL, *out = NULL;
    assert_int_equal(kiln_buffer_create(env.dev, sizeof in, 0, &tmp), KILN_OK);
    assert_int_equal(kiln_buffer_create(env.dev, sizeof in, 0, &out), KILN_OK);
    assert_int_equal(kiln_buffer_write(q, tmp, 0, in, sizeof in), KILN_OK);
    assert_int_equal(kiln_buffer_copy(q, out, 0, tmp, 0, sizeof in), KILN_OK);
    kiln_buffer_release(tmp);
    test_fault_plan("calls=execution.launch;count=1;status=device_fault");
    kiln_range range = {.dims = 1, .global = {N}};
    kiln_arg args[] = {KILN_ARG_BUFFER(out), KILN_ARG_F32(3.0f), KILN_ARG_U32(N)};
    assert_int_equal(kiln_launch(q, env.scale, &range, args, 3, NULL), KILN_OK);
    assert_int_equal(kiln_buffer_read(q, out, 0, back, sizeof back), KILN_OK);
    for (int i = 0; i < N; i++)
        assert_true(back[i] == in[i] * 3.0f);
    expect_on_cpu(q, 0, 1);
    kiln_buffer_release(out);
    kiln_queue_destroy(q);
}

static void an_unjournaled_buffer_after_the_fallback_is_refused_clearly(void **state)
{
    (void)state;
    kiln_queue *q = fallback_queue(env.dev);
    kiln_buffer *used = NULL, *other = NULL;
    assert_int_equal(kiln_buffer_create(env.dev, 64, 0, &used), KILN_OK);
    assert_int_equal(kiln_buffer_create(env.dev, 64, 0, &other), KILN_OK);
    test_fault_plan("calls=memory.fill;count=1;status=device_fault");
    assert_int_equal(kiln_buffer_fill(q, used, 0, 5, 64), KILN_OK);
    unsigned char byte = 0;
    assert_int_equal(kiln_buffer_read(q, other, 0, &byte, 1), KILN_ERR_DEVICE_LOST);
    assert_non_null(strstr(kiln_last_error(), "stayed on device"));
    assert_int_equal(kiln_buffer_read(q, used, 63, &byte, 1), KILN_OK);
    assert_int_equal(byte, 5);
    recover();
    kiln_buffer_release(used);
    kiln_buffer_release(other);
    kiln_queue_destroy(q);
}

static void a_fault_while_taking_a_snapshot_falls_back_but_refuses_that_buffer(void **state)
{
    (void)state;
    kiln_queue *q = fallback_queue(env.dev);
    kiln_buffer *kept = NULL, *lost = NULL;
    assert_int_equal(kiln_buffer_create(env.dev, 64, 0, &kept), KILN_OK);
    assert_int_equal(kiln_buffer_create(env.dev, 64, 0, &lost), KILN_OK);
    assert_int_equal(kiln_buffer_fill(q, kept, 0, 4, 64), KILN_OK);
    /* A part of lost: its snapshot is read first, and that read fails. */
    test_fault_plan("calls=memory.read;count=1;status=device_fault");
    assert_int_equal(kiln_buffer_fill(q, lost, 0, 1, 8), KILN_ERR_DEVICE_FAULT);
    assert_non_null(strstr(kiln_last_error(), "injected fault: memory.read call 1 (the queue fell "
                                              "back to the CPU, but a buffer this operation uses "
                                              "had no snapshot"));
    assert_int_equal(queue_info(q).backend, KILN_BACKEND_CPU);
    unsigned char byte = 0;
    assert_int_equal(kiln_buffer_read(q, kept, 10, &byte, 1), KILN_OK);
    assert_int_equal(byte, 4);
    recover();
    kiln_buffer_release(kept);
    kiln_buffer_release(lost);
    kiln_queue_destroy(q);
}

static void bad_queue_options_are_refused(void **state)
{
    (void)state;
    kiln_queue *q = (kiln_queue *)&q;
    kiln_queue_options o = {.size = sizeof o - 1, .flags = KILN_QUEUE_CPU_FALLBACK};
    assert_int_equal(kiln_queue_create_with(env.dev, &o, &q), KILN_ERR_INVALID_ARG);
    assert_null(q);
    o.size = sizeof o;
    o.flags = 0x80u;
    assert_int_equal(kiln_queue_create_with(env.dev, &o, &q), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(kiln_last_error(), "unknown queue flags 0x80"));
    assert_int_equal(kiln_queue_create_with(env.dev, NULL, &q), KILN_ERR_NULL_HANDLE);
    kiln_queue_info info = {.size = 0};
    o.flags = 0;
    assert_int_equal(kiln_queue_create_with(env.dev, &o, &q), KILN_OK);
    assert_int_equal(kiln_queue_get_info(q, &info), KILN_ERR_INVALID_ARG);
    kiln_queue_destroy(q);
}

/* A session's fallback queue moves to the same session's view of the CPU:
 * the work stays the principal's, and every object is counted back, so the
 * session closes once the caller released what it made. */
static void a_session_queue_falls_back_within_its_session(void **state)
{
    (void)state;
    seed_random();
    uint32_t index = 0;
    kiln_device *dev = NULL;
    while (kiln_device_get(env.ctx, index, &dev) == KILN_OK && dev != env.dev)
        index++;
    assert_ptr_equal(dev, env.dev);
    kiln_session_options o = {.size = sizeof o, .principal = "alice"};
    kiln_session *s = NULL;
    assert_int_equal(kiln_session_open(env.ctx, &o, &s), KILN_OK);
    kiln_device *view = NULL;
    assert_int_equal(kiln_session_device(s, index, &view), KILN_OK);
    kiln_device *own_dev = env.dev;
    kiln_kernel *own_scale = env.scale;
    kiln_program *program = NULL;
    assert_int_equal(kiln_program_build(view, scale_source, NULL, &program), KILN_OK);
    assert_int_equal(kiln_kernel_get(program, "scale", &env.scale), KILN_OK);
    env.dev = view;
    test_fault_plan("calls=execution.launch;count=2;status=device_fault");
    kiln_queue *q = run_scaled(fallback_queue(view), NULL);
    expect_on_cpu(q, 1, FALLBACK_LAUNCHES - 1);
    kiln_queue_destroy(q);
    kiln_kernel_release(env.scale);
    kiln_program_release(program);
    env.dev = own_dev;
    env.scale = own_scale;
    assert_int_equal(kiln_session_close(s), KILN_OK);
}

/* Governed: a policy allowing everything on both devices and an audit log. */
static void faults_fallbacks_and_readmissions_are_audited(void **state)
{
    (void)state;
    close_env();
    assert_int_equal(test_temp_dir_make("kiln-fallback"), 0);
    char policy_path[TEST_TEMP_DIR_MAX + 16], log_path[TEST_TEMP_DIR_MAX + 16];
    snprintf(policy_path, sizeof policy_path, "%s/policy.yaml", test_temp_dir);
    snprintf(log_path, sizeof log_path, "%s/audit.log", test_temp_dir);
    FILE *f = fopen(policy_path, "w");
    assert_non_null(f);
    fputs("version: 1\n"
          "rules:\n"
          "  - name: all\n"
          "    effect: allow\n"
          "    principals: [\"*\"]\n"
          "    devices: [\"backend:cpu\", \"backend:fault\"]\n"
          "    actions: [device.use, program.build, buffer.alloc, buffer.copy, kernel.launch]\n",
          f);
    fclose(f);
    assert_int_equal(open_env(policy_path, log_path), KILN_OK);
    seed_random();
    test_fault_plan("calls=execution.launch;count=2;status=device_fault");
    kiln_queue *q = run_scaled(fallback_queue(env.dev), NULL);
    expect_on_cpu(q, 1, FALLBACK_LAUNCHES - 1);
    kiln_queue_destroy(q);
    recover();
    kiln_buffer *buf = NULL; /* the probe passes: readmitted */
    assert_int_equal(kiln_buffer_create(env.dev, 64, 0, &buf), KILN_OK);
    kiln_buffer_release(buf);
    close_env();

    assert_int_equal(test_audit_verify(log_path, NULL, 0).verdict, AUDIT_VERIFY_OK);
    f = fopen(log_path, "r");
    assert_non_null(f);
    static char text[1 << 20];
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    const char *fault = strstr(text, "\"device.fault\"");
    const char *fallback = strstr(text, "\"queue.fallback\"");
    const char *readmit = strstr(text, "\"device.readmit\"");
    assert_non_null(fault);
    assert_non_null(fallback);
    assert_non_null(readmit);
    assert_true(fault < fallback && fallback < readmit);
    assert_non_null(strstr(text, "injected fault: execution.launch call 2"));
    /* Governed, launches go through the device's scheduler: the fault of
     * launch 2 surfaces at a later launch (the device is marked faulted) or
     * at the read, so launches 2 to 3 or 2 to 4 re-run, as timing has it. */
    const char *rerun = strstr(text, " launch(es) re-run after");
    assert_non_null(rerun);
    assert_true(rerun[-1] == '2' || rerun[-1] == '3');
    assert_int_equal(test_temp_dir_remove(NULL), 0);
    assert_int_equal(open_env(NULL, NULL), KILN_OK); /* for the teardown */
}

/* Operations a fallback queue refuses (or that fail for a reason other
 * than a fault) leave no journal entry and no claim on a buffer: the queue
 * then works as before. */
static void refused_operations_leave_the_journal_clean(void **state)
{
    (void)state;
    kiln_queue *q = fallback_queue(env.dev), *other = fallback_queue(env.dev);
    kiln_buffer *buf = NULL, *claimed = NULL;
    assert_int_equal(kiln_buffer_create(env.dev, 64 * sizeof(float), 0, &buf), KILN_OK);
    assert_int_equal(kiln_buffer_create(env.dev, 64 * sizeof(float), 0, &claimed), KILN_OK);
    kiln_range range = {.dims = 1, .global = {64}};
    kiln_arg args[] = {KILN_ARG_BUFFER(buf), KILN_ARG_F32(2.0f), KILN_ARG_U32(64)};
    assert_int_equal(kiln_launch(q, env.scale, NULL, args, 3, NULL), KILN_ERR_NULL_HANDLE);
    /* Journaled, then refused by the launch: the entry is taken back. */
    assert_int_equal(kiln_launch(q, env.scale, &range, args, 2, NULL), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(kiln_last_error(), "takes 3 arguments, got 2"));
    assert_int_equal(kiln_launch(q, env.scale, &range, NULL, 3, NULL), KILN_ERR_NULL_HANDLE);
    kiln_arg no_buffer[] = {KILN_ARG_BUFFER(NULL), KILN_ARG_F32(2.0f), KILN_ARG_U32(64)};
    assert_int_not_equal(kiln_launch(q, env.scale, &range, no_buffer, 3, NULL), KILN_OK);
    /* A buffer another fallback queue journaled. */
    assert_int_equal(kiln_buffer_fill(other, claimed, 0, 1, 64), KILN_OK);
    kiln_arg theirs[] = {KILN_ARG_BUFFER(claimed), KILN_ARG_F32(2.0f), KILN_ARG_U32(64)};
    assert_int_equal(kiln_launch(q, env.scale, &range, theirs, 3, NULL), KILN_ERR_UNSUPPORTED);
    assert_non_null(strstr(kiln_last_error(), "journal of another KILN_QUEUE_CPU_FALLBACK queue"));
    /* A span outside the buffer is refused, not journaled. */
    assert_int_equal(kiln_buffer_fill(q, buf, 64 * sizeof(float), 1, 4), KILN_ERR_OUT_OF_RANGE);
    kiln_queue_info info = queue_info(q);
    assert_int_equal(info.launches_on_device, 0);
    /* The queue still works, and a fault now replays only what it did. */
    float ones[64], back[64];
    for (int i = 0; i < 64; i++)
        ones[i] = 1.0f;
    assert_int_equal(kiln_buffer_write(q, buf, 0, ones, sizeof ones), KILN_OK);
    test_fault_plan("calls=execution.launch;count=1;status=device_fault");
    assert_int_equal(kiln_launch(q, env.scale, &range, args, 3, NULL), KILN_OK);
    assert_int_equal(kiln_buffer_read(q, buf, 0, back, sizeof back), KILN_OK);
    for (int i = 0; i < 64; i++)
        assert_true(back[i] == 2.0f);
    expect_on_cpu(q, 0, 1);
    recover();
    kiln_buffer_release(buf);
    kiln_buffer_release(claimed);
    kiln_queue_destroy(q);
    kiln_queue_destroy(other);
}

/* After the fallback, writes, fills and copies run on the CPU, and a
 * kernel built on another context's CPU (no kept source) is refused. */
static void after_the_fallback_transfers_run_on_the_cpu(void **state)
{
    (void)state;
    kiln_queue *q = fallback_queue(env.dev);
    kiln_buffer *a = NULL, *b = NULL;
    assert_int_equal(kiln_buffer_create(env.dev, 64, 0, &a), KILN_OK);
    assert_int_equal(kiln_buffer_create(env.dev, 64, 0, &b), KILN_OK);
    assert_int_equal(kiln_buffer_fill(q, b, 0, 9, 64), KILN_OK);
    test_fault_plan("calls=memory.fill;count=1;status=device_fault");
    assert_int_equal(kiln_buffer_fill(q, a, 0, 5, 64), KILN_OK);
    assert_int_equal(queue_info(q).backend, KILN_BACKEND_CPU);
    unsigned char bytes[64], back[64];
    for (int i = 0; i < 64; i++)
        bytes[i] = (unsigned char)(rand() & 0xff);
    assert_int_equal(kiln_buffer_write(q, a, 8, bytes, 16), KILN_OK);
    assert_int_equal(kiln_buffer_copy(q, b, 32, a, 8, 16), KILN_OK);
    assert_int_equal(kiln_buffer_read(q, b, 0, back, sizeof back), KILN_OK);
    for (int i = 0; i < 64; i++)
        assert_int_equal(back[i], i >= 32 && i < 48 ? bytes[i - 32] : 9);

    kiln_context *other = NULL;
    kiln_device *cpu = NULL;
    kiln_program *prog = NULL;
    kiln_kernel *k = NULL;
    assert_int_equal(open_context(KILN_BACKEND_BIT(KILN_BACKEND_CPU), NULL, NULL, &other), KILN_OK);
    assert_int_equal(kiln_device_find(other, "cpu", &cpu), KILN_OK);
    assert_int_equal(kiln_program_build(cpu, scale_source, NULL, &prog), KILN_OK);
    assert_int_equal(kiln_kernel_get(prog, "scale", &k), KILN_OK);
    kiln_range range = {.dims = 1, .global = {16}};
    kiln_arg args[] = {KILN_ARG_BUFFER(a), KILN_ARG_F32(2.0f), KILN_ARG_U32(16)};
    assert_int_equal(kiln_launch(q, k, &range, args, 3, NULL), KILN_ERR_UNSUPPORTED);
    assert_non_null(strstr(kiln_last_error(), "has no kept source to rebuild on the CPU"));
    kiln_kernel_release(k);
    kiln_program_release(prog);
    kiln_context_destroy(other);
    recover();
    kiln_buffer_release(a);
    kiln_buffer_release(b);
    kiln_queue_destroy(q);
}

/* The CPU is where others fall back to: a fallback queue there is plain. */
static void a_fallback_queue_on_the_cpu_is_a_plain_queue(void **state)
{
    (void)state;
    kiln_device *cpu = NULL;
    assert_int_equal(kiln_device_find(env.ctx, "cpu", &cpu), KILN_OK);
    kiln_queue *q = fallback_queue(cpu);
    kiln_buffer *buf = NULL;
    assert_int_equal(kiln_buffer_create(cpu, 16, 0, &buf), KILN_OK);
    assert_int_equal(kiln_buffer_fill(q, buf, 0, 3, 16), KILN_OK);
    unsigned char byte = 0;
    assert_int_equal(kiln_buffer_read(q, buf, 15, &byte, 1), KILN_OK);
    assert_int_equal(byte, 3);
    kiln_queue_info info = queue_info(q);
    assert_int_equal(info.backend, KILN_BACKEND_CPU);
    assert_int_equal(info.fallbacks, 0);
    assert_int_equal(info.launches_on_device, 0);
    kiln_buffer_release(buf);
    kiln_queue_destroy(q);
}

/* Governed, with cpu_actions the only actions allowed on the CPU: a fault
 * at the first launch makes the queue fall back, and what the policy
 * denies there fails the fallback with want in the detail. */
static void fallback_under(const char *cpu_actions, kiln_status want_status, const char *want)
{
    close_env();
    assert_int_equal(test_temp_dir_make("kiln-fallback-denied"), 0);
    char policy_path[TEST_TEMP_DIR_MAX + 16];
    snprintf(policy_path, sizeof policy_path, "%s/policy.yaml", test_temp_dir);
    FILE *f = fopen(policy_path, "w");
    assert_non_null(f);
    fprintf(f,
            "version: 1\n"
            "rules:\n"
            "  - name: fault\n"
            "    effect: allow\n"
            "    principals: [\"*\"]\n"
            "    devices: [\"backend:fault\"]\n"
            "    actions: [device.use, program.build, buffer.alloc, buffer.copy, kernel.launch]\n"
            "  - name: cpu\n"
            "    effect: allow\n"
            "    principals: [\"*\"]\n"
            "    devices: [\"backend:cpu\"]\n"
            "    actions: [%s]\n",
            cpu_actions);
    fclose(f);
    assert_int_equal(open_env(policy_path, NULL), KILN_OK);
    kiln_queue *q = fallback_queue(env.dev);
    kiln_buffer *buf = NULL;
    assert_int_equal(kiln_buffer_create(env.dev, 64 * sizeof(float), 0, &buf), KILN_OK);
    assert_int_equal(kiln_buffer_fill(q, buf, 0, 0, 64 * sizeof(float)), KILN_OK);
    test_fault_plan("calls=execution.launch;count=1;status=device_fault");
    kiln_range range = {.dims = 1, .global = {64}};
    kiln_arg args[] = {KILN_ARG_BUFFER(buf), KILN_ARG_F32(2.0f), KILN_ARG_U32(64)};
    kiln_status st = kiln_launch(q, env.scale, &range, args, 3, NULL);
    if (st == KILN_OK) /* governed: the fault surfaces at the finish */
        st = kiln_queue_finish(q);
    assert_int_equal(st, want_status);
    if (!strstr(kiln_last_error(), want))
        fail_msg("detail '%s' lacks '%s'", kiln_last_error(), want);
    recover();
    kiln_buffer_release(buf);
    kiln_queue_destroy(q);
    close_env();
    assert_int_equal(test_temp_dir_remove(NULL), 0);
    assert_int_equal(open_env(NULL, NULL), KILN_OK); /* for the teardown */
}

static void a_fallback_the_policy_denies_fails_with_why(void **state)
{
    (void)state;
    fallback_under("buffer.alloc", KILN_ERR_DENIED, "falling back to the CPU failed");
}

static void a_fallback_buffer_the_policy_denies_fails_the_replay(void **state)
{
    (void)state;
    fallback_under("device.use", KILN_ERR_DENIED, "buffer.alloc");
}

static void a_cpu_rebuild_the_policy_denies_fails_the_replay(void **state)
{
    (void)state;
    fallback_under("device.use, buffer.alloc, buffer.copy", KILN_ERR_DENIED,
                   "re-running operation 2 of 2 on the CPU after a fault: rebuilding kernel "
                   "'scale'");
}

/* Two handles of one kernel share its CPU rebuild: after a fault both
 * launches re-run there, and the result is theirs in order. */
static void two_handles_of_a_kernel_share_one_cpu_rebuild(void **state)
{
    (void)state;
    kiln_kernel *again = NULL;
    assert_int_equal(kiln_kernel_get(env.program, "scale", &again), KILN_OK);
    kiln_queue *q = fallback_queue(env.dev);
    enum { N = 128 };
    float in[N], back[N];
    for (int i = 0; i < N; i++)
        in[i] = (float)(rand() % 100);
    kiln_buffer *buf = NULL;
    assert_int_equal(kiln_buffer_create(env.dev, sizeof in, 0, &buf), KILN_OK);
    assert_int_equal(kiln_buffer_write(q, buf, 0, in, sizeof in), KILN_OK);
    test_fault_plan("calls=execution.launch;count=2;status=device_fault");
    kiln_range range = {.dims = 1, .global = {N}};
    kiln_arg twice[] = {KILN_ARG_BUFFER(buf), KILN_ARG_F32(2.0f), KILN_ARG_U32(N)};
    kiln_arg thrice[] = {KILN_ARG_BUFFER(buf), KILN_ARG_F32(3.0f), KILN_ARG_U32(N)};
    assert_int_equal(kiln_launch(q, env.scale, &range, twice, 3, NULL), KILN_OK);
    assert_int_equal(kiln_launch(q, again, &range, thrice, 3, NULL), KILN_OK);
    assert_int_equal(kiln_buffer_read(q, buf, 0, back, sizeof back), KILN_OK);
    for (int i = 0; i < N; i++)
        assert_true(back[i] == in[i] * 6.0f);
    expect_on_cpu(q, 0, 2);
    kiln_buffer_release(buf);
    kiln_queue_destroy(q);
    kiln_kernel_release(again);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_fault_at_any_launch_falls_back_and_the_results_are_right,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_fault_at_the_read_falls_back_and_the_results_are_right,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_fault_at_finish_falls_back_and_the_results_are_right,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(without_faults_a_fallback_queue_stays_on_its_device, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_queue_without_the_flag_returns_the_fault, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_context_without_a_cpu_returns_the_fault_with_why, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_buffer_in_another_fallback_journal_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_buffer_released_before_the_fault_is_stood_in_for, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            an_unjournaled_buffer_after_the_fallback_is_refused_clearly, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_fault_while_taking_a_snapshot_falls_back_but_refuses_that_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_queue_options_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(a_session_queue_falls_back_within_its_session, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(faults_fallbacks_and_readmissions_are_audited, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(refused_operations_leave_the_journal_clean, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(after_the_fallback_transfers_run_on_the_cpu, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_fallback_queue_on_the_cpu_is_a_plain_queue, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_fallback_the_policy_denies_fails_with_why, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_fallback_buffer_the_policy_denies_fails_the_replay,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_cpu_rebuild_the_policy_denies_fails_the_replay, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(two_handles_of_a_kernel_share_one_cpu_rebuild, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
