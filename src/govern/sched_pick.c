/* The scheduler's choice: effective levels with aging, deficit round robin
 * across the principals at the top level, and the charging of estimated
 * and measured device time. Everything here runs under sched.lock. */
#include "govern/sched_impl.h"

uint64_t sched_now(const struct sched *s)
{
    if (s->clock.now_ns)
        return s->clock.now_ns(s->clock.ctx);
    return govern_clock_ns(CLOCK_MONOTONIC);
}

static uint64_t head_level(const struct sched *s, const sched_queue *q, uint64_t now)
{
    uint64_t waited = now > q->head_since ? now - q->head_since : 0;
    return q->rank + waited / s->aging_ns;
}

/* Marks the principals that have a head at the highest level and, for each,
 * its queue whose head has waited longest. False when nothing waits. */
static bool mark_eligible(struct sched *s, uint64_t now)
{
    uint64_t top = 0;
    bool any = false;
    for (sched_queue *q = s->queues; q; q = q->next) {
        if (!q->head)
            continue;
        uint64_t level = head_level(s, q, now);
        if (!any || level > top)
            top = level;
        any = true;
    }
    if (!any)
        return false;
    uint64_t mark = ++s->pick_mark;
    for (sched_queue *q = s->queues; q; q = q->next) {
        if (!q->head || head_level(s, q, now) != top)
            continue;
        sched_principal *p = q->principal;
        if (p->pick_mark != mark) {
            p->pick_mark = mark;
            p->candidate = q;
        } else if (q->head_since < p->candidate->head_since) {
            p->candidate = q;
        }
    }
    return true;
}

static int64_t turn_quantum(const struct sched *s, const sched_principal *p)
{
    return (int64_t)(s->quantum_ns * p->weight);
}

/* Every eligible principal is in debt after a full pass: adds the number of
 * rounds after which the first of them is out of debt at once, instead of
 * walking them (a 1 s operation against a 1 us quantum is a million
 * rounds). Ineligible principals get nothing, as in a real round they are
 * skipped. */
static void skip_debt_rounds(struct sched *s, uint32_t n)
{
    uint64_t rounds = UINT64_MAX;
    sched_principal *p = s->ring;
    for (uint32_t i = 0; i < n; i++, p = p->next) {
        if (p->pick_mark != s->pick_mark)
            continue;
        uint64_t q = (uint64_t)turn_quantum(s, p);
        uint64_t need = ((uint64_t)(1 - p->deficit_ns) + q - 1) / q;
        if (need < rounds)
            rounds = need;
    }
    for (uint32_t i = 0; i < n; i++, p = p->next) {
        if (p->pick_mark == s->pick_mark)
            p->deficit_ns += (int64_t)rounds * turn_quantum(s, p);
    }
}

/* Deficit round robin over the eligible principals: the one holding the
 * turn keeps it while its deficit is positive; the turn then passes along
 * the ring, each eligible principal it reaches receiving quantum x weight. */
static sched_principal *drr_choose(struct sched *s)
{
    uint64_t mark = s->pick_mark;
    sched_principal *p = s->turn;
    if (p && p->pick_mark == mark && p->deficit_ns > 0)
        return p;
    uint32_t n = s->principal_count;
    p = p ? p->next : s->ring;
    for (uint32_t i = 0; i < n; i++, p = p->next) {
        if (p->pick_mark != mark)
            continue;
        p->deficit_ns += turn_quantum(s, p);
        s->turn = p;
        if (p->deficit_ns > 0)
            return p;
    }
    if (!s->turn)
        return NULL; /* not reached: mark_eligible found a principal */
    skip_debt_rounds(s, n);
    p = s->turn->next;
    for (uint32_t i = 0; i < n; i++, p = p->next) {
        if (p->pick_mark == mark && p->deficit_ns > 0) {
            s->turn = p;
            return p;
        }
    }
    return s->turn; /* not reached: skip_debt_rounds lifted one above 0 */
}

static uint64_t estimate_ns(const struct sched *s, const sched_principal *p)
{
    uint64_t est = p->measured ? p->mean_ns : s->measured ? s->mean_ns : s->quantum_ns;
    return est < SCHED_MIN_CHARGE_NS ? SCHED_MIN_CHARGE_NS : est;
}

sched_op *sched_pick_next(struct sched *s, uint64_t now)
{
    if (!mark_eligible(s, now))
        return NULL;
    sched_principal *p = drr_choose(s);
    if (!p)
        return NULL;
    sched_queue *q = p->candidate;
    sched_op *op = q->head;
    q->head = op->internal.next;
    if (q->head)
        q->head_since = now;
    else
        q->tail = NULL;
    op->internal.next = NULL;
    p->waiting--;

    uint64_t est = estimate_ns(s, p);
    op->internal.estimate_ns = est;
    p->deficit_ns -= (int64_t)est;
    /* As in DRR, a principal left with nothing waiting keeps no credit (it
     * would come back with a burst), but it keeps its debt: going idle
     * between operations must not erase what they cost. */
    if (p->waiting == 0 && p->deficit_ns > 0)
        p->deficit_ns = 0;
    return op;
}

static void mean_update(uint64_t *mean, bool *measured, uint64_t sample)
{
    if (!*measured) {
        *mean = sample;
        *measured = true;
        return;
    }
    int64_t delta = (int64_t)sample - (int64_t)*mean;
    *mean = (uint64_t)((int64_t)*mean + delta / (1 << SCHED_MEAN_SHIFT));
}

void sched_charge_measured(struct sched *s, sched_op *op, uint64_t measured_ns)
{
    sched_principal *p = op->internal.queue->principal;
    uint64_t est = op->internal.estimate_ns;
    uint64_t charge = est;
    if (measured_ns != SCHED_DEVICE_NS_UNKNOWN) {
        charge = measured_ns < SCHED_MIN_CHARGE_NS ? SCHED_MIN_CHARGE_NS : measured_ns;
        mean_update(&p->mean_ns, &p->measured, charge);
        mean_update(&s->mean_ns, &s->measured, charge);
    }
    p->deficit_ns += (int64_t)est - (int64_t)charge;
    p->charged_ns += charge;
    op->device_ns = charge;
}
