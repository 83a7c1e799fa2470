/* The scheduler's ordering and lifecycle against a simulated device: class
 * order, per-queue FIFO order, the first error of a drain, cancellation on
 * destroy, closing, and the argument checks. Fairness and aging are in
 * test-govern-sched-fair.c. Run under ThreadSanitizer by `make tsan`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "govern/sched_impl.h"
#include "test-govern-sched-sim.h"
#include "util/fail.h"

#define US 1000ull
#define MS 1000000ull
/* An aging step no test of ordering lives to see. */
#define NO_AGING_NS (10ull * 1000 * MS)

static unsigned base_seed;

static void wait_started(sim_device *d, uint32_t n)
{
    const struct timespec pause = {0, 100 * 1000};
    while (sim_started(d) < n)
        nanosleep(&pause, NULL);
}

/* While the high class has work (for much less than an aging step), no
 * normal operation starts, and no low one while normal work waits. */
static void class_order_is_strict_before_aging(void **state)
{
    (void)state;
    unsigned seed = base_seed;
    sim_device dev = {0};
    sim_start_device(&dev);
    sim_set_gate(&dev, true);
    sched_config cfg = {.depth = 2, .quantum_ns = 100 * US, .aging_ns = NO_AGING_NS};
    sched *s = NULL;
    assert_int_equal(sched_create(&cfg, &s), KILN_OK);

    enum { BLOCKERS = 2, PER_CLASS = 20, QUEUES = 4 };
    const kiln_priority cls[QUEUES] = {KILN_PRIORITY_NORMAL, KILN_PRIORITY_LOW,
                                       KILN_PRIORITY_NORMAL, KILN_PRIORITY_HIGH};
    const char *who[QUEUES] = {"blocker", "low", "normal", "high"};
    sched_queue *q[QUEUES];
    for (int i = 0; i < QUEUES; i++)
        assert_int_equal(sched_queue_open(s, cls[i], who[i], 1, &q[i]), KILN_OK);

    static sim_op blockers[BLOCKERS], ops[3][PER_CLASS];
    for (int i = 0; i < BLOCKERS; i++) {
        sim_op_init(&blockers[i], &dev, 0, 0, (uint64_t)i, 50 * US);
        assert_int_equal(sched_submit(q[0], &blockers[i].op), KILN_OK);
    }
    /* Both slots are taken and the device does not run: what follows waits. */
    wait_started(&dev, BLOCKERS);
    uint32_t next[3] = {0, 0, 0};
    for (int n = 0; n < 3 * PER_CLASS; n++) {
        int k;
        do
            k = (int)sim_rand_between(&seed, 0, 2);
        while (next[k] == PER_CLASS);
        sim_op *op = &ops[k][next[k]];
        sim_op_init(op, &dev, (uint32_t)k + 1, (uint32_t)k + 1, next[k],
                    sim_rand_between(&seed, 5, 60) * US);
        next[k]++;
        assert_int_equal(sched_submit(q[k + 1], &op->op), KILN_OK);
    }
    sim_set_gate(&dev, false);
    for (int i = 0; i < QUEUES; i++)
        assert_int_equal(sched_queue_drain(q[i]), KILN_OK);

    for (int i = 0; i < QUEUES; i++)
        sched_queue_close(q[i]);
    sched_destroy(s);
    sim_stop_device(&dev);

    /* Start order after the blockers: queue 3 (high), then 2, then 1. */
    assert_int_equal(dev.started, BLOCKERS + 3 * PER_CLASS);
    for (uint32_t i = 0; i < 3 * PER_CLASS; i++) {
        uint32_t expected = 3 - i / PER_CLASS;
        if (dev.start_queue[BLOCKERS + i] != expected)
            fail_msg("start %u came from queue %u, expected %u (seed %u)", i,
                     dev.start_queue[BLOCKERS + i], expected, base_seed);
    }
}

typedef struct order_check {
    pthread_mutex_t lock;
    uint64_t next_done[8];
    int violations;
} order_check;

static void record_done_order(sim_op *op)
{
    order_check *c = op->test;
    pthread_mutex_lock(&c->lock);
    if (op->seq != c->next_done[op->queue])
        c->violations++;
    c->next_done[op->queue] = op->seq + 1;
    pthread_mutex_unlock(&c->lock);
}

/* Operations of one queue start and complete in submission order, whatever
 * the classes, principals and depth around them. */
static void queue_order_is_fifo(void **state)
{
    (void)state;
    unsigned seed = base_seed + 1;
    enum { QUEUES = 6, OPS = 300 };
    sim_device dev = {0};
    sim_start_device(&dev);
    sched_config cfg = {.depth = (uint32_t)sim_rand_between(&seed, 1, 4),
                        .quantum_ns = sim_rand_between(&seed, 10, 200) * US,
                        .aging_ns = sim_rand_between(&seed, 1, 5) * MS};
    sched *s = NULL;
    assert_int_equal(sched_create(&cfg, &s), KILN_OK);
    const char *who[3] = {"ann", "bob", "cy"};
    sched_queue *q[QUEUES];
    for (int i = 0; i < QUEUES; i++) {
        kiln_priority cls = (kiln_priority)((int)sim_rand_between(&seed, 0, 2) - 1);
        assert_int_equal(sched_queue_open(s, cls, who[i % 3], 1, &q[i]), KILN_OK);
    }
    order_check check = {.violations = 0};
    pthread_mutex_init(&check.lock, NULL);
    static sim_op ops[OPS];
    uint64_t seq[QUEUES] = {0};
    for (int n = 0; n < OPS; n++) {
        uint32_t k = (uint32_t)sim_rand_between(&seed, 0, QUEUES - 1);
        sim_op_init(&ops[n], &dev, k % 3, k, seq[k]++, sim_rand_between(&seed, 1, 40) * US);
        ops[n].on_done = record_done_order;
        ops[n].test = &check;
        assert_int_equal(sched_submit(q[k], &ops[n].op), KILN_OK);
    }
    kiln_status drained = KILN_OK;
    for (int i = 0; i < QUEUES; i++) {
        if (drained == KILN_OK)
            drained = sched_queue_drain(q[i]);
        sched_queue_close(q[i]);
    }
    sched_destroy(s);
    pthread_mutex_destroy(&check.lock);
    sim_stop_device(&dev);

    assert_int_equal(drained, KILN_OK);
    assert_int_equal(check.violations, 0);
    assert_int_equal(dev.started, OPS);
    uint64_t next[QUEUES] = {0};
    for (uint32_t i = 0; i < dev.started; i++) {
        uint32_t k = dev.start_queue[i];
        assert_int_equal(dev.start_seq[i], next[k]);
        next[k]++;
    }
    for (int n = 0; n < OPS; n++) {
        assert_int_equal(atomic_load(&ops[n].done_calls), 1);
        assert_int_equal(ops[n].final_status, KILN_OK);
        assert_true(ops[n].op.start_ns >= ops[n].op.submit_ns);
        uint64_t measured = ops[n].exec_end - ops[n].exec_begin;
        assert_int_equal(ops[n].op.device_ns,
                         measured >= SCHED_MIN_CHARGE_NS ? measured : SCHED_MIN_CHARGE_NS);
    }
}

/* A failing start and a failing wait: drain reports the one earlier in the
 * queue, every operation still completes once, and the error is cleared. */
static void drain_returns_first_error_in_queue_order(void **state)
{
    (void)state;
    unsigned seed = base_seed + 2;
    enum { OPS = 24 };
    sim_device dev = {0};
    sim_start_device(&dev);
    sched *s = NULL;
    assert_int_equal(sched_create(NULL, &s), KILN_OK);
    sched_queue *q = NULL;
    assert_int_equal(sched_queue_open(s, KILN_PRIORITY_NORMAL, "erin", 0, &q), KILN_OK);

    for (int round = 0; round < 4; round++) {
        uint32_t start_fail = (uint32_t)sim_rand_between(&seed, 0, OPS - 1);
        uint32_t wait_fail;
        do
            wait_fail = (uint32_t)sim_rand_between(&seed, 0, OPS - 1);
        while (wait_fail == start_fail);
        static sim_op ops[OPS];
        for (uint32_t n = 0; n < OPS; n++) {
            sim_op_init(&ops[n], &dev, 0, 0, n, sim_rand_between(&seed, 1, 20) * US);
            if (n == start_fail)
                ops[n].start_status = KILN_ERR_DEVICE;
            if (n == wait_fail)
                ops[n].wait_status = KILN_ERR_DEVICE_FAULT;
            assert_int_equal(sched_submit(q, &ops[n].op), KILN_OK);
        }
        kiln_status expected = start_fail < wait_fail ? KILN_ERR_DEVICE : KILN_ERR_DEVICE_FAULT;
        assert_int_equal(sched_queue_drain(q), expected);
        assert_non_null(strstr(util_last_error(), kiln_status_name(expected)));
        for (uint32_t n = 0; n < OPS; n++) {
            assert_int_equal(atomic_load(&ops[n].done_calls), 1);
            kiln_status want = n == start_fail ? KILN_ERR_DEVICE
                             : n == wait_fail  ? KILN_ERR_DEVICE_FAULT
                                               : KILN_OK;
            assert_int_equal(ops[n].final_status, want);
        }
        /* A failed start never reached the device and is charged nothing. */
        assert_int_equal(ops[start_fail].op.device_ns, 0);
        assert_int_equal(sched_queue_drain(q), KILN_OK);
    }
    sched_principal_stats st;
    assert_int_equal(sched_principal_stats_get(s, "erin", &st), KILN_OK);
    assert_int_equal(st.completed_ops, 4 * OPS);
    sched_queue_close(q);
    sched_destroy(s);
    sim_stop_device(&dev);
}

/* Destroy with work queued: operations already on the device finish with
 * their own status, every other one is cancelled, each done() runs once,
 * and the cancelled ones of a queue are its last ones. */
static void destroy_cancels_waiting_ops_once(void **state)
{
    (void)state;
    unsigned seed = base_seed + 3;
    enum { QUEUES = 3, PER_QUEUE = 200 };
    sim_device dev = {0};
    sim_start_device(&dev);
    sched_config cfg = {.depth = (uint32_t)sim_rand_between(&seed, 1, 3)};
    sched *s = NULL;
    assert_int_equal(sched_create(&cfg, &s), KILN_OK);
    sched_queue *q[QUEUES];
    static sim_op ops[QUEUES][PER_QUEUE];
    for (int i = 0; i < QUEUES; i++) {
        char name[16];
        snprintf(name, sizeof(name), "p%d", i);
        assert_int_equal(sched_queue_open(s, (kiln_priority)(i - 1), name, 1, &q[i]), KILN_OK);
        for (uint32_t n = 0; n < PER_QUEUE; n++) {
            sim_op_init(&ops[i][n], &dev, (uint32_t)i, (uint32_t)i, n,
                        sim_rand_between(&seed, 100, 300) * US);
            assert_int_equal(sched_submit(q[i], &ops[i][n].op), KILN_OK);
        }
    }
    wait_started(&dev, 3);
    sched_destroy(s);

    uint32_t cancelled = 0;
    for (int i = 0; i < QUEUES; i++) {
        bool seen_cancel = false;
        for (uint32_t n = 0; n < PER_QUEUE; n++) {
            sim_op *op = &ops[i][n];
            assert_int_equal(atomic_load(&op->done_calls), 1);
            if (op->op.cancelled) {
                assert_int_equal(op->final_status, SCHED_STATUS_CANCELLED);
                assert_int_equal(op->op.start_ns, 0);
                assert_false(op->finished);
                seen_cancel = true;
                cancelled++;
            } else {
                assert_false(seen_cancel);
                assert_int_equal(op->final_status, KILN_OK);
                assert_true(op->finished);
            }
        }
    }
    assert_true(cancelled >= QUEUES * PER_QUEUE - 50);
    assert_int_equal(dev.started, QUEUES * PER_QUEUE - cancelled);
    sim_stop_device(&dev);
}

static void resubmit_after_done(sim_op *op)
{
    sched_queue *q = op->test;
    uint64_t seq = op->seq + 1;
    if (seq >= 50)
        return;
    sim_op_init(op, op->dev, 0, 0, seq, 20 * US);
    op->on_done = resubmit_after_done;
    op->test = q;
    assert_int_equal(sched_submit(q, &op->op), KILN_OK);
}

/* Close waits for everything submitted, including what done() submitted,
 * and refuses submissions afterwards. Also: the same operation submitted
 * again from its own done(). */
static void close_waits_for_chained_work(void **state)
{
    (void)state;
    sim_device dev = {0};
    sim_start_device(&dev);
    sched *s = NULL;
    assert_int_equal(sched_create(NULL, &s), KILN_OK);
    sched_queue *q = NULL;
    assert_int_equal(sched_queue_open(s, KILN_PRIORITY_HIGH, "chain", 3, &q), KILN_OK);
    sim_op op;
    sim_op_init(&op, &dev, 0, 0, 0, 20 * US);
    op.on_done = resubmit_after_done;
    op.test = q;
    assert_int_equal(sched_submit(q, &op.op), KILN_OK);
    /* drain covers what was submitted before it; the chain may go on. */
    assert_int_equal(sched_queue_drain(q), KILN_OK);
    while (sim_started(&dev) < 50) {
        const struct timespec pause = {0, 100 * 1000};
        nanosleep(&pause, NULL);
    }
    sched_queue_close(q);
    assert_int_equal(op.seq, 49);
    assert_int_equal(atomic_load(&op.done_calls), 1);
    sched_principal_stats st;
    assert_int_equal(sched_principal_stats_get(s, "chain", &st), KILN_OK);
    assert_int_equal(st.completed_ops, 50);
    assert_int_equal(st.weight, 3);
    assert_true(st.charged_ns >= 50 * 20 * US);
    sched_destroy(s);
    sim_stop_device(&dev);
}

static uint64_t fake_now(void *ctx)
{
    return atomic_load((atomic_uint_fast64_t *)ctx);
}

/* Aging with an injected clock, so that every level is known: a low head
 * that has waited three steps goes before fresh high heads; the low
 * operation behind it became head only when its predecessor started, so it
 * waits for them. */
static void aging_lifts_an_old_head_above_fresh_high_ones(void **state)
{
    (void)state;
    unsigned seed = base_seed + 5;
    const uint64_t aging = sim_rand_between(&seed, 1, 1000) * MS;
    atomic_uint_fast64_t clock;
    atomic_init(&clock, sim_rand_between(&seed, 0, 1000) * MS);
    sim_device dev = {0};
    sim_start_device(&dev);
    sim_set_gate(&dev, true);
    sched_config cfg = {.depth = 1, .aging_ns = aging, .clock = {fake_now, &clock}};
    sched *s = NULL;
    assert_int_equal(sched_create(&cfg, &s), KILN_OK);
    enum { HIGH_OPS = 5 };
    sched_queue *blocker_q = NULL, *low_q = NULL, *high_q = NULL;
    assert_int_equal(sched_queue_open(s, KILN_PRIORITY_HIGH, "blocker", 1, &blocker_q), KILN_OK);
    assert_int_equal(sched_queue_open(s, KILN_PRIORITY_LOW, "old", 1, &low_q), KILN_OK);
    assert_int_equal(sched_queue_open(s, KILN_PRIORITY_HIGH, "new", 1, &high_q), KILN_OK);
    sim_op blocker, low[2], high[HIGH_OPS];
    sim_op_init(&blocker, &dev, 0, 0, 0, 10 * US);
    assert_int_equal(sched_submit(blocker_q, &blocker.op), KILN_OK);
    wait_started(&dev, 1);
    for (uint32_t i = 0; i < 2; i++) {
        sim_op_init(&low[i], &dev, 1, 1, i, 10 * US);
        assert_int_equal(sched_submit(low_q, &low[i].op), KILN_OK);
    }
    atomic_fetch_add(&clock, 3 * aging);
    for (uint32_t i = 0; i < HIGH_OPS; i++) {
        sim_op_init(&high[i], &dev, 2, 2, i, 10 * US);
        assert_int_equal(sched_submit(high_q, &high[i].op), KILN_OK);
    }
    sim_set_gate(&dev, false);
    kiln_status drained = sched_queue_drain(low_q);
    if (drained == KILN_OK)
        drained = sched_queue_drain(high_q);
    /* Closing the queue in the middle of the scheduler's list first. */
    sched_queue_close(low_q);
    sched_queue_close(blocker_q);
    sched_queue_close(high_q);
    sched_destroy(s);
    sim_stop_device(&dev);

    assert_int_equal(drained, KILN_OK);
    assert_int_equal(dev.started, 3 + HIGH_OPS);
    const uint32_t order[3 + HIGH_OPS] = {0, 1, 2, 2, 2, 2, 2, 1};
    for (uint32_t i = 0; i < 3 + HIGH_OPS; i++)
        assert_int_equal(dev.start_queue[i], order[i]);
    /* Queueing delays are on the injected clock. */
    assert_int_equal(low[0].op.start_ns - low[0].op.submit_ns, 3 * aging);
    assert_int_equal(high[0].op.start_ns, high[0].op.submit_ns);
}

typedef struct close_race {
    sim_op first, second;
    sched_queue *q;
    kiln_status second_status;
} close_race;

static void submit_second(sim_op *op)
{
    close_race *r = op->test;
    sim_op_init(&r->second, op->dev, 0, 0, 1, 10 * US);
    r->second_status = sched_submit(r->q, &r->second.op);
}

static void *close_queue(void *arg)
{
    sched_queue_close(arg);
    return NULL;
}

/* Once close has begun, the queue takes nothing more, not even from the
 * done() of its own last operation; close still waits for that one. */
static void closing_queue_refuses_submissions(void **state)
{
    (void)state;
    sim_device dev = {0};
    sim_start_device(&dev);
    sim_set_gate(&dev, true);
    sched *s = NULL;
    assert_int_equal(sched_create(NULL, &s), KILN_OK);
    close_race r = {.second_status = KILN_OK};
    assert_int_equal(sched_queue_open(s, KILN_PRIORITY_NORMAL, "closer", 1, &r.q), KILN_OK);
    sim_op_init(&r.first, &dev, 0, 0, 0, 10 * US);
    r.first.on_done = submit_second;
    r.first.test = &r;
    assert_int_equal(sched_submit(r.q, &r.first.op), KILN_OK);
    wait_started(&dev, 1);
    pthread_t closer;
    assert_int_equal(pthread_create(&closer, NULL, close_queue, r.q), 0);
    /* White box: wait until close has marked the queue. */
    for (bool closing = false; !closing;) {
        pthread_mutex_lock(&s->lock);
        closing = r.q->closing;
        pthread_mutex_unlock(&s->lock);
        const struct timespec pause = {0, 100 * 1000};
        nanosleep(&pause, NULL);
    }
    sim_set_gate(&dev, false);
    pthread_join(closer, NULL);
    sched_destroy(s);
    sim_stop_device(&dev);
    assert_int_equal(atomic_load(&r.first.done_calls), 1);
    assert_int_equal(r.second_status, KILN_ERR_DEVICE_LOST);
    assert_int_equal(atomic_load(&r.second.done_calls), 0);
}

static kiln_status never_start(sched_op *op)
{
    (void)op;
    return KILN_ERR_INTERNAL;
}

static void arguments_are_checked(void **state)
{
    (void)state;
    sched *s = NULL;
    sched_config bad = {.depth = SCHED_DEPTH_MAX + 1};
    assert_int_equal(sched_create(&bad, &s), KILN_ERR_INVALID_ARG);
    bad = (sched_config){.quantum_ns = SCHED_QUANTUM_MAX_NS + 1};
    assert_int_equal(sched_create(&bad, &s), KILN_ERR_INVALID_ARG);
    bad = (sched_config){.aging_ns = SCHED_AGING_MIN_NS - 1};
    assert_int_equal(sched_create(&bad, &s), KILN_ERR_INVALID_ARG);
    assert_int_equal(sched_create(NULL, NULL), KILN_ERR_NULL_HANDLE);
    assert_int_equal(sched_create(NULL, &s), KILN_OK);

    sched_queue *q = NULL;
    assert_int_equal(sched_queue_open(s, (kiln_priority)7, "x", 1, &q), KILN_ERR_INVALID_ARG);
    assert_int_equal(sched_queue_open(s, KILN_PRIORITY_LOW, "bad\nname", 1, &q),
                     KILN_ERR_INVALID_ARG);
    assert_int_equal(sched_queue_open(s, KILN_PRIORITY_LOW, "x", SCHED_WEIGHT_MAX + 1, &q),
                     KILN_ERR_INVALID_ARG);
    assert_int_equal(sched_queue_open(NULL, KILN_PRIORITY_LOW, "x", 1, &q), KILN_ERR_NULL_HANDLE);
    assert_int_equal(sched_queue_open(s, KILN_PRIORITY_LOW, "x", 2, &q), KILN_OK);
    sched_queue *q2 = NULL;
    assert_int_equal(sched_queue_open(s, KILN_PRIORITY_HIGH, "x", 3, &q2), KILN_ERR_INVALID_ARG);
    assert_non_null(strstr(util_last_error(), "weight"));
    assert_int_equal(sched_queue_open(s, KILN_PRIORITY_HIGH, "x", 2, &q2), KILN_OK);

    sched_op op = {0};
    assert_int_equal(sched_submit(q, NULL), KILN_ERR_NULL_HANDLE);
    assert_int_equal(sched_submit(q, &op), KILN_ERR_INVALID_ARG);
    assert_int_equal(sched_queue_drain(NULL), KILN_ERR_NULL_HANDLE);

    sched_principal_stats st;
    assert_int_equal(sched_principal_stats_get(s, "nobody", &st), KILN_ERR_NOT_FOUND);
    assert_int_equal(sched_principal_stats_get(s, "x", &st), KILN_OK);
    assert_int_equal(st.weight, 2);
    sched_queue_close(q);
    sched_queue_close(q2);
    sched_queue_close(NULL);
    /* Once its queues are closed, a principal may come back with another weight. */
    assert_int_equal(sched_queue_open(s, KILN_PRIORITY_LOW, "x", 5, &q), KILN_OK);
    /* An operation that cannot start still completes, once. */
    sim_device dev = {0};
    sim_start_device(&dev);
    sim_op failing;
    sim_op_init(&failing, &dev, 0, 0, 0, 1);
    failing.op.start = never_start;
    assert_int_equal(sched_submit(q, &failing.op), KILN_OK);
    assert_int_equal(sched_queue_drain(q), KILN_ERR_INTERNAL);
    assert_int_equal(atomic_load(&failing.done_calls), 1);
    sched_queue_close(q);
    sched_destroy(s);
    sched_destroy(NULL);
    sim_stop_device(&dev);
}

static void jain_index_matches_its_definition(void **state)
{
    (void)state;
    unsigned seed = base_seed + 4;
    double shares[16];
    uint32_t n = (uint32_t)sim_rand_between(&seed, 2, 16);
    double v = (double)sim_rand_between(&seed, 1, 1000000);
    for (uint32_t i = 0; i < n; i++)
        shares[i] = v;
    assert_float_equal(sched_jain_index(shares, n), 1.0, 1e-12);
    for (uint32_t i = 1; i < n; i++)
        shares[i] = 0.0;
    assert_float_equal(sched_jain_index(shares, n), 1.0 / n, 1e-12);
    double sum = 0.0, sq = 0.0;
    for (uint32_t i = 0; i < n; i++) {
        shares[i] = (double)sim_rand_between(&seed, 0, 1000);
        sum += shares[i];
        sq += shares[i] * shares[i];
    }
    if (sq > 0.0)
        assert_float_equal(sched_jain_index(shares, n), sum * sum / (n * sq), 1e-12);
    assert_float_equal(sched_jain_index(NULL, 0), 1.0, 0.0);
}

int main(void)
{
    base_seed = (unsigned)time(NULL);
    printf("seed %u\n", base_seed);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(class_order_is_strict_before_aging),
        cmocka_unit_test(queue_order_is_fifo),
        cmocka_unit_test(drain_returns_first_error_in_queue_order),
        cmocka_unit_test(destroy_cancels_waiting_ops_once),
        cmocka_unit_test(close_waits_for_chained_work),
        cmocka_unit_test(aging_lifts_an_old_head_above_fresh_high_ones),
        cmocka_unit_test(closing_queue_refuses_submissions),
        cmocka_unit_test(arguments_are_checked),
        cmocka_unit_test(jain_index_matches_its_definition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
