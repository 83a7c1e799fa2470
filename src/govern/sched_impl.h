/* The inside of the scheduler, shared by the sched*.c files only. One
 * mutex (sched.lock) guards everything below; the callbacks of operations
 * run without it. */
#ifndef KILN_GOVERN_SCHED_IMPL_H
#define KILN_GOVERN_SCHED_IMPL_H

#include <pthread.h>

#include "govern/govern_types.h"
#include "govern/sched.h"

/* Class ranks: the level of a head is its rank plus its aging steps. */
#define SCHED_RANK_LOW 0u
#define SCHED_RANK_NORMAL 1u
#define SCHED_RANK_HIGH 2u

/* The running mean of a principal's device time per operation is an
 * exponentially weighted average with weight 1/8 for the newest sample
 * (the smoothing TCP uses for round-trip times): it follows a change of
 * workload within a few dozen operations without jumping on one outlier. */
#define SCHED_MEAN_SHIFT 3u

/* Accounting of one principal. Lives until sched_destroy; principals form a
 * circular list, the DRR ring, in the order they first appeared. */
typedef struct sched_principal {
    struct sched_principal *next; /* ring */
    char *name;
    uint32_t weight;
    uint32_t open_queues;
    uint64_t waiting;   /* operations waiting (not started) in its queues */
    int64_t deficit_ns; /* DRR deficit; negative is debt */
    uint64_t mean_ns;   /* running mean device time; valid when measured */
    bool measured;
    uint64_t pick_mark;          /* == sched.pick_mark: eligible in this pick */
    struct sched_queue *candidate; /* its queue to serve in this pick */
    uint64_t charged_ns;
    uint64_t completed_ops;
    uint64_t cancelled_ops;
} sched_principal;

struct sched_queue {
    struct sched *s;
    sched_principal *principal;
    uint32_t rank;
    sched_op *head, *tail; /* waiting operations, FIFO */
    uint64_t head_since;   /* clock time head became the head */
    /* Operations submitted, and those whose done() returned. A queue's
     * operations complete in its order (they start in it, the completion
     * thread takes them in start order and cancelled ones come last), so
     * drain waits for completed to reach the submitted of its call. */
    uint64_t submitted, completed;
    kiln_status first_error;
    bool closing;
    struct sched_queue *prev, *next; /* sched.queues */
};

struct sched {
    pthread_mutex_t lock;
    pthread_cond_t work;       /* dispatcher: an operation or a slot arrived, or stop */
    pthread_cond_t completion; /* completion thread: done list non-empty, or finish */
    pthread_cond_t idle;       /* drain/close: an operation's done() returned */
    pthread_t dispatcher, completer;
    uint32_t depth;
    uint64_t quantum_ns, aging_ns;
    sched_clock clock;

    sched_queue *queues;
    sched_principal *ring; /* the first principal of the ring, NULL when empty */
    uint32_t principal_count;
    sched_principal *turn; /* the principal holding the DRR turn, or NULL */
    uint64_t pick_mark;

    uint32_t in_flight;
    sched_op *done_head, *done_tail; /* started or cancelled, in start order */
    uint64_t mean_ns; /* all principals' running mean, the first estimate of a new one */
    bool measured;
    bool stopping;  /* the dispatcher exits, submit fails */
    bool finishing; /* the completion thread exits once its list is empty */
};

uint64_t sched_now(const struct sched *s);

/* Chooses the next operation (see sched.h), removes it from its queue and
 * charges its estimate; NULL when nothing waits. Under the lock. */
sched_op *sched_pick_next(struct sched *s, uint64_t now);

/* Replaces the estimate charged for op by its measured device time
 * (SCHED_DEVICE_NS_UNKNOWN keeps the estimate) and records it in the
 * statistics; sets op->device_ns. Under the lock. */
void sched_charge_measured(struct sched *s, sched_op *op, uint64_t measured_ns);

#endif
