/* The priority scheduler: a software command processor in front of one
 * device. Operations (launches and copies) wait in per-queue FIFOs; a
 * dispatcher thread keeps at most `depth` of them in flight on the device
 * and, whenever a slot frees, hands over the next queue head chosen by
 *   1. effective level: the queue's class (low 0, normal 1, high 2) plus one
 *      step for every aging_ns its head has waited, so no class waits
 *      without bound (the bound is stated at sched_config);
 *   2. among the heads at the highest level, deficit round robin across
 *      principals: each turn adds quantum_ns x weight to the principal's
 *      deficit, and it is served while its deficit is positive. An
 *      operation is charged an estimate when it starts (the principal's
 *      running mean device time) and corrected by its MEASURED device time
 *      when it completes, so overuse becomes debt paid in later rounds.
 * A completion thread waits for the operations in the order they started,
 * records their device time and calls their completion.
 *
 * Stream priorities of the backend (port_execution.stream_create) are set
 * by the caller when it creates the queue's stream; the scheduler decides
 * what reaches the device, the stream priority what the device runs first
 * among what it has. docs/security.md, "Scheduler", is the user's side. */
#ifndef KILN_GOVERN_SCHED_H
#define KILN_GOVERN_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include <kiln/common.h>
#include <kiln/queue.h>

/* Two in flight keep the device busy while the dispatcher hands over the
 * next operation; every further slot adds up to one operation's duration to
 * the wait of a high-priority arrival. */
#define SCHED_DEFAULT_DEPTH 2u
#define SCHED_DEPTH_MAX 64u
/* About one typical kernel: smaller interleaves principals more finely at
 * the cost of more turns per dispatch. */
#define SCHED_DEFAULT_QUANTUM_NS 1000000ull
/* One class step per 100 ms of waiting: a low-priority head outranks fresh
 * high-priority work after at most 300 ms (see the bound below). */
#define SCHED_DEFAULT_AGING_NS 100000000ull
/* Limits that keep quantum x weight and level arithmetic far from overflow. */
#define SCHED_QUANTUM_MAX_NS 1000000000ull
#define SCHED_AGING_MIN_NS 1000ull
#define SCHED_WEIGHT_MAX 1024u

/* The least an operation is charged: about the fixed cost of a launch on a
 * GPU (a few microseconds of submission and event overhead). Without a
 * floor, operations that measure 0 ns (event resolution is 0.5 to 1 us)
 * would never use up a deficit, and their principal would keep the turn. */
#define SCHED_MIN_CHARGE_NS 1000ull

/* The status a cancelled operation's done() receives (sched_destroy with
 * operations that never started); op->cancelled tells it apart from a
 * device that was really lost. */
#define SCHED_STATUS_CANCELLED KILN_ERR_DEVICE_LOST

/* What wait() leaves in *device_ns when it cannot measure: the operation is
 * then charged its estimate. */
#define SCHED_DEVICE_NS_UNKNOWN UINT64_MAX

/* The time source of queueing delays and aging, injectable for tests. NULL
 * now_ns means CLOCK_MONOTONIC. */
typedef struct sched_clock {
    uint64_t (*now_ns)(void *ctx);
    void *ctx;
} sched_clock;

/* Zero fields take the defaults above.
 *
 * The aging bound. Let Q be the number of open queues and S the longest
 * time between two consecutive completions while operations wait (on a
 * device that runs one operation at a time: the longest operation). A head
 * of class c that has waited (HIGH - c + 1) x aging_ns is above every head
 * that became head later, so at most Q - 1 dispatches precede it from then
 * on, each one after a completion; its wait as head is therefore at most
 *     (HIGH - c + 1) x aging_ns + Q x S
 * (low: 3 x aging_ns + Q x S). An operation with k others ahead of it in
 * its own queue waits at most k + 1 times that. */
typedef struct sched_config {
    uint32_t depth;      /* operations in flight at most, 1..SCHED_DEPTH_MAX */
    uint64_t quantum_ns; /* device time added per DRR turn and unit of weight */
    uint64_t aging_ns;   /* waiting time per class step, >= SCHED_AGING_MIN_NS */
    sched_clock clock;
} sched_config;

typedef struct sched sched;
typedef struct sched_queue sched_queue;
typedef struct sched_op sched_op;

/* One operation. The caller allocates it (usually inside its own launch
 * record), fills start, wait, done and user, and owns it again once done()
 * has been called (done may free it). Until then the scheduler owns it and
 * the caller must not touch it.
 *
 * start, wait and done run on the scheduler's threads, never with its lock
 * held: start on the dispatcher (it submits to the adapter and must not
 * block on the device), wait and done on the completion thread (wait blocks
 * until the operation finished). done may call sched_submit but must not
 * call sched_queue_drain, sched_queue_close or sched_destroy (they wait for
 * the thread that runs it). */
struct sched_op {
    /* Hands the operation to the device. An error skips wait: the
     * operation completes with that status and is charged nothing. */
    kiln_status (*start)(sched_op *op);
    /* Blocks until the operation finished; stores its measured device time
     * in *device_ns, or leaves SCHED_DEVICE_NS_UNKNOWN there. */
    kiln_status (*wait)(sched_op *op, uint64_t *device_ns);
    /* Called exactly once per submitted operation with its final status:
     * that of start or wait, or SCHED_STATUS_CANCELLED. */
    void (*done)(sched_op *op, kiln_status status);
    void *user;

    /* Set by the scheduler, readable in done(). */
    uint64_t submit_ns; /* clock time of sched_submit */
    uint64_t start_ns;  /* clock time start() was called; 0 if cancelled */
    uint64_t device_ns; /* what it was charged: measured, else the estimate */
    bool cancelled;     /* never started: sched_destroy cancelled it */

    /* The scheduler's own; do not touch. */
    struct {
        sched_op *next;
        sched_queue *queue;
        uint64_t estimate_ns;
        kiln_status status;
        bool started;
    } internal;
};

/* Starts the dispatcher and completion threads. cfg may be NULL (all
 * defaults). KILN_ERR_INVALID_ARG for a value out of range;
 * KILN_ERR_OUT_OF_HOST_MEMORY, KILN_ERR_INTERNAL (no thread). */
kiln_status sched_create(const sched_config *cfg, sched **out);

/* Stops the scheduler. Operations in flight finish normally (wait and done
 * run); operations that had not started are cancelled: their done() gets
 * SCHED_STATUS_CANCELLED with op->cancelled set, in queue order, exactly
 * once. Queues still open are closed. sched_submit during it fails.
 * NULL is accepted. Must not run on a scheduler thread. */
void sched_destroy(sched *s);

/* Opens a queue of class cls for principal (a name govern_name_check
 * accepts; copied). weight (0 means 1, at most SCHED_WEIGHT_MAX) is the
 * principal's share relative to the others; all open queues of one
 * principal must give the same weight (KILN_ERR_INVALID_ARG otherwise).
 * The principal's accounting (deficit, mean, statistics) lives as long as
 * the scheduler, so its debt survives closing and reopening queues. */
kiln_status sched_queue_open(sched *s, kiln_priority cls, const char *principal, uint32_t weight,
                             sched_queue **out);

/* Waits until every operation submitted to q completed, then frees it.
 * NULL is accepted. Not from a scheduler thread. */
void sched_queue_close(sched_queue *q);

/* Appends op to q. The scheduler owns op until it calls op->done.
 * KILN_ERR_NULL_HANDLE / KILN_ERR_INVALID_ARG for a missing argument or
 * callback; KILN_ERR_DEVICE_LOST while the scheduler is being destroyed or
 * the queue closed. On error op is not taken and done is not called. */
kiln_status sched_submit(sched_queue *q, sched_op *op);

/* Waits until every operation submitted to q before the call completed
 * (done returned). Returns the first error among the operations completed
 * since the previous drain, in queue order, and clears it; KILN_OK if none.
 * Not from a scheduler thread. */
kiln_status sched_queue_drain(sched_queue *q);

/* A principal's totals since the scheduler was created. */
typedef struct sched_principal_stats {
    uint64_t charged_ns;     /* device time charged: measured, else estimated */
    uint64_t completed_ops;  /* operations whose done() ran, cancelled ones excepted */
    uint64_t cancelled_ops;
    int64_t deficit_ns;      /* current DRR deficit (negative: debt) */
    uint32_t weight;
} sched_principal_stats;

/* KILN_ERR_NOT_FOUND when no queue was ever opened for principal. */
kiln_status sched_principal_stats_get(sched *s, const char *principal,
                                      sched_principal_stats *out);

/* Jain's fairness index of n shares (each a principal's device time divided
 * by its weight): (sum x)^2 / (n x sum x^2), 1 when all are equal, 1/n when
 * one principal has everything. 1 for n == 0 or all zero. */
double sched_jain_index(const double *shares, uint32_t n);

#endif
