/* A simulated device for the scheduler's tests: one thread that executes
 * the operations handed to it in order, one at a time, each by spinning for
 * its cost; the measured device time is the real time it spun. A gate holds
 * execution back so that tests can fill the scheduler before it runs. The
 * device also keeps the ground truth the tests compare with: per principal,
 * the time it executed operations that began inside a measuring window. */
#ifndef KILN_TEST_GOVERN_SCHED_SIM_H
#define KILN_TEST_GOVERN_SCHED_SIM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "govern/sched.h"

#define SIM_PRINCIPALS_MAX 8
#define SIM_LOG_MAX 65536

typedef struct sim_device sim_device;
typedef struct sim_op sim_op;

struct sim_op {
    sched_op op; /* first: the callbacks cast back */
    sim_device *dev;
    uint64_t cost_ns;
    uint32_t principal; /* index into the device's truth table */
    uint32_t queue;     /* the test's queue number */
    uint64_t seq;       /* order of submission within its queue */
    kiln_status start_status, wait_status; /* injected results */
    /* Filled by the device and the callbacks. */
    bool finished;
    uint64_t exec_begin, exec_end;
    atomic_int done_calls;
    kiln_status final_status;
    void (*on_done)(sim_op *op); /* test hook, after the fields above are set */
    void *test;
    sim_op *next; /* device FIFO */
};

struct sim_device {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    sim_op *head, *tail;
    bool stop, gate_closed;
    /* The window of ground truth: operations that begin in it count. */
    uint64_t window_begin, window_end;
    uint64_t truth_ns[SIM_PRINCIPALS_MAX];
    uint64_t last_end, longest_gap_ns; /* between consecutive completions */
    /* Start order: (queue, seq) of each operation start() saw. */
    uint32_t started;
    uint32_t start_queue[SIM_LOG_MAX];
    uint64_t start_seq[SIM_LOG_MAX];
};

static inline uint64_t sim_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void *sim_main(void *arg)
{
    sim_device *d = arg;
    pthread_mutex_lock(&d->lock);
    for (;;) {
        while (!d->stop && (!d->head || d->gate_closed))
            pthread_cond_wait(&d->cond, &d->lock);
        if (!d->head)
            break;
        sim_op *op = d->head;
        d->head = op->next;
        if (!d->head)
            d->tail = NULL;
        pthread_mutex_unlock(&d->lock);
        uint64_t begin = sim_now(), end = begin;
        while (end - begin < op->cost_ns)
            end = sim_now();
        pthread_mutex_lock(&d->lock);
        op->exec_begin = begin;
        op->exec_end = end;
        op->finished = true;
        if (begin >= d->window_begin && begin < d->window_end)
            d->truth_ns[op->principal] += end - begin;
        if (d->last_end && end - d->last_end > d->longest_gap_ns)
            d->longest_gap_ns = end - d->last_end;
        d->last_end = end;
        pthread_cond_broadcast(&d->cond);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

static inline void sim_start_device(sim_device *d)
{
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->cond, NULL);
    d->window_end = UINT64_MAX;
    pthread_create(&d->thread, NULL, sim_main, d);
}

static inline void sim_stop_device(sim_device *d)
{
    pthread_mutex_lock(&d->lock);
    d->stop = true;
    d->gate_closed = false;
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->thread, NULL);
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->lock);
}

static inline void sim_set_gate(sim_device *d, bool closed)
{
    pthread_mutex_lock(&d->lock);
    d->gate_closed = closed;
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
}

static inline void sim_set_window(sim_device *d, uint64_t begin, uint64_t end)
{
    pthread_mutex_lock(&d->lock);
    d->window_begin = begin;
    d->window_end = end;
    pthread_mutex_unlock(&d->lock);
}

static inline uint32_t sim_started(sim_device *d)
{
    pthread_mutex_lock(&d->lock);
    uint32_t n = d->started;
    pthread_mutex_unlock(&d->lock);
    return n;
}

static inline kiln_status sim_op_start(sched_op *base)
{
    sim_op *op = (sim_op *)base;
    sim_device *d = op->dev;
    pthread_mutex_lock(&d->lock);
    if (d->started < SIM_LOG_MAX) {
        d->start_queue[d->started] = op->queue;
        d->start_seq[d->started] = op->seq;
    }
    d->started++;
    if (op->start_status == KILN_OK) {
        op->next = NULL;
        if (d->tail)
            d->tail->next = op;
        else
            d->head = op;
        d->tail = op;
        pthread_cond_broadcast(&d->cond);
    }
    pthread_mutex_unlock(&d->lock);
    return op->start_status;
}

static inline kiln_status sim_op_wait(sched_op *base, uint64_t *device_ns)
{
    sim_op *op = (sim_op *)base;
    sim_device *d = op->dev;
    pthread_mutex_lock(&d->lock);
    while (!op->finished)
        pthread_cond_wait(&d->cond, &d->lock);
    *device_ns = op->exec_end - op->exec_begin;
    pthread_mutex_unlock(&d->lock);
    return op->wait_status;
}

static inline void sim_op_done(sched_op *base, kiln_status status)
{
    sim_op *op = (sim_op *)base;
    op->final_status = status;
    atomic_fetch_add(&op->done_calls, 1);
    if (op->on_done)
        op->on_done(op);
}

/* Prepares op for submission (the fields the tests read are reset). */
static inline void sim_op_init(sim_op *op, sim_device *d, uint32_t principal, uint32_t queue,
                               uint64_t seq, uint64_t cost_ns)
{
    *op = (sim_op){0};
    op->op.start = sim_op_start;
    op->op.wait = sim_op_wait;
    op->op.done = sim_op_done;
    op->dev = d;
    op->principal = principal;
    op->queue = queue;
    op->seq = seq;
    op->cost_ns = cost_ns;
    atomic_init(&op->done_calls, 0);
}

static inline uint64_t sim_rand_between(unsigned *seed, uint64_t lo, uint64_t hi)
{
    uint64_t r = ((uint64_t)rand_r(seed) << 31) ^ (uint64_t)rand_r(seed);
    return lo + r % (hi - lo + 1);
}

#endif
