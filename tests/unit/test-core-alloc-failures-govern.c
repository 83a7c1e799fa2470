/* Host allocation failure in a governed context: the k-th allocation of the
 * test thread fails, for k = 1, 2, ... until a run completes without
 * reaching k. The sequence: a context on the fault adapter and the CPU
 * under a policy, a session, its view of the fault device, a program and a
 * kernel built there, a buffer, a KILN_QUEUE_CPU_FALLBACK queue, a write,
 * a launch with a by-value struct (BYTES) argument and an event, a finish,
 * two more launches of which the device faults the second (the queue falls
 * back to the CPU, rebuilds the kernel there and replays its journal), a
 * launch and a write on the CPU, a read, and every release. For every k the
 * run either succeeds, having fallen back, with results equal to a host
 * reference or stops with KILN_ERR_OUT_OF_HOST_MEMORY / KILN_ERR_OUT_OF_MEMORY
 * (or the policy loader's out-of-memory KILN_ERR_POLICY) and a detail, and
 * every block allocated during the run has been freed at its end. The
 * sweep itself is test-alloc-sweep.h's.
 *
 * Governed launches run on the scheduler's threads: only the test thread's
 * allocations count and fail (ALLOC_INTERPOSE_PER_THREAD), and only those
 * of kiln and the test (ALLOC_INTERPOSE_EXECUTABLE_ONLY: thread creation
 * and the C library keep theirs), so the runs are deterministic. The
 * allocator is test-alloc-interpose.h's; under a sanitizer the test skips. */
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

#include "util/fail.h"

#define ALLOC_INTERPOSE_PER_THREAD
#define ALLOC_INTERPOSE_EXECUTABLE_ONLY
/* More blocks than one run leaves allocated at any time. */
#define ALLOC_TRACK_SLOTS (1u << 17)
#include "test-alloc-interpose.h"
#include "test-session-support.h"

#if !ALLOC_INTERPOSE_ACTIVE

ALLOC_INTERPOSE_SKIPPED_MAIN

#else

#include "test-alloc-sweep.h"

#define ELEMENTS 256u
/* The launch the device faults: the third (after a finish kept the first),
 * so its fault surfaces at the next finish and the journal holds two. */
#define FAULT_PLAN "calls=execution.launch;count=3;status=device_fault"

/* x[i] = x[i] * c.x + c.y, with c a float4 passed by value. */
static const char source[] = "kernel void affine(global float *x, float4 c, uint n)\n"
                             "{\n"
                             "    uint i = global_id(0);\n"
                             "    if (i < n)\n"
                             "        x[i] = x[i] * c.x + c.y;\n"
                             "}\n";

static const char fault_and_cpu_rule[] =
    "  - name: fault-and-cpu\n"
    "    effect: allow\n"
    "    principals: [\"*\"]\n"
    "    devices: [\"backend:cpu\", \"backend:fault\"]\n"
    "    actions: [device.use, program.build, buffer.alloc, buffer.copy, kernel.launch]\n";

typedef alloc_outcome outcome;

/* Successful runs that had fallen back to the CPU. */
static int runs_fallen_back;

/* Small integers and halves: exact in float, so the host reference is
 * bit-equal whichever device ran a launch. */
static float coefficients[4][4] = {
    { 2.0f, 1.0f, 0.0f, 0.0f },
    { -1.0f, 0.5f, 0.0f, 0.0f },
    { 3.0f, -2.0f, 0.0f, 0.0f },
    { 0.5f, 4.0f, 0.0f, 0.0f },
};
#define LAUNCHES 4

static kiln_status launch(kiln_queue *q, kiln_kernel *k, kiln_buffer *buf, int which,
                          kiln_event **ev)
{
    kiln_range r = { .dims = 1, .global = { ELEMENTS } };
    kiln_arg args[] = { KILN_ARG_BUFFER(buf), KILN_ARG_BYTES(coefficients[which], sizeof(float[4])),
                        KILN_ARG_U32(ELEMENTS) };
    return kiln_launch(q, k, &r, args, 3, ev);
}

/* The index of the fault device in the context (the session's views have
 * the context's order). */
static uint32_t fault_index(kiln_context *ctx)
{
    kiln_device *dev = NULL;
    uint32_t i = 0;
    while (kiln_device_get(ctx, i, &dev) == KILN_OK) {
        kiln_device_info info;
        if (kiln_device_get_info(dev, &info) == KILN_OK && info.backend == KILN_BACKEND_FAULT)
            return i;
        i++;
    }
    return UINT32_MAX;
}

/* The whole sequence; everything it made is released on every path. */
static void run_sequence(outcome *o, const float *x)
{
    kiln_context_options opts = { .size = sizeof opts, .cache_dir = test_temp_dir,
                                  .backends = KILN_BACKEND_BIT(KILN_BACKEND_FAULT) |
                                              KILN_BACKEND_BIT(KILN_BACKEND_CPU),
                                  .policy = policy_path };
    kiln_queue_options qo = { .size = sizeof qo, .priority = KILN_PRIORITY_NORMAL,
                              .flags = KILN_QUEUE_CPU_FALLBACK };
    kiln_session_options so = { .size = sizeof so, .principal = "alice" };
    kiln_context *ctx = NULL;
    kiln_session *s = NULL;
    kiln_device *view = NULL;
    kiln_program *prog = NULL;
    kiln_kernel *k = NULL;
    kiln_buffer *buf = NULL;
    kiln_queue *q = NULL;
    kiln_event *ev = NULL;
    static float y[ELEMENTS], want[ELEMENTS];
    memset(o, 0, sizeof *o);
    memset(y, 0, sizeof y);
    util_clear_error();
    if (alloc_step_failed(o, "context", kiln_context_create(&ctx, &opts)))
        return;
    if (alloc_step_failed(o, "session", kiln_session_open(ctx, &so, &s)) ||
        alloc_step_failed(o, "view", kiln_session_device(s, fault_index(ctx), &view)) ||
        alloc_step_failed(o, "build", kiln_program_build(view, source, NULL, &prog)) ||
        alloc_step_failed(o, "kernel", kiln_kernel_get(prog, "affine", &k)) ||
        alloc_step_failed(o, "buffer", kiln_buffer_create(view, sizeof y, 0, &buf)) ||
        alloc_step_failed(o, "queue", kiln_queue_create_with(view, &qo, &q)) ||
        alloc_step_failed(o, "write", kiln_buffer_write(q, buf, 0, x, sizeof y)) ||
        alloc_step_failed(o, "launch 1", launch(q, k, buf, 0, &ev)) ||
        alloc_step_failed(o, "event", kiln_event_wait(ev)) ||
        alloc_step_failed(o, "finish 1", kiln_queue_finish(q)) ||
        alloc_step_failed(o, "launch 2", launch(q, k, buf, 1, NULL)) ||
        alloc_step_failed(o, "launch 3", launch(q, k, buf, 2, NULL)) ||
        alloc_step_failed(o, "finish 2", kiln_queue_finish(q)))
        goto done;
    kiln_queue_info info = { .size = sizeof info };
    if (alloc_step_failed(o, "queue info", kiln_queue_get_info(q, &info)))
        goto done;
    int fell_back = info.backend == KILN_BACKEND_CPU && info.fallbacks == 1;
    /* On the CPU now: a launch, then a partial write of the first item. */
    float first = -7.0f;
    if (alloc_step_failed(o, "launch 4", launch(q, k, buf, 3, NULL)) ||
        alloc_step_failed(o, "write on the CPU",
                          kiln_buffer_write(q, buf, 0, &first, sizeof first)) ||
        alloc_step_failed(o, "read", kiln_buffer_read(q, buf, 0, y, sizeof y)))
        goto done;
    for (uint32_t i = 0; i < ELEMENTS; i++) {
        float v = x[i];
        for (int l = 0; l < LAUNCHES; l++)
            v = v * coefficients[l][0] + coefficients[l][1];
        want[i] = i == 0 ? first : v;
    }
    o->results_ok = memcmp(y, want, sizeof y) == 0 && fell_back;
    runs_fallen_back += o->results_ok;
done:
    kiln_event_release(ev);
    kiln_queue_destroy(q);
    kiln_buffer_release(buf);
    kiln_kernel_release(k);
    kiln_program_release(prog);
    kiln_status closed = s ? kiln_session_close(s) : KILN_OK;
    if (o->status == KILN_OK)
        alloc_step_failed(o, "session close", closed);
    kiln_context_destroy(ctx);
}

static void run_swept(void *user, alloc_outcome *o)
{
    run_sequence(o, user);
}

static void plan_fault(void *user)
{
    (void)user;
    test_fault_plan(FAULT_PLAN);
}

/* The policy loader reports memory it could not get while parsing as a
 * policy error at the line it was on (src/govern/policy_load.c). */
static int policy_out_of_memory(const alloc_outcome *o)
{
    return o->status == KILN_ERR_POLICY && strstr(o->detail, "out of memory") != NULL;
}

static void every_governed_allocation_failure_is_clean(void **state)
{
    (void)state;
    static float x[ELEMENTS];
    for (uint32_t i = 0; i < ELEMENTS; i++)
        x[i] = (float)(rand() % 2001 - 1000) / 8.0f;
    write_policy(open_sessions_rule, fault_and_cpu_rule);
    outcome o;
    /* Unarmed first: fills the disk cache (both devices' builds) and warms
     * up one-time state. */
    test_fault_plan(FAULT_PLAN);
    run_sequence(&o, x);
    if (o.status != KILN_OK)
        fail_msg("unarmed run: %s failed with %s: %s", o.step, kiln_status_name(o.status),
                 o.detail);
    assert_true(o.results_ok); /* and fell back */

    runs_fallen_back = 0;
    alloc_sweep_plan plan = { .run = run_swept, .user = (void *)x, .prepare = plan_fault,
                              .also_clean = policy_out_of_memory };
    alloc_sweep(&plan);
    fault_plan_clear();
    print_message("%d runs recovered after falling back to the CPU\n", runs_fallen_back);
    assert_true(runs_fallen_back > 0);
}

static int setup(void **state)
{
    (void)state;
    unsetenv("KILN_FAULT");
    return session_test_setup("kiln-alloc-sweep-govern");
}

int main(void)
{
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_governed_allocation_failure_is_clean, setup,
                                        test_temp_dir_remove),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
