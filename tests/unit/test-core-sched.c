/* The priority scheduler in the launch path of a governed context (CPU
 * backend): launches give the right results through it, their arguments
 * are copied, buffers and events wait for them, high priority overtakes
 * queued low-priority work, and the launch quotas (concurrent_launches,
 * device_time) hold under many threads allocating and launching at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kiln/kiln.h>

#include "backends/fault/fault_plan.h"
#include "core/core_types.h"
#include "core/launch_sched.h"
#include "test-core-support.h"
#include "test-temp-dir.h"

/* How long one spin launch runs: long enough that work queues up behind
 * it, short enough that a test of a few dozen stays under a second. */
#define SPIN_TARGET_NS 4000000ull
/* Iterations the calibration runs to measure the spin loop's speed. */
#define SPIN_CALIBRATION_ITERS 200000u
#define NS_PER_MS 1000000ull
/* Low-priority launches queued ahead of the high-priority one, one per queue. */
#define OVERTAKE_LOW_LAUNCHES 10
/* Threads launching (and allocating) at once in the quota tests. */
#define QUOTA_THREADS 6
#define QUOTA_LAUNCHES_PER_THREAD 12
#define QUOTA_CONCURRENT_LIMIT 2
/* The device_time test: 30 ms per 1 s window, launches of about 4 ms. */
#define DEVICE_TIME_LIMIT_MS 30
#define DEVICE_TIME_MAX_TRIES 100
/* The window is 1 s and a charge lasts at most one bucket (1/64) longer. */
#define WINDOW_ROLL_US 1100000
#define MIXED_MEMORY_LIMIT (256u * 1024u)
#define MIXED_BUFFER_LIMIT 5
#define MIXED_MAX_BUFFER 65536u

static const char *saxpy_source =
    "kernel void saxpy(uint n, float a, global const float *x, global float *y) {\n"
    "    uint i = global_id(0);\n"
    "    if (i < n) y[i] = a * x[i] + y[i];\n"
    "}\n";

/* A serial loop the compiler cannot fold: runs about iters x a few cycles. */
static const char *spin_source =
    "kernel void spin(uint iters, global float *o) {\n"
    "    float acc = 0.0f;\n"
    "    for (uint j = 0; j < iters; j++) acc = acc * 0.5f + 1.0f;\n"
    "    o[global_id(0)] = acc;\n"
    "}\n";

typedef struct governed {
    kiln_context *ctx;
    kiln_device *dev;
    kiln_kernel *spin;
    uint32_t spin_iters; /* calibrated to about SPIN_TARGET_NS */
} governed;

static int make_dir(void **state)
{
    (void)state;
    unsetenv("KILN_POLICY");
    unsetenv("KILN_AUDIT_LOG");
    unsetenv("KILN_AUDIT_KEY");
    return test_temp_dir_make("kiln-sched");
}

/* Runs one spin launch of iters on q and returns its device time. */
static uint64_t spin_once(governed *g, kiln_queue *q, kiln_buffer *o, uint32_t iters)
{
    kiln_range r = { .dims = 1, .global = { 1 } };
    kiln_arg args[] = { KILN_ARG_U32(iters), KILN_ARG_BUFFER(o) };
    kiln_event *ev = NULL;
    assert_int_equal(kiln_launch(q, g->spin, &r, args, 2, &ev), KILN_OK);
    uint64_t ns = 0;
    assert_int_equal(kiln_event_elapsed_ns(ev, ev, &ns), KILN_OK);
    kiln_event_release(ev);
    return ns;
}

/* A governed CPU context under a policy that allows everything on the CPU
 * (high priority included) and sets quotas_yaml for the local user. */
static void open_governed(governed *g, const char *quotas_yaml)
{
    char path[TEST_TEMP_DIR_MAX + 16], text[2048];
    snprintf(path, sizeof path, "%s/policy.yaml", test_temp_dir);
    snprintf(text, sizeof text,
             "version: 1\n"
             "rules:\n"
             "  - name: cpu-for-all\n"
             "    effect: allow\n"
             "    principals: [\"*\"]\n"
             "    devices: [\"backend:cpu\"]\n"
             "    actions: [device.use, program.build, buffer.alloc, buffer.copy, kernel.launch,"
             " queue.priority]\n"
             "  - name: sessions\n"
             "    effect: allow\n"
             "    principals: [\"*\"]\n"
             "    devices: [\"*\"]\n"
             "    actions: [session.open]\n"
             "%s%s%s",
             quotas_yaml ? "quotas:\n  - principal: \"" : "",
             quotas_yaml ? governance_local_user_name() : "", quotas_yaml ? quotas_yaml : "");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    kiln_context_options o = { .size = sizeof o, .backends = KILN_BACKEND_BIT(KILN_BACKEND_CPU),
                               .policy = path };
    assert_int_equal(kiln_context_create(&g->ctx, &o), KILN_OK);
    assert_int_equal(kiln_device_find(g->ctx, "cpu", &g->dev), KILN_OK);
    g->spin = core_test_build_kernel(g->dev, spin_source, "spin");
    kiln_queue *q = NULL;
    kiln_buffer *o1 = NULL;
    assert_int_equal(kiln_queue_create(g->dev, KILN_PRIORITY_NORMAL, &q), KILN_OK);
    assert_int_equal(kiln_buffer_create(g->dev, sizeof(float), 0, &o1), KILN_OK);
    uint64_t ns = spin_once(g, q, o1, SPIN_CALIBRATION_ITERS);
    if (ns == 0)
        ns = 1;
    double iters = (double)SPIN_CALIBRATION_ITERS * (double)SPIN_TARGET_NS / (double)ns;
    g->spin_iters = iters > UINT32_MAX ? UINT32_MAX : iters < 1 ? 1 : (uint32_t)iters;
    kiln_buffer_release(o1);
    kiln_queue_destroy(q);
}

static void close_governed(governed *g)
{
    kiln_kernel_release(g->spin);
    kiln_context_destroy(g->ctx);
}

static void launch_spin(governed *g, kiln_queue *q, kiln_buffer *o, kiln_event **ev)
{
    kiln_range r = { .dims = 1, .global = { 1 } };
    kiln_arg args[] = { KILN_ARG_U32(g->spin_iters), KILN_ARG_BUFFER(o) };
    assert_int_equal(kiln_launch(q, g->spin, &r, args, 2, ev), KILN_OK);
}

static quota_usage usage_of(governed *g)
{
    quota_usage u;
    assert_int_equal(quota_usage_get(g->ctx->gov->quotas, QUOTA_SUBJECT_PRINCIPAL,
                                     governance_local_user_name(), &u),
                     KILN_OK);
    return u;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The launch's arguments are the caller's until kiln_launch returns: a
 * launch queued behind a long one must run with the values it was given,
 * though the caller's array was overwritten meanwhile. */
static void governed_launches_give_correct_results_through_the_scheduler(void **state)
{
    (void)state;
    enum { N = 4096 };
    governed g;
    open_governed(&g, NULL);
    kiln_queue *q = NULL;
    assert_int_equal(kiln_queue_create(g.dev, KILN_PRIORITY_NORMAL, &q), KILN_OK);
    assert_non_null(q->scheduled);
    kiln_kernel *saxpy = core_test_build_kernel(g.dev, saxpy_source, "saxpy");
    kiln_buffer *x = NULL, *y = NULL, *o = NULL;
    assert_int_equal(kiln_buffer_create(g.dev, N * sizeof(float), 0, &x), KILN_OK);
    assert_int_equal(kiln_buffer_create(g.dev, N * sizeof(float), 0, &y), KILN_OK);
    assert_int_equal(kiln_buffer_create(g.dev, sizeof(float), 0, &o), KILN_OK);
    static float hx[N], hy[N], out[N];
    for (int i = 0; i < N; i++) {
        hx[i] = (float)randombytes_uniform(1000) / 7.0f;
        hy[i] = (float)randombytes_uniform(1000) / 3.0f;
    }
    float a = (float)(randombytes_uniform(100) + 1) / 8.0f;
    assert_int_equal(kiln_buffer_write(q, x, 0, hx, sizeof hx), KILN_OK);
    assert_int_equal(kiln_buffer_write(q, y, 0, hy, sizeof hy), KILN_OK);
    launch_spin(&g, q, o, NULL);
    kiln_range r = { .dims = 1, .global = { N } };
    kiln_arg args[] = { KILN_ARG_U32(N), KILN_ARG_F32(a), KILN_ARG_BUFFER(x), KILN_ARG_BUFFER(y) };
    assert_int_equal(kiln_launch(q, saxpy, &r, args, 4, NULL), KILN_OK);
    args[0] = KILN_ARG_U32(1);
    args[1] = KILN_ARG_F32(-1000.0f);
    /* The read drains the queue: it sees the launches before it. */
    assert_int_equal(kiln_buffer_read(q, y, 0, out, sizeof out), KILN_OK);
    for (int i = 0; i < N; i++)
        assert_float_equal(out[i], a * hx[i] + hy[i], 1e-3f);
    assert_int_equal(kiln_queue_finish(q), KILN_OK);
    kiln_buffer_release(x);
    kiln_buffer_release(y);
    kiln_buffer_release(o);
    kiln_kernel_release(saxpy);
    kiln_queue_destroy(q);
    close_governed(&g);
}

static void ungoverned_queues_launch_directly(void **state)
{
    (void)state;
    kiln_context *ctx = NULL;
    kiln_device *dev = NULL;
    kiln_queue *q = NULL;
    kiln_context_options o = { .size = sizeof o,
                               .backends = KILN_BACKEND_BIT(KILN_BACKEND_CPU) };
    assert_int_equal(kiln_context_create(&ctx, &o), KILN_OK);
    assert_int_equal(kiln_device_find(ctx, "cpu", &dev), KILN_OK);
    assert_int_equal(kiln_queue_create(dev, KILN_PRIORITY_HIGH, &q), KILN_OK);
    assert_null(q->scheduled);
    assert_null(atomic_load(&dev->sched));
    kiln_queue_destroy(q);
    kiln_context_destroy(ctx);
}

static void buffer_release_waits_for_a_pending_launch(void **state)
{
    (void)state;
    governed g;
    open_governed(&g, NULL);
    kiln_queue *q = NULL;
    assert_int_equal(kiln_queue_create(g.dev, KILN_PRIORITY_NORMAL, &q), KILN_OK);
    kiln_buffer *first = NULL, *second = NULL;
    assert_int_equal(kiln_buffer_create(g.dev, sizeof(float), 0, &first), KILN_OK);
    assert_int_equal(kiln_buffer_create(g.dev, sizeof(float), 0, &second), KILN_OK);
    launch_spin(&g, q, first, NULL);
    launch_spin(&g, q, second, NULL);
    assert_true(atomic_load(&second->pending_launches) == 1);
    /* second's launch is still queued behind first's: release must wait
     * for it (a freed buffer under it would be a use after free, which
     * the sanitizer build reports). */
    kiln_buffer_release(second);
    sched_principal_stats st;
    assert_int_equal(sched_principal_stats_get(atomic_load(&g.dev->sched)->engine,
                                               governance_local_user_name(), &st),
                     KILN_OK);
    assert_true(st.completed_ops >= 3); /* calibration, first, second */
    kiln_buffer_release(first);
    assert_int_equal(kiln_queue_finish(q), KILN_OK);
    kiln_queue_destroy(q);
    close_governed(&g);
}

static void events_of_scheduled_launches_wait_and_time(void **state)
{
    (void)state;
    governed g;
    open_governed(&g, NULL);
    kiln_queue *q = NULL;
    kiln_buffer *o = NULL;
    assert_int_equal(kiln_queue_create(g.dev, KILN_PRIORITY_NORMAL, &q), KILN_OK);
    assert_int_equal(kiln_buffer_create(g.dev, sizeof(float), 0, &o), KILN_OK);
    kiln_event *a = NULL, *b = NULL, *dropped = NULL;
    launch_spin(&g, q, o, &a);
    launch_spin(&g, q, o, &dropped);
    launch_spin(&g, q, o, &b);
    assert_non_null(a);
    assert_non_null(a->launch);
    /* Released before it ran: the launch still runs and frees its record. */
    kiln_event_release(dropped);
    assert_int_equal(kiln_event_wait(b), KILN_OK);
    assert_int_equal(atomic_load(&o->pending_launches), 0);
    uint64_t one = 0, all = 0;
    assert_int_equal(kiln_event_elapsed_ns(a, a, &one), KILN_OK);
    assert_int_equal(kiln_event_elapsed_ns(a, b, &all), KILN_OK);
    assert_true(one > SPIN_TARGET_NS / 4);
    assert_true(all >= 3 * one / 2); /* three launches from a's begin to b's end */
    /* A marker after the launches comes after them. */
    kiln_event *mark = NULL;
    uint64_t to_mark = 0;
    assert_int_equal(kiln_queue_marker(q, &mark), KILN_OK);
    assert_int_equal(kiln_event_elapsed_ns(a, mark, &to_mark), KILN_OK);
    assert_true(to_mark >= all);
    kiln_event_release(mark);
    kiln_event_release(a);
    kiln_event_release(b);
    kiln_buffer_release(o);
    kiln_queue_destroy(q);
    close_governed(&g);
}

/* Each low launch waits in a queue of its own, so every low head is older
 * than the urgent one: only its class can put it first. */
static void high_priority_launch_overtakes_queued_low_priority_work(void **state)
{
    (void)state;
    governed g;
    open_governed(&g, NULL);
    kiln_queue *lows[OVERTAKE_LOW_LAUNCHES], *high = NULL;
    kiln_event *low_events[OVERTAKE_LOW_LAUNCHES], *urgent = NULL;
    kiln_buffer *o = NULL, *ho = NULL;
    assert_int_equal(kiln_buffer_create(g.dev, sizeof(float), 0, &o), KILN_OK);
    assert_int_equal(kiln_buffer_create(g.dev, sizeof(float), 0, &ho), KILN_OK);
    assert_int_equal(kiln_queue_create(g.dev, KILN_PRIORITY_HIGH, &high), KILN_OK);
    for (int i = 0; i < OVERTAKE_LOW_LAUNCHES; i++)
        assert_int_equal(kiln_queue_create(g.dev, KILN_PRIORITY_LOW, &lows[i]), KILN_OK);
    for (int i = 0; i < OVERTAKE_LOW_LAUNCHES; i++)
        launch_spin(&g, lows[i], o, &low_events[i]);
    launch_spin(&g, high, ho, &urgent);
    assert_int_equal(kiln_event_wait(urgent), KILN_OK);
    /* Low launches that ended after the urgent one began: all but those
     * already on the device (depth 2) when it arrived. */
    int behind = 0;
    for (int i = 0; i < OVERTAKE_LOW_LAUNCHES; i++) {
        uint64_t ns = 0;
        assert_int_equal(kiln_queue_finish(lows[i]), KILN_OK);
        if (kiln_event_elapsed_ns(urgent, low_events[i], &ns) == KILN_OK && ns > 0)
            behind++;
        kiln_event_release(low_events[i]);
        kiln_queue_destroy(lows[i]);
    }
    assert_true(behind >= OVERTAKE_LOW_LAUNCHES - 2);
    kiln_event_release(urgent);
    kiln_buffer_release(o);
    kiln_buffer_release(ho);
    kiln_queue_destroy(high);
    close_governed(&g);
}

/* Watches the local user's quota usage while the workers run. */
typedef struct quota_watch {
    governed *g;
    atomic_bool stop;
    uint64_t max_launches, max_bytes, max_buffers, samples;
} quota_watch;

static void *watch_main(void *arg)
{
    quota_watch *w = arg;
    while (!atomic_load(&w->stop)) {
        quota_usage u;
        if (quota_usage_get(w->g->ctx->gov->quotas, QUOTA_SUBJECT_PRINCIPAL,
                            governance_local_user_name(), &u) != KILN_OK)
            continue;
        w->samples++;
        if (u.concurrent_launches > w->max_launches)
            w->max_launches = u.concurrent_launches;
        if (u.device_memory_bytes > w->max_bytes)
            w->max_bytes = u.device_memory_bytes;
        if (u.live_buffers > w->max_buffers)
            w->max_buffers = u.live_buffers;
    }
    return NULL;
}

typedef struct quota_worker {
    governed *g;
    bool allocate; /* a fresh buffer per launch, else one for all */
    uint32_t launched, refused, failed;
} quota_worker;

/* Each launch fills its own word with the spin loop's value; a refused
 * allocation or launch is retried until admitted. */
static void *worker_main(void *arg)
{
    quota_worker *w = arg;
    kiln_queue *q = NULL;
    kiln_buffer *shared = NULL;
    if (kiln_queue_create(w->g->dev, KILN_PRIORITY_NORMAL, &q) != KILN_OK ||
        (!w->allocate && kiln_buffer_create(w->g->dev, sizeof(float), 0, &shared) != KILN_OK)) {
        w->failed++;
        kiln_queue_destroy(q);
        return NULL;
    }
    kiln_range r = { .dims = 1, .global = { 1 } };
    while (w->launched < QUOTA_LAUNCHES_PER_THREAD) {
        kiln_buffer *o = shared;
        kiln_status st = KILN_OK;
        if (w->allocate) {
            size_t bytes = sizeof(float) + randombytes_uniform(MIXED_MAX_BUFFER);
            while ((st = kiln_buffer_create(w->g->dev, bytes, 0, &o)) == KILN_ERR_QUOTA) {
                w->refused++;
                sched_yield();
            }
        }
        if (st != KILN_OK) {
            w->failed++;
            break;
        }
        kiln_arg args[] = { KILN_ARG_U32(w->g->spin_iters / 8 + 1), KILN_ARG_BUFFER(o) };
        while ((st = kiln_launch(q, w->g->spin, &r, args, 2, NULL)) == KILN_ERR_QUOTA) {
            w->refused++;
            sched_yield();
        }
        if (st == KILN_OK)
            w->launched++;
        else
            w->failed++;
        if (w->allocate)
            kiln_buffer_release(o); /* waits for the launch */
        if (st != KILN_OK)
            break;
    }
    if (kiln_queue_finish(q) != KILN_OK)
        w->failed++;
    kiln_buffer_release(shared);
    kiln_queue_destroy(q);
    return NULL;
}

/* Runs QUOTA_THREADS workers under a watcher and checks the limits held. */
static void run_quota_workers(governed *g, bool allocate, quota_watch *w)
{
    pthread_t watcher, threads[QUOTA_THREADS];
    quota_worker workers[QUOTA_THREADS];
    w->g = g;
    atomic_init(&w->stop, false);
    assert_int_equal(pthread_create(&watcher, NULL, watch_main, w), 0);
    for (int i = 0; i < QUOTA_THREADS; i++) {
        workers[i] = (quota_worker){ .g = g, .allocate = allocate };
        assert_int_equal(pthread_create(&threads[i], NULL, worker_main, &workers[i]), 0);
    }
    uint32_t refused = 0;
    for (int i = 0; i < QUOTA_THREADS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(workers[i].failed, 0);
        assert_int_equal(workers[i].launched, QUOTA_LAUNCHES_PER_THREAD);
        refused += workers[i].refused;
    }
    atomic_store(&w->stop, true);
    pthread_join(watcher, NULL);
    assert_true(w->samples > 0);
    assert_true(refused > 0); /* the limits were reached, so they were tested */
    quota_usage u = usage_of(g);
    assert_int_equal(u.concurrent_launches, 0);
    assert_int_equal(u.device_memory_bytes, 0);
    assert_int_equal(u.live_buffers, 0);
}

static void concurrent_launches_never_exceed_the_quota(void **state)
{
    (void)state;
    governed g;
    char quotas[128];
    snprintf(quotas, sizeof quotas, "\"\n    concurrent_launches: %d\n", QUOTA_CONCURRENT_LIMIT);
    open_governed(&g, quotas);
    quota_watch w = { 0 };
    run_quota_workers(&g, false, &w);
    assert_true(w.max_launches <= QUOTA_CONCURRENT_LIMIT);
    assert_true(w.max_launches >= 1);
    close_governed(&g);
}

/* The test: many threads allocate and launch at once under memory,
 * buffer and launch quotas; no counter ever passes its limit, by a single
 * byte, and all are zero at the end. */
static void allocating_and_launching_threads_never_exceed_their_quotas(void **state)
{
    (void)state;
    governed g;
    char quotas[256];
    snprintf(quotas, sizeof quotas,
             "\"\n    concurrent_launches: %d\n    device_memory_bytes: %u\n"
             "    live_buffers: %d\n",
             QUOTA_CONCURRENT_LIMIT, MIXED_MEMORY_LIMIT, MIXED_BUFFER_LIMIT);
    open_governed(&g, quotas);
    quota_watch w = { 0 };
    run_quota_workers(&g, true, &w);
    assert_true(w.max_launches <= QUOTA_CONCURRENT_LIMIT);
    assert_true(w.max_bytes <= MIXED_MEMORY_LIMIT);
    assert_true(w.max_buffers <= MIXED_BUFFER_LIMIT);
    close_governed(&g);
}

static void device_time_quota_refuses_until_the_window_rolls(void **state)
{
    (void)state;
    governed g;
    char quotas[128];
    snprintf(quotas, sizeof quotas, "\"\n    device_time: { ms: %d, per_s: 1 }\n",
             DEVICE_TIME_LIMIT_MS);
    open_governed(&g, quotas);
    kiln_queue *q = NULL;
    kiln_buffer *o = NULL;
    assert_int_equal(kiln_queue_create(g.dev, KILN_PRIORITY_NORMAL, &q), KILN_OK);
    assert_int_equal(kiln_buffer_create(g.dev, sizeof(float), 0, &o), KILN_OK);
    kiln_range r = { .dims = 1, .global = { 1 } };
    kiln_arg args[] = { KILN_ARG_U32(g.spin_iters), KILN_ARG_BUFFER(o) };
    kiln_status st = KILN_OK;
    int admitted = 0;
    uint64_t began = now_ns();
    for (int i = 0; i < DEVICE_TIME_MAX_TRIES && st == KILN_OK; i++) {
        if ((st = kiln_launch(q, g.spin, &r, args, 2, NULL)) == KILN_OK) {
            admitted++;
            assert_int_equal(kiln_queue_finish(q), KILN_OK);
        }
    }
    assert_int_equal(st, KILN_ERR_QUOTA);
    assert_non_null(strstr(kiln_last_error(), "device_time_ns"));
    /* Refused only once the window's measured time reached the limit. */
    assert_true(usage_of(&g).device_time_ns >= DEVICE_TIME_LIMIT_MS * NS_PER_MS);
    assert_true(admitted >= 2);
    /* Still inside the window: still refused. */
    if (now_ns() - began < NS_PER_MS * 500)
        assert_int_equal(kiln_launch(q, g.spin, &r, args, 2, NULL), KILN_ERR_QUOTA);
    usleep(WINDOW_ROLL_US);
    assert_int_equal(kiln_launch(q, g.spin, &r, args, 2, NULL), KILN_OK);
    assert_int_equal(kiln_queue_finish(q), KILN_OK);
    kiln_buffer_release(o);
    kiln_queue_destroy(q);
    close_governed(&g);
}

/* Each session's principal is a principal of the device's scheduler and of
 * the quotas: its launches are charged to it, not to the local user. */
static void sessions_launch_as_their_own_principals(void **state)
{
    (void)state;
    enum { PRINCIPALS = 2, LAUNCHES = 3 };
    governed g;
    open_governed(&g, "\"\n    concurrent_launches: 8\n"
                      "  - principal: \"sched-p1\"\n    concurrent_launches: 8\n");
    kiln_session *s[PRINCIPALS];
    kiln_device *view[PRINCIPALS];
    kiln_queue *q[PRINCIPALS];
    kiln_buffer *o[PRINCIPALS];
    kiln_kernel *k[PRINCIPALS];
    for (int i = 0; i < PRINCIPALS; i++) {
        char name[16];
        snprintf(name, sizeof name, "sched-p%d", i + 1);
        kiln_session_options so = { .size = sizeof so, .principal = name };
        assert_int_equal(kiln_session_open(g.ctx, &so, &s[i]), KILN_OK);
        assert_int_equal(kiln_session_device(s[i], g.dev->index, &view[i]), KILN_OK);
        k[i] = core_test_build_kernel(view[i], spin_source, "spin");
        assert_int_equal(kiln_queue_create(view[i], KILN_PRIORITY_NORMAL, &q[i]), KILN_OK);
        assert_int_equal(kiln_buffer_create(view[i], sizeof(float), 0, &o[i]), KILN_OK);
    }
    uint64_t user_before = usage_of(&g).device_time_ns; /* the calibration's */
    kiln_range r = { .dims = 1, .global = { 1 } };
    for (int n = 0; n < LAUNCHES; n++)
        for (int i = 0; i < PRINCIPALS; i++) {
            kiln_arg args[] = { KILN_ARG_U32(g.spin_iters / 4 + 1), KILN_ARG_BUFFER(o[i]) };
            assert_int_equal(kiln_launch(q[i], k[i], &r, args, 2, NULL), KILN_OK);
        }
    core_sched_device *sd = atomic_load(&g.dev->sched);
    for (int i = 0; i < PRINCIPALS; i++) {
        assert_int_equal(kiln_queue_finish(q[i]), KILN_OK);
        sched_principal_stats st;
        char name[16];
        snprintf(name, sizeof name, "sched-p%d", i + 1);
        assert_int_equal(sched_principal_stats_get(sd->engine, name, &st), KILN_OK);
        assert_int_equal(st.completed_ops, LAUNCHES);
        assert_true(st.charged_ns > 0);
    }
    quota_usage u;
    assert_int_equal(quota_usage_get(g.ctx->gov->quotas, QUOTA_SUBJECT_PRINCIPAL, "sched-p1", &u),
                     KILN_OK);
    assert_int_equal(u.concurrent_launches, 0);
    assert_true(u.device_time_ns > 0); /* charged to the session's principal */
    assert_int_equal(usage_of(&g).device_time_ns, user_before);
    for (int i = 0; i < PRINCIPALS; i++) {
        kiln_buffer_release(o[i]);
        kiln_queue_destroy(q[i]);
        kiln_kernel_release(k[i]);
        assert_int_equal(kiln_session_close(s[i]), KILN_OK);
    }
    close_governed(&g);
}

/* A scheduled launch the device faults: its event reports the fault, so
 * does a marker after it (the queue's first error) and the elapsed time
 * between it and a good launch, either way round. A policy without
 * queue.priority refuses a high-priority queue. */
static void a_failed_scheduled_launch_fails_its_event_marker_and_timing(void **state)
{
    (void)state;
    char path[TEST_TEMP_DIR_MAX + 16];
    snprintf(path, sizeof path, "%s/policy.yaml", test_temp_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("version: 1\n"
          "rules:\n"
          "  - name: fault-device\n"
          "    effect: allow\n"
          "    principals: [\"*\"]\n"
          "    devices: [\"backend:fault\"]\n"
          "    actions: [device.use, program.build, buffer.alloc, buffer.copy, kernel.launch]\n",
          f);
    fclose(f);
    fault_plan none;
    assert_int_equal(fault_plan_parse("none", &none), KILN_OK);
    fault_plan_set(&none);
    kiln_context_options o = { .size = sizeof o, .backends = KILN_BACKEND_BIT(KILN_BACKEND_FAULT),
                               .policy = path };
    kiln_context *ctx = NULL;
    kiln_device *dev = NULL;
    kiln_queue *q = NULL, *high = NULL;
    kiln_buffer *out = NULL;
    assert_int_equal(kiln_context_create(&ctx, &o), KILN_OK);
    assert_int_equal(kiln_device_find(ctx, "fault:0", &dev), KILN_OK);
    assert_int_equal(kiln_queue_create(dev, KILN_PRIORITY_HIGH, &high), KILN_ERR_DENIED);
    assert_null(high);
    kiln_kernel *spin = core_test_build_kernel(dev, spin_source, "spin");
    assert_int_equal(kiln_queue_create(dev, KILN_PRIORITY_NORMAL, &q), KILN_OK);
    assert_int_equal(kiln_buffer_create(dev, sizeof(float), 0, &out), KILN_OK);
    fault_plan second;
    assert_int_equal(fault_plan_parse("calls=execution.launch;count=2;status=device_fault",
                                      &second),
                     KILN_OK);
    fault_plan_set(&second);
    kiln_range r = { .dims = 1, .global = { 1 } };
    kiln_arg args[] = { KILN_ARG_U32(1), KILN_ARG_BUFFER(out) };
    kiln_event *good = NULL, *bad = NULL, *marker = NULL;
    assert_int_equal(kiln_launch(q, spin, &r, args, 2, &good), KILN_OK);
    assert_int_equal(kiln_launch(q, spin, &r, args, 2, &bad), KILN_OK); /* queued */
    assert_int_equal(kiln_queue_marker(q, &marker), KILN_ERR_DEVICE_FAULT);
    assert_null(marker);
    assert_int_equal(kiln_event_wait(good), KILN_OK);
    assert_int_equal(kiln_event_wait(bad), KILN_ERR_DEVICE_FAULT);
    assert_non_null(strstr(kiln_last_error(), "the launch failed"));
    uint64_t ns = 0;
    assert_int_equal(kiln_event_elapsed_ns(bad, good, &ns), KILN_ERR_DEVICE_FAULT);
    assert_int_equal(kiln_event_elapsed_ns(good, bad, &ns), KILN_ERR_DEVICE_FAULT);
    kiln_event_info info = { .size = sizeof info - 1 };
    assert_int_equal(kiln_event_get_info(good, &info), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(kiln_last_error(), "kiln_event_info.size"));
    fault_plan_clear();
    kiln_event_release(good);
    kiln_event_release(bad);
    kiln_buffer_release(out);
    kiln_queue_destroy(q);
    kiln_kernel_release(spin);
    kiln_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(governed_launches_give_correct_results_through_the_scheduler),
        cmocka_unit_test(ungoverned_queues_launch_directly),
        cmocka_unit_test(buffer_release_waits_for_a_pending_launch),
        cmocka_unit_test(events_of_scheduled_launches_wait_and_time),
        cmocka_unit_test(high_priority_launch_overtakes_queued_low_priority_work),
        cmocka_unit_test(concurrent_launches_never_exceed_the_quota),
        cmocka_unit_test(allocating_and_launching_threads_never_exceed_their_quotas),
        cmocka_unit_test(device_time_quota_refuses_until_the_window_rolls),
        cmocka_unit_test(sessions_launch_as_their_own_principals),
        cmocka_unit_test(a_failed_scheduled_launch_fails_its_event_marker_and_timing),
    };
    return cmocka_run_group_tests(tests, make_dir, test_temp_dir_remove);
}
