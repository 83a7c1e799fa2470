/* The scheduler's life and threads: create/destroy, queues, submission,
 * the dispatcher (chooses and starts) and the completion thread (waits,
 * charges the measured time, calls done). The choice itself is in
 * sched_pick.c. */
#include "govern/sched_impl.h"

#include <stdlib.h>
#include <string.h>

#include "util/fail.h"

static void done_list_append(struct sched *s, sched_op *op)
{
    op->internal.next = NULL;
    if (s->done_tail)
        s->done_tail->internal.next = op;
    else
        s->done_head = op;
    s->done_tail = op;
    pthread_cond_signal(&s->completion);
}

/* Starts op outside the lock (the adapter's submission may take a while and
 * submitters must not wait for it); returns with the lock held again. */
static void dispatch(struct sched *s, sched_op *op, uint64_t now)
{
    s->in_flight++;
    op->start_ns = now;
    pthread_mutex_unlock(&s->lock);
    kiln_status status = op->start(op);
    pthread_mutex_lock(&s->lock);
    op->internal.status = status;
    op->internal.started = status == KILN_OK;
    if (status != KILN_OK) {
        /* It never reached the device: its slot is free again and its
         * principal gets the estimate back. */
        s->in_flight--;
        op->internal.queue->principal->deficit_ns += (int64_t)op->internal.estimate_ns;
        op->device_ns = 0;
    }
    done_list_append(s, op);
}

static void *dispatcher_main(void *arg)
{
    struct sched *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        sched_op *op = NULL;
        uint64_t now = 0;
        if (s->in_flight < s->depth) {
            now = sched_now(s);
            op = sched_pick_next(s, now);
        }
        if (op)
            dispatch(s, op, now);
        else
            pthread_cond_wait(&s->work, &s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Waits for one operation (outside the lock), charges it, calls done. */
static void complete_one(struct sched *s, sched_op *op)
{
    kiln_status status = op->internal.status;
    uint64_t device_ns = SCHED_DEVICE_NS_UNKNOWN;
    if (op->internal.started)
        status = op->wait(op, &device_ns);

    pthread_mutex_lock(&s->lock);
    sched_queue *q = op->internal.queue;
    if (op->internal.started) {
        sched_charge_measured(s, op, device_ns);
        s->in_flight--;
        pthread_cond_signal(&s->work);
    }
    if (op->cancelled)
        q->principal->cancelled_ops++;
    else
        q->principal->completed_ops++;
    if (status != KILN_OK && q->first_error == KILN_OK)
        q->first_error = status;
    pthread_mutex_unlock(&s->lock);

    op->done(op, status); /* op may be freed from here on */

    pthread_mutex_lock(&s->lock);
    q->completed++;
    pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->lock);
}

static void *completion_main(void *arg)
{
    struct sched *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->done_head && !s->finishing)
            pthread_cond_wait(&s->completion, &s->lock);
        sched_op *op = s->done_head;
        if (!op)
            break;
        s->done_head = op->internal.next;
        if (!s->done_head)
            s->done_tail = NULL;
        pthread_mutex_unlock(&s->lock);
        complete_one(s, op);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static kiln_status config_resolve(struct sched *s, const sched_config *cfg)
{
    sched_config c = cfg ? *cfg : (sched_config){0};
    s->depth = c.depth ? c.depth : SCHED_DEFAULT_DEPTH;
    s->quantum_ns = c.quantum_ns ? c.quantum_ns : SCHED_DEFAULT_QUANTUM_NS;
    s->aging_ns = c.aging_ns ? c.aging_ns : SCHED_DEFAULT_AGING_NS;
    s->clock = c.clock;
    if (s->depth > SCHED_DEPTH_MAX)
        return util_fail(KILN_ERR_INVALID_ARG, "scheduler depth %u above the limit %u", s->depth,
                         SCHED_DEPTH_MAX);
    if (s->quantum_ns > SCHED_QUANTUM_MAX_NS)
        return util_fail(KILN_ERR_INVALID_ARG, "scheduler quantum %llu ns above the limit %llu ns",
                         (unsigned long long)s->quantum_ns, SCHED_QUANTUM_MAX_NS);
    if (s->aging_ns < SCHED_AGING_MIN_NS)
        return util_fail(KILN_ERR_INVALID_ARG, "scheduler aging step %llu ns below the limit %llu ns",
                         (unsigned long long)s->aging_ns, SCHED_AGING_MIN_NS);
    return KILN_OK;
}

static void sched_free(struct sched *s)
{
    while (s->queues) {
        sched_queue *q = s->queues;
        s->queues = q->next;
        free(q);
    }
    for (uint32_t i = 0; i < s->principal_count; i++) {
        sched_principal *p = s->ring;
        s->ring = p->next;
        free(p->name);
        free(p);
    }
    pthread_cond_destroy(&s->idle);
    pthread_cond_destroy(&s->completion);
    pthread_cond_destroy(&s->work);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

kiln_status sched_create(const sched_config *cfg, sched **out)
{
    if (!out)
        return util_fail(KILN_ERR_NULL_HANDLE, "sched_create: out is NULL");
    *out = NULL;
    struct sched *s = calloc(1, sizeof(*s));
    if (!s)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "no memory for a scheduler");
    kiln_status status = config_resolve(s, cfg);
    if (status != KILN_OK) {
        free(s);
        return status;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_cond_init(&s->completion, NULL);
    pthread_cond_init(&s->idle, NULL);
    if (pthread_create(&s->completer, NULL, completion_main, s) != 0) {
        sched_free(s);
        return util_fail(KILN_ERR_INTERNAL, "cannot start the scheduler's completion thread");
    }
    if (pthread_create(&s->dispatcher, NULL, dispatcher_main, s) != 0) {
        pthread_mutex_lock(&s->lock);
        s->finishing = true;
        pthread_cond_signal(&s->completion);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->completer, NULL);
        sched_free(s);
        return util_fail(KILN_ERR_INTERNAL, "cannot start the scheduler's dispatcher thread");
    }
    *out = s;
    return KILN_OK;
}

/* Moves every waiting operation to the completion list as cancelled, queue
 * by queue in FIFO order. Under the lock, after the dispatcher stopped. */
static void cancel_waiting(struct sched *s)
{
    for (sched_queue *q = s->queues; q; q = q->next) {
        while (q->head) {
            sched_op *op = q->head;
            q->head = op->internal.next;
            q->principal->waiting--;
            op->cancelled = true;
            op->internal.status = SCHED_STATUS_CANCELLED;
            done_list_append(s, op);
        }
        q->tail = NULL;
    }
}

void sched_destroy(sched *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->dispatcher, NULL);

    pthread_mutex_lock(&s->lock);
    cancel_waiting(s);
    s->finishing = true;
    pthread_cond_signal(&s->completion);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->completer, NULL);
    sched_free(s);
}

static sched_principal *principal_find(struct sched *s, const char *name)
{
    sched_principal *p = s->ring;
    for (uint32_t i = 0; i < s->principal_count; i++, p = p->next) {
        if (strcmp(p->name, name) == 0)
            return p;
    }
    return NULL;
}

/* Appends a principal at the end of the ring (the order of first use). */
static sched_principal *principal_add(struct sched *s, const char *name, uint32_t weight)
{
    sched_principal *p = calloc(1, sizeof(*p));
    char *copy = strdup(name);
    if (!p || !copy) {
        free(p);
        free(copy);
        return NULL;
    }
    p->name = copy;
    p->weight = weight;
    if (!s->ring) {
        p->next = p;
        s->ring = p;
    } else {
        sched_principal *last = s->ring;
        while (last->next != s->ring)
            last = last->next;
        last->next = p;
        p->next = s->ring;
    }
    s->principal_count++;
    return p;
}

static uint32_t class_rank(kiln_priority cls)
{
    return cls == KILN_PRIORITY_HIGH ? SCHED_RANK_HIGH
         : cls == KILN_PRIORITY_LOW  ? SCHED_RANK_LOW
                                     : SCHED_RANK_NORMAL;
}

/* Finds or adds the principal and checks its weight. Under the lock. */
static kiln_status principal_for_queue(struct sched *s, const char *name, uint32_t weight,
                                       sched_principal **out)
{
    sched_principal *p = principal_find(s, name);
    if (p && p->open_queues > 0 && p->weight != weight)
        return util_fail(KILN_ERR_INVALID_ARG,
                         "principal \"%s\" has open queues of weight %u, not %u", name,
                         p->weight, weight);
    if (!p && !(p = principal_add(s, name, weight)))
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "no memory for a scheduler principal");
    p->weight = weight;
    *out = p;
    return KILN_OK;
}

kiln_status sched_queue_open(sched *s, kiln_priority cls, const char *principal, uint32_t weight,
                             sched_queue **out)
{
    if (!s || !principal || !out)
        return util_fail(KILN_ERR_NULL_HANDLE, "sched_queue_open: scheduler, principal or out is NULL");
    *out = NULL;
    if (cls != KILN_PRIORITY_LOW && cls != KILN_PRIORITY_NORMAL && cls != KILN_PRIORITY_HIGH)
        return util_fail(KILN_ERR_INVALID_ARG, "queue priority %d is not a kiln_priority", (int)cls);
    if (weight == 0)
        weight = 1;
    if (weight > SCHED_WEIGHT_MAX)
        return util_fail(KILN_ERR_INVALID_ARG, "weight %u above the limit %u", weight,
                         SCHED_WEIGHT_MAX);
    kiln_status status = govern_name_check(principal);
    if (status != KILN_OK)
        return status;
    sched_queue *q = calloc(1, sizeof(*q));
    if (!q)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "no memory for a scheduler queue");

    pthread_mutex_lock(&s->lock);
    sched_principal *p = NULL;
    status = s->stopping ? KILN_ERR_DEVICE_LOST : principal_for_queue(s, principal, weight, &p);
    if (status == KILN_OK) {
        p->open_queues++;
        q->s = s;
        q->principal = p;
        q->rank = class_rank(cls);
        q->next = s->queues;
        if (s->queues)
            s->queues->prev = q;
        s->queues = q;
    }
    pthread_mutex_unlock(&s->lock);
    if (status != KILN_OK) {
        free(q);
        if (status == KILN_ERR_DEVICE_LOST)
            return util_fail(status, "the scheduler is shutting down");
        return status;
    }
    *out = q;
    return KILN_OK;
}

void sched_queue_close(sched_queue *q)
{
    if (!q)
        return;
    struct sched *s = q->s;
    pthread_mutex_lock(&s->lock);
    q->closing = true;
    while (q->completed != q->submitted)
        pthread_cond_wait(&s->idle, &s->lock);
    if (q->prev)
        q->prev->next = q->next;
    else
        s->queues = q->next;
    if (q->next)
        q->next->prev = q->prev;
    q->principal->open_queues--;
    pthread_mutex_unlock(&s->lock);
    free(q);
}

kiln_status sched_submit(sched_queue *q, sched_op *op)
{
    if (!q || !op)
        return util_fail(KILN_ERR_NULL_HANDLE, "sched_submit: queue or operation is NULL");
    if (!op->start || !op->wait || !op->done)
        return util_fail(KILN_ERR_INVALID_ARG, "sched_submit: start, wait and done are required");
    struct sched *s = q->s;
    pthread_mutex_lock(&s->lock);
    if (s->stopping || q->closing) {
        pthread_mutex_unlock(&s->lock);
        return util_fail(KILN_ERR_DEVICE_LOST, "the scheduler or the queue is shutting down");
    }
    uint64_t now = sched_now(s);
    op->submit_ns = now;
    op->start_ns = 0;
    op->device_ns = 0;
    op->cancelled = false;
    op->internal.next = NULL;
    op->internal.queue = q;
    op->internal.estimate_ns = 0;
    op->internal.status = KILN_OK;
    op->internal.started = false;
    if (q->tail) {
        q->tail->internal.next = op;
    } else {
        q->head = op;
        q->head_since = now;
    }
    q->tail = op;
    q->submitted++;
    q->principal->waiting++;
    if (s->in_flight < s->depth)
        pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->lock);
    return KILN_OK;
}

kiln_status sched_queue_drain(sched_queue *q)
{
    if (!q)
        return util_fail(KILN_ERR_NULL_HANDLE, "sched_queue_drain: queue is NULL");
    struct sched *s = q->s;
    pthread_mutex_lock(&s->lock);
    uint64_t target = q->submitted;
    while (q->completed < target)
        pthread_cond_wait(&s->idle, &s->lock);
    kiln_status status = q->first_error;
    q->first_error = KILN_OK;
    pthread_mutex_unlock(&s->lock);
    if (status != KILN_OK)
        return util_fail(status, "an operation of the queue failed: %s", kiln_status_name(status));
    return KILN_OK;
}

kiln_status sched_principal_stats_get(sched *s, const char *principal,
                                      sched_principal_stats *out)
{
    if (!s || !principal || !out)
        return util_fail(KILN_ERR_NULL_HANDLE, "sched_principal_stats_get: an argument is NULL");
    pthread_mutex_lock(&s->lock);
    const sched_principal *p = principal_find(s, principal);
    if (p) {
        out->charged_ns = p->charged_ns;
        out->completed_ops = p->completed_ops;
        out->cancelled_ops = p->cancelled_ops;
        out->deficit_ns = p->deficit_ns;
        out->weight = p->weight;
    }
    pthread_mutex_unlock(&s->lock);
    if (!p)
        return util_fail(KILN_ERR_NOT_FOUND, "no scheduler queue was opened for principal \"%s\"",
                         principal);
    return KILN_OK;
}

double sched_jain_index(const double *shares, uint32_t n)
{
    double sum = 0.0, sum_sq = 0.0;
    for (uint32_t i = 0; i < n; i++) {
        sum += shares[i];
        sum_sq += shares[i] * shares[i];
    }
    if (n == 0 || sum_sq == 0.0)
        return 1.0;
    return sum * sum / ((double)n * sum_sq);
}
