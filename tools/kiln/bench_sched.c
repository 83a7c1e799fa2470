/* `kiln bench --suite sched`: the priority scheduler of a governed context,
 * measured through the public API on one device. A temporary policy that
 * allows everything turns governance (and so the scheduler) on.
 *   (a) high-priority launch latency (kiln_launch to kiln_event_wait of a
 *       one-item kernel) on an idle device;
 *   (b) the same while 4 low-priority principals (a session each) keep
 *       the device saturated with longer kernels, and its ratio to (a);
 *   (c) the longest wait of a low-priority launch while normal and high
 *       queues saturate the device, against the documented bound
 *       3 x aging + Q x S;
 *   (d) Jain's fairness index of the device time of equal-weight
 *       principals (one session each) saturating normal queues. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_sched.h"
#include "cli.h"
#include "work.h"

/* Latency samples of (a) and (b), after a warm-up. */
#define LATENCY_WARMUP 20
#define LATENCY_REPS 200
#define LATENCY_PERCENTILE 99.0
/* The saturating kernel: about 1 ms, long against a launch (tens of us)
 * and short enough that hundreds run in a few seconds. */
#define LOAD_TARGET_NS 1000000.0
#define SPIN_CALIBRATION_ITERS 100000u
/* Launches each saturating queue keeps queued: enough that the device
 * never runs dry between them. */
#define LOAD_QUEUED 4
/* (b): four low-priority principals, a queue each. */
#define LOW_LOADS 4
/* (c): normal and high queues saturating, and the low launches timed. */
#define NORMAL_LOADS 2
#define HIGH_LOADS 1
#define STARVE_SAMPLES 5
/* The scheduler's default aging step (src/govern/sched.h,
 * SCHED_DEFAULT_AGING_NS; docs/security.md, "Scheduler"): the bound of (c)
 * is computed from it. */
#define SCHED_AGING_NS 100000000.0
#define LOWEST_CLASS_AGING_STEPS 3.0
/* (d): principals, how long they saturate the device together, and the
 * goal of issue 5 for the index. */
#define FAIR_PRINCIPALS 4
#define FAIR_RUN_US 2000000
#define FAIR_GOAL 0.95
/* The first principal's kernel is half the saturating kernel (0.5 ms). */
#define FAIR_SHORTEST_DIVISOR 2
#define NS_PER_US 1000.0
#define US_PER_S 1000000.0
#define NS_PER_MS 1000000.0

static const char *sched_kernels =
    "kernel void tiny(global float *o) { o[global_id(0)] = 1.0f; }\n"
    "kernel void spin(uint iters, global float *o) {\n"
    "    float acc = 0.0f;\n"
    "    for (uint j = 0; j < iters; j++) acc = acc * 0.5f + 1.0f;\n"
    "    o[global_id(0)] = acc;\n"
    "}\n";

static const char *allow_all_policy =
    "version: 1\n"
    "rules:\n"
    "  - name: bench-allows-all\n"
    "    effect: allow\n"
    "    principals: [\"*\"]\n"
    "    devices: [\"*\"]\n"
    "    actions: [device.use, program.build, buffer.alloc, buffer.copy, kernel.launch,"
    " queue.priority, session.open]\n";

typedef struct sched_bench {
    kiln_context *ctx;
    kiln_device *dev;
    kiln_kernel *tiny, *spin;
    uint32_t spin_iters;
    kiln_status status; /* the first failure */
    char failed[256];   /* what failed */
} sched_bench;

static bool bench_failed(sched_bench *b, const char *what, kiln_status st)
{
    if (b->status == KILN_OK) {
        b->status = st;
        snprintf(b->failed, sizeof b->failed, "%s: %s: %s", what, kiln_status_name(st),
                 kiln_last_error());
    }
    return false;
}

/* Queues one spin launch of iters on q. */
static kiln_status spin_launch(kiln_kernel *spin, kiln_queue *q, kiln_buffer *o, uint32_t iters,
                               kiln_event **ev)
{
    kiln_range r = { .dims = 1, .global = { 1 } };
    kiln_arg args[] = { KILN_ARG_U32(iters), KILN_ARG_BUFFER(o) };
    return kiln_launch(q, spin, &r, args, 2, ev);
}

static bool calibrate(sched_bench *b, kiln_queue *q, kiln_buffer *o)
{
    kiln_event *ev = NULL;
    uint64_t ns = 0;
    kiln_status st = spin_launch(b->spin, q, o, SPIN_CALIBRATION_ITERS, &ev);
    if (st == KILN_OK)
        st = kiln_event_elapsed_ns(ev, ev, &ns);
    kiln_event_release(ev);
    if (st != KILN_OK)
        return bench_failed(b, "calibration launch", st);
    double iters = SPIN_CALIBRATION_ITERS * LOAD_TARGET_NS / (double)(ns ? ns : 1);
    b->spin_iters = iters > UINT32_MAX ? UINT32_MAX : iters < 1 ? 1 : (uint32_t)iters;
    return true;
}

/* governed: under the allow-all policy (the scheduler on); else without a
 * policy, the direct launch path, as the baseline of the hand-over cost. */
static bool bench_open(sched_bench *b, const char *selector, const char *dir, bool governed)
{
    char path[600];
    snprintf(path, sizeof path, "%s/sched-policy.yaml", dir);
    FILE *f = fopen(path, "w");
    if (!f || fputs(allow_all_policy, f) < 0) {
        if (f)
            fclose(f);
        snprintf(b->failed, sizeof b->failed, "cannot write %.200s", path);
        b->status = KILN_ERR_INTERNAL;
        return false;
    }
    fclose(f);
    kiln_context_options o = { .size = sizeof o, .cache_dir = dir,
                               .policy = governed ? path : NULL };
    kiln_status st = kiln_context_create(&b->ctx, &o);
    if (st != KILN_OK)
        return bench_failed(b, "governed context", st);
    st = selector ? kiln_device_find(b->ctx, selector, &b->dev)
                  : kiln_device_default(b->ctx, &b->dev);
    if (st != KILN_OK)
        return bench_failed(b, "device", st);
    kiln_program *prog = NULL;
    if ((st = kiln_program_build(b->dev, sched_kernels, NULL, &prog)) != KILN_OK)
        return bench_failed(b, "build", st);
    if ((st = kiln_kernel_get(prog, "tiny", &b->tiny)) == KILN_OK)
        st = kiln_kernel_get(prog, "spin", &b->spin);
    kiln_program_release(prog);
    return st == KILN_OK || bench_failed(b, "kernels", st);
}

/* Wall time from kiln_launch to kiln_event_wait of the one-item kernel on
 * q, LATENCY_REPS times after a warm-up; p50 and p99 in ns. */
static bool high_latency(sched_bench *b, kiln_queue *q, kiln_buffer *o, double out[2])
{
    static double samples[LATENCY_REPS];
    kiln_range r = { .dims = 1, .global = { 1 } };
    kiln_arg args[] = { KILN_ARG_BUFFER(o) };
    for (int i = -LATENCY_WARMUP; i < LATENCY_REPS; i++) {
        kiln_event *ev = NULL;
        uint64_t t0 = cli_now_ns();
        kiln_status st = kiln_launch(q, b->tiny, &r, args, 1, &ev);
        if (st == KILN_OK)
            st = kiln_event_wait(ev);
        uint64_t t1 = cli_now_ns();
        kiln_event_release(ev);
        if (st != KILN_OK)
            return bench_failed(b, "high-priority launch", st);
        if (i >= 0)
            samples[i] = (double)(t1 - t0);
    }
    out[0] = work_median(samples, LATENCY_REPS);
    out[1] = work_percentile(samples, LATENCY_REPS, LATENCY_PERCENTILE);
    return true;
}

/* One saturating queue: keeps LOAD_QUEUED spin launches queued until told
 * to stop, and notes the longest one. */
typedef struct sched_load {
    sched_bench *b;
    kiln_device *dev;  /* the bench's device, or a session's view of it */
    kiln_kernel *spin; /* built on dev */
    uint32_t iters;    /* of each spin launch; 0: the calibrated LOAD_TARGET_NS */
    kiln_priority priority;
    atomic_bool *stop;
    kiln_status status;
    uint64_t launches;
    uint64_t measured;   /* launches whose device time was read */
    uint64_t longest_ns;
    uint64_t total_ns;
    pthread_t thread;
} sched_load;

static void *load_main(void *arg)
{
    sched_load *l = arg;
    kiln_queue *q = NULL;
    kiln_buffer *o = NULL;
    kiln_event *ring[LOAD_QUEUED] = { NULL };
    l->status = kiln_queue_create(l->dev, l->priority, &q);
    if (l->status == KILN_OK)
        l->status = kiln_buffer_create(l->dev, sizeof(float), 0, &o);
    for (unsigned i = 0; l->status == KILN_OK && !atomic_load(l->stop); i = (i + 1) % LOAD_QUEUED) {
        if (ring[i]) {
            uint64_t ns = 0;
            l->status = kiln_event_elapsed_ns(ring[i], ring[i], &ns);
            if (ns > l->longest_ns)
                l->longest_ns = ns;
            l->total_ns += ns;
            l->measured++;
            kiln_event_release(ring[i]);
            ring[i] = NULL;
        }
        if (l->status == KILN_OK && (l->status = spin_launch(l->spin, q, o, l->iters,
                                                             &ring[i])) == KILN_OK)
            l->launches++;
    }
    for (unsigned i = 0; i < LOAD_QUEUED; i++)
        kiln_event_release(ring[i]);
    if (q && l->status == KILN_OK)
        l->status = kiln_queue_finish(q);
    kiln_buffer_release(o);
    kiln_queue_destroy(q);
    return NULL;
}

/* Starts n loads; those whose dev is not set yet run on the bench's
 * device with its kernel. */
static bool loads_start(sched_bench *b, sched_load *loads, unsigned n, kiln_priority priority,
                        atomic_bool *stop)
{
    for (unsigned i = 0; i < n; i++) {
        kiln_device *dev = loads[i].dev ? loads[i].dev : b->dev;
        kiln_kernel *spin = loads[i].dev ? loads[i].spin : b->spin;
        uint32_t iters = loads[i].iters ? loads[i].iters : b->spin_iters;
        loads[i] = (sched_load){ .b = b, .dev = dev, .spin = spin, .iters = iters,
                                 .priority = priority, .stop = stop };
        if (pthread_create(&loads[i].thread, NULL, load_main, &loads[i]) != 0) {
            atomic_store(stop, true);
            for (unsigned j = 0; j < i; j++)
                pthread_join(loads[j].thread, NULL);
            return bench_failed(b, "load thread", KILN_ERR_INTERNAL);
        }
    }
    return true;
}

/* The saturating kernels' device time: the longest (S of the bound) and
 * the mean. */
typedef struct load_times {
    uint64_t longest_ns;
    uint64_t total_ns;
    uint64_t count;
} load_times;

/* Joins the loads and adds their kernel times to *times. */
static bool loads_stop(sched_bench *b, sched_load *loads, unsigned n, atomic_bool *stop,
                       load_times *times)
{
    atomic_store(stop, true);
    bool ok = true;
    for (unsigned i = 0; i < n; i++) {
        pthread_join(loads[i].thread, NULL);
        if (loads[i].status != KILN_OK)
            ok = bench_failed(b, "saturating queue", loads[i].status);
        if (loads[i].longest_ns > times->longest_ns)
            times->longest_ns = loads[i].longest_ns;
        times->total_ns += loads[i].total_ns;
        times->count += loads[i].measured;
    }
    return ok;
}

/* (c): a low-priority launch timed from kiln_launch to its completion,
 * STARVE_SAMPLES times, while normal and high queues saturate; the
 * longest in *worst_ns. */
static bool lowest_class_wait(sched_bench *b, kiln_buffer *o, double *worst_ns,
                              load_times *times, unsigned *queues)
{
    kiln_queue *low = NULL;
    kiln_status st = kiln_queue_create(b->dev, KILN_PRIORITY_LOW, &low);
    if (st != KILN_OK)
        return bench_failed(b, "low-priority queue", st);
    atomic_bool stop;
    atomic_init(&stop, false);
    sched_load loads[NORMAL_LOADS + HIGH_LOADS] = { 0 };
    bool ok = loads_start(b, loads, NORMAL_LOADS, KILN_PRIORITY_NORMAL, &stop) &&
              loads_start(b, loads + NORMAL_LOADS, HIGH_LOADS, KILN_PRIORITY_HIGH, &stop);
    *worst_ns = 0;
    for (int i = 0; ok && i < STARVE_SAMPLES; i++) {
        kiln_event *ev = NULL;
        uint64_t t0 = cli_now_ns();
        if ((st = spin_launch(b->spin, low, o, 1, &ev)) == KILN_OK)
            st = kiln_event_wait(ev);
        double waited = (double)(cli_now_ns() - t0);
        kiln_event_release(ev);
        if (st != KILN_OK)
            ok = bench_failed(b, "low-priority launch", st);
        if (waited > *worst_ns)
            *worst_ns = waited;
    }
    if (!loads_stop(b, loads, NORMAL_LOADS + HIGH_LOADS, &stop, times))
        ok = false;
    kiln_queue_destroy(low);
    /* Open while the low launches waited: the loads', the low one and the
     * high-latency queue of (a) and (b). */
    *queues = NORMAL_LOADS + HIGH_LOADS + 2;
    return ok;
}

/* The index of the context's device dev, for kiln_session_device. */
static uint32_t device_index(sched_bench *b)
{
    uint32_t n = kiln_device_count(b->ctx);
    for (uint32_t i = 0; i < n; i++) {
        kiln_device *d = NULL;
        if (kiln_device_get(b->ctx, i, &d) == KILN_OK && d == b->dev)
            return i;
    }
    return 0;
}

/* For n loads: one session each, for principal "bench-<what>-<i>", its view
 * of the device and the spin kernel built through that view (a session's
 * handles serve only that session). */
static bool principals_open(sched_bench *b, const char *what, kiln_session **sessions,
                            sched_load *loads, unsigned n)
{
    uint32_t index = device_index(b);
    for (unsigned i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "bench-%s-%u", what, i + 1);
        kiln_session_options so = { .size = sizeof so, .principal = name };
        kiln_program *prog = NULL;
        kiln_status st = kiln_session_open(b->ctx, &so, &sessions[i]);
        if (st == KILN_OK)
            st = kiln_session_device(sessions[i], index, &loads[i].dev);
        if (st == KILN_OK)
            st = kiln_program_build(loads[i].dev, sched_kernels, NULL, &prog);
        if (st == KILN_OK)
            st = kiln_kernel_get(prog, "spin", &loads[i].spin);
        kiln_program_release(prog);
        if (st != KILN_OK)
            return bench_failed(b, "principal's session", st);
    }
    return true;
}

static void principals_close(kiln_session **sessions, sched_load *loads, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        kiln_kernel_release(loads[i].spin);
        kiln_session_close(sessions[i]);
    }
}

/* (d): FAIR_PRINCIPALS principals saturate the device with normal queues
 * for FAIR_RUN_US, principal i with kernels i + 1 times as long as the
 * first's (0.5, 1, 1.5, 2 ms): taking turns launch by launch would give
 * them device time in those ratios; deficit round robin on measured time
 * should give them equal shares. A share is the device time its launches
 * measured (what the scheduler charges). */
static bool fairness(sched_bench *b, double *jain, double shares[FAIR_PRINCIPALS],
                     uint64_t launches[FAIR_PRINCIPALS])
{
    kiln_session *sessions[FAIR_PRINCIPALS] = { NULL };
    sched_load loads[FAIR_PRINCIPALS] = { 0 };
    atomic_bool stop;
    atomic_init(&stop, false);
    bool ok = principals_open(b, "fair", sessions, loads, FAIR_PRINCIPALS);
    for (unsigned i = 0; i < FAIR_PRINCIPALS; i++)
        loads[i].iters = b->spin_iters / FAIR_SHORTEST_DIVISOR * (i + 1) + 1;
    ok = ok && loads_start(b, loads, FAIR_PRINCIPALS, KILN_PRIORITY_NORMAL, &stop);
    if (ok) {
        load_times times = { 0 };
        usleep(FAIR_RUN_US);
        ok = loads_stop(b, loads, FAIR_PRINCIPALS, &stop, &times);
    }
    double sum = 0, sum_sq = 0;
    for (unsigned i = 0; i < FAIR_PRINCIPALS; i++) {
        shares[i] = (double)loads[i].total_ns;
        launches[i] = loads[i].measured;
        sum += shares[i];
        sum_sq += shares[i] * shares[i];
    }
    principals_close(sessions, loads, FAIR_PRINCIPALS);
    *jain = sum_sq > 0 ? sum * sum / (FAIR_PRINCIPALS * sum_sq) : 0;
    return ok;
}

static void print_report(const char *device, const double direct[2], const double idle[2],
                         const double busy[2],
                         double worst, double bound, const load_times *times, unsigned queues,
                         double jain, const double shares[FAIR_PRINCIPALS],
                         const uint64_t launches[FAIR_PRINCIPALS])
{
    printf("kiln bench --suite sched: device %s (governed: allow-all policy)\n\n", device);
    printf("%-52s %12s %12s %10s\n", "case", "p50", "p99", "p99/idle");
    printf("%-52s %10.1f us %10.1f us %10s\n", "(a0) the same launch ungoverned (direct path)",
           direct[0] / NS_PER_US, direct[1] / NS_PER_US, "-");
    printf("%-52s %10.1f us %10.1f us %10.2f\n", "(a) high-priority launch, idle device",
           idle[0] / NS_PER_US, idle[1] / NS_PER_US, 1.0);
    printf("    governance and the hand-over to the scheduler's threads: +%.1f us at p50\n",
           (idle[0] - direct[0]) / NS_PER_US);
    printf("%-52s %10.1f us %10.1f us %10.2f\n",
           "(b) high-priority launch, 4 low principals saturating", busy[0] / NS_PER_US,
           busy[1] / NS_PER_US, busy[1] / idle[1]);
    double mean = (double)times->total_ns / (double)(times->count ? times->count : 1);
    printf("    p50 ratio to idle %.2f; saturating kernels: mean %.2f ms, longest %.2f ms (S)\n",
           busy[0] / idle[0], mean / NS_PER_MS, (double)times->longest_ns / NS_PER_MS);
    printf("%-52s %10.1f ms   bound %.1f ms (3 x %.0f ms aging + %u queues x S)\n",
           "(c) longest low-priority wait, normal+high saturating", worst / NS_PER_MS,
           bound / NS_PER_MS, SCHED_AGING_NS / NS_PER_MS, queues);
    printf("    %.1f x the idle p99 launch latency; %s the bound\n", worst / idle[1],
           worst <= bound ? "within" : "ABOVE");
    printf("(d) Jain's fairness index, %d principals saturating %.1f s: %.4f (goal >= %.2f: %s)\n",
           FAIR_PRINCIPALS, FAIR_RUN_US / US_PER_S, jain,
           FAIR_GOAL, jain >= FAIR_GOAL ? "met" : "NOT met");
    for (unsigned i = 0; i < FAIR_PRINCIPALS; i++)
        printf("    principal %u, kernels %u x as long as the first's: %.1f ms of device time"
               " in %llu launches\n",
               i + 1, i + 1, shares[i] / NS_PER_MS, (unsigned long long)launches[i]);
}

/* (a0): the idle latency of a context without a policy, whose launches go
 * straight to the stream. */
static bool direct_latency(const bench_sched_options *opts, double out[2], sched_bench *failure)
{
    sched_bench b = { 0 };
    kiln_queue *q = NULL;
    kiln_buffer *o = NULL;
    kiln_status st = KILN_OK;
    bool ok = bench_open(&b, opts->selector, opts->cache_root, false);
    if (ok && ((st = kiln_queue_create(b.dev, KILN_PRIORITY_HIGH, &q)) != KILN_OK ||
               (st = kiln_buffer_create(b.dev, sizeof(float), 0, &o)) != KILN_OK))
        ok = bench_failed(&b, "ungoverned queue", st);
    ok = ok && high_latency(&b, q, o, out);
    if (!ok)
        *failure = b;
    kiln_buffer_release(o);
    kiln_queue_destroy(q);
    kiln_kernel_release(b.tiny);
    kiln_kernel_release(b.spin);
    kiln_context_destroy(b.ctx);
    return ok;
}

int bench_sched_suite(const bench_sched_options *opts)
{
    sched_bench b = { 0 };
    kiln_queue *high = NULL, *setup = NULL;
    kiln_buffer *o = NULL;
    double direct[2] = { 0 }, idle[2] = { 0 }, busy[2] = { 0 }, worst = 0, jain = 0;
    double shares[FAIR_PRINCIPALS] = { 0 };
    uint64_t launches[FAIR_PRINCIPALS] = { 0 };
    load_times times = { 0 };
    unsigned queues = 0;
    bool ok = direct_latency(opts, direct, &b) &&
              bench_open(&b, opts->selector, opts->cache_root, true);
    kiln_status st = KILN_OK;
    if (ok && ((st = kiln_queue_create(b.dev, KILN_PRIORITY_HIGH, &high)) != KILN_OK ||
               (st = kiln_queue_create(b.dev, KILN_PRIORITY_NORMAL, &setup)) != KILN_OK ||
               (st = kiln_buffer_create(b.dev, sizeof(float), 0, &o)) != KILN_OK))
        ok = bench_failed(&b, "queues", st);
    ok = ok && calibrate(&b, setup, o) && high_latency(&b, high, o, idle);
    kiln_queue_destroy(setup);
    if (ok) {
        atomic_bool stop;
        atomic_init(&stop, false);
        kiln_session *sessions[LOW_LOADS] = { NULL };
        sched_load loads[LOW_LOADS] = { 0 };
        ok = principals_open(&b, "low", sessions, loads, LOW_LOADS) &&
             loads_start(&b, loads, LOW_LOADS, KILN_PRIORITY_LOW, &stop);
        ok = ok && high_latency(&b, high, o, busy);
        if (ok && !loads_stop(&b, loads, LOW_LOADS, &stop, &times))
            ok = false;
        principals_close(sessions, loads, LOW_LOADS);
    }
    ok = ok && lowest_class_wait(&b, o, &worst, &times, &queues) &&
         fairness(&b, &jain, shares, launches);
    if (ok) {
        kiln_device_info info;
        kiln_device_get_info(b.dev, &info);
        double bound =
            LOWEST_CLASS_AGING_STEPS * SCHED_AGING_NS + queues * (double)times.longest_ns;
        print_report(info.name, direct, idle, busy, worst, bound, &times, queues, jain, shares,
                     launches);
    } else {
        fprintf(stderr, "kiln bench --suite sched: %s\n", b.failed);
    }
    kiln_buffer_release(o);
    kiln_queue_destroy(high);
    kiln_kernel_release(b.tiny);
    kiln_kernel_release(b.spin);
    kiln_context_destroy(b.ctx);
    return ok ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}
