/* The chaos suite's machinery (test-chaos.c): seeds, random fault plans, a
 * governed context per schedule, the check every operation passes through,
 * and the checks after each schedule. Included by test-chaos.c only. */
#ifndef KILN_TEST_CHAOS_SUPPORT_H
#define KILN_TEST_CHAOS_SUPPORT_H

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kiln/kiln.h>

#include "backends/fault/fault_plan.h"
#include "core/core_types.h"
#include "core/health.h"
#include "govern/audit.h"
#include "govern/quota.h"
#include "test-temp-dir.h"

/* A number from the environment, or fallback when unset. */
static inline uint64_t chaos_env_number(const char *name, uint64_t fallback)
{
    const char *text = getenv(name);
    return text && *text ? strtoull(text, NULL, 0) : fallback;
}

/* ---- seeds ---------------------------------------------------------- */

/* splitmix64 (Steele, Lea, Flood 2014), the generator the fault plan uses
 * too: any seed gives a well-mixed sequence, so seed + index derives
 * independent schedules from one master seed. */
#define CHAOS_SPLITMIX_GAMMA 0x9e3779b97f4a7c15ull
#define CHAOS_SPLITMIX_MUL1 0xbf58476d1ce4e5b9ull
#define CHAOS_SPLITMIX_MUL2 0x94d049bb133111ebull

typedef struct chaos_rng {
    uint64_t state;
} chaos_rng;

static inline uint64_t chaos_next(chaos_rng *r)
{
    uint64_t z = (r->state += CHAOS_SPLITMIX_GAMMA);
    z = (z ^ (z >> 30)) * CHAOS_SPLITMIX_MUL1;
    z = (z ^ (z >> 27)) * CHAOS_SPLITMIX_MUL2;
    return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. The modulo bias (n / 2^64) is irrelevant here. */
static inline uint32_t chaos_below(chaos_rng *r, uint32_t n)
{
    return (uint32_t)(chaos_next(r) % n);
}

/* The seed of schedule index under master: one splitmix step from a state
 * that differs per index, so neighbouring indices share nothing. */
static inline uint64_t chaos_schedule_seed(uint64_t master, uint64_t index)
{
    chaos_rng r = {.state = master ^ (index * CHAOS_SPLITMIX_MUL1)};
    return chaos_next(&r);
}

/* ---- random fault plans --------------------------------------------- */

/* Longest plan text: a 64-bit seed, a mode, six call names, a status. */
#define CHAOS_PLAN_TEXT_MAX 320

/* The call sets a plan selects from: whole ports, single calls, and the
 * pairs a workload leans on. */
static const char *const chaos_call_sets[] = {
    "*",
    "memory.*",
    "execution.*",
    "compile.*",
    "memory.alloc",
    "memory.write,memory.read",
    "memory.read",
    "execution.launch",
    "execution.launch,execution.synchronize",
    "memory.alloc,execution.launch",
    "execution.stream_create,memory.alloc",
    "compile.module_load,compile.compile",
    "compile.get_function,compile.module_binary",
    "execution.event_record,execution.event_wait,execution.synchronize",
    "execution.health,execution.launch",
    "memory.copy,memory.fill,memory.write",
};
#define CHAOS_CALL_SET_COUNT (sizeof chaos_call_sets / sizeof chaos_call_sets[0])

/* The statuses a plan returns; the device statuses make half of the list
 * because degradation and readmission are what the suite is most about. */
static const char *const chaos_statuses[] = {
    "device_fault", "device_fault", "device_fault", "device_fault", "device_lost", "device_lost",
    "device", "out_of_memory", "out_of_host_memory", "io", "internal", "unsupported",
};
#define CHAOS_STATUS_COUNT (sizeof chaos_statuses / sizeof chaos_statuses[0])

/* Bounds of the random plans. Calls are numbered over the selected calls
 * of one schedule: a few dozen for "*", a handful for one call name, so
 * numbers past 16 would seldom fire. */
#define CHAOS_CALL_NUMBER_MAX 16u
#define CHAOS_SCHEDULE_ENTRIES_MAX 6u
#define CHAOS_LIMIT_MAX 4u
/* Probabilities from 2% to 40%, in percent. */
#define CHAOS_PERCENT_MIN 2u
#define CHAOS_PERCENT_SPAN 39u

enum chaos_plan_kind {
    CHAOS_PLAN_NONE, /* the control: nothing fails, everything must work */
    CHAOS_PLAN_COUNT,
    CHAOS_PLAN_FROM,
    CHAOS_PLAN_PROBABILITY,
    CHAOS_PLAN_SCHEDULE,
    CHAOS_PLAN_KINDS
};

/* The device statuses open the list: a workload about device faults (the
 * fallback queues) draws from these only. */
#define CHAOS_DEVICE_STATUS_COUNT 6u

/* Writes a random plan's text form (fault_plan.h grammar) into out; with
 * device_only, its status is a device status. */
static inline void chaos_random_plan(chaos_rng *r, int device_only, char *out, size_t size)
{
    unsigned kind = chaos_below(r, CHAOS_PLAN_KINDS);
    if (kind == CHAOS_PLAN_NONE) {
        snprintf(out, size, "none");
        return;
    }
    int n = snprintf(out, size, "calls=%s;status=%s",
                     chaos_call_sets[chaos_below(r, CHAOS_CALL_SET_COUNT)],
                     chaos_statuses[chaos_below(r, device_only ? CHAOS_DEVICE_STATUS_COUNT
                                                               : CHAOS_STATUS_COUNT)]);
    size_t used = (size_t)n;
    if (kind == CHAOS_PLAN_COUNT) {
        used += (size_t)snprintf(out + used, size - used, ";count=%u",
                                 1 + chaos_below(r, CHAOS_CALL_NUMBER_MAX));
    } else if (kind == CHAOS_PLAN_FROM) {
        used += (size_t)snprintf(out + used, size - used, ";from=%u",
                                 1 + chaos_below(r, CHAOS_CALL_NUMBER_MAX));
    } else if (kind == CHAOS_PLAN_PROBABILITY) {
        used += (size_t)snprintf(out + used, size - used, ";seed=%" PRIu64 ";p=0.%02u",
                                 chaos_next(r),
                                 CHAOS_PERCENT_MIN + chaos_below(r, CHAOS_PERCENT_SPAN));
    } else {
        unsigned entries = 1 + chaos_below(r, CHAOS_SCHEDULE_ENTRIES_MAX);
        used += (size_t)snprintf(out + used, size - used, ";schedule=");
        for (unsigned i = 0; i < entries; i++)
            used += (size_t)snprintf(out + used, size - used, "%s%u", i ? "," : "",
                                     1 + chaos_below(r, CHAOS_CALL_NUMBER_MAX));
    }
    /* Half the plans stop after a few faults: the device is then readmitted
     * in the middle of the workload, not only after it. */
    if (chaos_below(r, 2))
        snprintf(out + used, size - used, ";limit=%u", 1 + chaos_below(r, CHAOS_LIMIT_MAX));
}

/* ---- the governed environment ---------------------------------------- */

/* The quotas every schedule runs under: small enough that the many-buffers
 * workload meets both of its limits, large enough for the other workloads
 * (two vectors of at most CHAOS_VECTOR_MAX floats each, per thread). Two
 * launches at once: a single-queue workload has at most one in flight
 * (each job reads its result before the next launch), the threads workload
 * up to three, so it meets the launch quota too. */
#define CHAOS_QUOTA_BYTES (128u * 1024u)
#define CHAOS_QUOTA_BUFFERS 24u
#define CHAOS_QUOTA_LAUNCHES 2u
/* Records between signed checkpoints: several per schedule's log. */
#define CHAOS_CHECKPOINT_EVERY 16u
#define CHAOS_PATH_MAX 320
/* The principals of the sessions workload, each under the same quotas. */
#define CHAOS_TENANT_0 "chaos-tenant-0"
#define CHAOS_TENANT_1 "chaos-tenant-1"

typedef struct chaos_env {
    uint64_t master_seed;
    char principal[KILN_NAME_MAX];
    char policy_path[CHAOS_PATH_MAX];
    char key_path[CHAOS_PATH_MAX];
    char log_path[CHAOS_PATH_MAX];
    audit_public_key key;
} chaos_env;

/* Writes the policy: the local user and the two tenants may do everything
 * the workloads do on the fault device and the CPU (where fallback queues
 * go), the local user may open sessions, all under quotas; a signed, non-durable audit log (the
 * suite checks the chain, not fdatasync, and must stay fast on CI) that
 * records every copy one by one, so that each failed copy can be found. */
static inline int chaos_write_policy(const chaos_env *env)
{
    FILE *f = fopen(env->policy_path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "version: 1\n"
            "rules:\n"
            "  - name: chaos-work\n"
            "    effect: allow\n"
            "    principals: [\"%s\", \"" CHAOS_TENANT_0 "\", \"" CHAOS_TENANT_1 "\"]\n"
            "    devices: [\"backend:fault\", \"backend:cpu\"]\n"
            "    actions: [device.use, program.build, buffer.alloc, buffer.copy,"
            " kernel.launch]\n"
            "  - name: chaos-sessions\n"
            "    effect: allow\n"
            "    principals: [\"%s\"]\n"
            "    devices: [\"*\"]\n"
            "    actions: [session.open]\n"
            "quotas:\n",
            env->principal, env->principal);
    const char *subjects[] = {env->principal, CHAOS_TENANT_0, CHAOS_TENANT_1};
    for (size_t i = 0; i < sizeof subjects / sizeof subjects[0]; i++)
        fprintf(f,
                "  - principal: \"%s\"\n"
                "    device_memory_bytes: %u\n"
                "    live_buffers: %u\n"
                "    concurrent_launches: %u\n",
                subjects[i], CHAOS_QUOTA_BYTES, CHAOS_QUOTA_BUFFERS, CHAOS_QUOTA_LAUNCHES);
    fprintf(f, "audit:\n"
            "  per_record: [deny, session, build, alloc, copy, reload, fault]\n"
            "  summarize: [launch]\n"
            "  checkpoint_every: %u\n"
            "  durable: false\n",
            CHAOS_CHECKPOINT_EVERY);
    return fclose(f) == 0 ? 0 : -1;
}

/* The temp dir, the local user's name, the policy and a signing key. */
static inline int chaos_env_open(chaos_env *env)
{
    if (test_temp_dir_make("kiln-chaos") != 0)
        return -1;
    kiln_context *plain = NULL;
    kiln_governance_info info;
    kiln_context_options o = {.size = sizeof o, .backends = KILN_BACKEND_BIT(KILN_BACKEND_CPU)};
    if (kiln_context_create(&plain, &o) != KILN_OK ||
        kiln_context_get_governance(plain, &info) != KILN_OK)
        return -1;
    snprintf(env->principal, sizeof env->principal, "%s", info.principal);
    kiln_context_destroy(plain);
    snprintf(env->policy_path, sizeof env->policy_path, "%s/policy.yaml", test_temp_dir);
    snprintf(env->log_path, sizeof env->log_path, "%s/audit.log", test_temp_dir);
    char prefix[TEST_TEMP_DIR_MAX + 16];
    snprintf(prefix, sizeof prefix, "%s/signing", test_temp_dir);
    snprintf(env->key_path, sizeof env->key_path, "%s.key", prefix);
    audit_secret_key secret;
    if (audit_key_generate(&secret) != KILN_OK || audit_key_save(&secret, prefix) != KILN_OK)
        return -1;
    env->key = secret.pub;
    audit_key_wipe(&secret);
    return chaos_write_policy(env);
}

/* A governed context with the backends given (the fault adapter among
 * them); a plan must be installed (the adapter opens only then). */
#define CHAOS_FAULT_ONLY KILN_BACKEND_BIT(KILN_BACKEND_FAULT)
#define CHAOS_FAULT_AND_CPU \
    (KILN_BACKEND_BIT(KILN_BACKEND_FAULT) | KILN_BACKEND_BIT(KILN_BACKEND_CPU))
static inline kiln_status chaos_context(const chaos_env *env, uint32_t flags, uint32_t backends,
                                        kiln_context **out)
{
    kiln_context_options o = {.size = sizeof o,
                              .backends = backends,
                              .flags = flags,
                              .policy = env->policy_path,
                              .audit_log = env->log_path,
                              .audit_key = env->key_path};
    return kiln_context_create(out, &o);
}

/* ---- the health clock ---------------------------------------------------- */

/* The breakers' clock (health.h) while the suite runs: it moves only with
 * the work, CHAOS_TICK_NS per operation, so that a degraded device refuses
 * a few operations without a probe, is probed at intervals that double
 * while probes fail, and may be readmitted in the middle of a workload, the
 * same way in every replay. chaos_leap passes the longest probe interval. */
#define CHAOS_TICK_NS 4000000ull /* 4 ms: the first probe comes after 3 operations */

static _Atomic uint64_t chaos_now_ns;

static inline uint64_t chaos_clock(void)
{
    return atomic_load(&chaos_now_ns);
}

static inline void chaos_leap(void)
{
    atomic_fetch_add(&chaos_now_ns, HEALTH_PROBE_MAX_NS);
}

/* ---- one schedule ------------------------------------------------------ */

#define CHAOS_MESSAGE_MAX 1024

/* What an operation is to the audit log: allocations and copies are
 * recorded one by one (the suite's policy says so), launches are counted
 * in per-second summaries, the rest is not recorded as such. */
typedef enum chaos_kind {
    CHAOS_OTHER,
    CHAOS_ALLOC,
    CHAOS_COPY,
    CHAOS_LAUNCH,
    CHAOS_KINDS
} chaos_kind;

typedef struct chaos_run {
    uint64_t index;
    uint64_t seed;
    const char *workload;
    char plan_text[CHAOS_PLAN_TEXT_MAX];
    fault_plan plan;
    kiln_context *ctx;
    kiln_device *dev;
    int quota_may_refuse; /* the workload runs into its quota on purpose */
    int queues_fall_back; /* its queues are KILN_QUEUE_CPU_FALLBACK ones */
    uint64_t fallbacks;   /* times its queues moved to the CPU */
    /* The fallback queue in use (one at a time, on one thread): the
     * operation during which it moves to the CPU absorbed a fault. */
    kiln_queue *fallback_queue;
    uint32_t fallbacks_seen;
    uint64_t absorbed[CHAOS_KINDS];
    pthread_mutex_t lock; /* the workloads' threads count and report here */
    uint64_t operations;
    uint64_t failures;       /* operations that returned a clear error */
    uint64_t quota_refusals; /* of which KILN_ERR_QUOTA */
    /* Failures that reached the adapter (neither a quota's nor a degraded
     * device's refusal), by kind; and of all of them, those whose status
     * was a device status: each is one device fault the core noted. */
    uint64_t reached[CHAOS_KINDS];
    uint64_t quota_refused[CHAOS_KINDS]; /* the launch summaries count these as failed */
    uint64_t device_faults;
    char violation[CHAOS_MESSAGE_MAX]; /* the first broken promise, "" when none */
} chaos_run;

/* Records the first broken promise; the schedule fails with it. */
static inline void chaos_violation(chaos_run *run, const char *format, ...)
{
    pthread_mutex_lock(&run->lock);
    if (run->violation[0] == '\0') {
        va_list ap;
        va_start(ap, format);
        vsnprintf(run->violation, sizeof run->violation, format, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&run->lock);
}

static inline int chaos_is_device_status(kiln_status st)
{
    return st == KILN_ERR_DEVICE_FAULT || st == KILN_ERR_DEVICE_LOST;
}

/* Whether an error is one this schedule's plan explains: the status it
 * injects; KILN_ERR_DEVICE_LOST while a device fault keeps the device out;
 * KILN_ERR_INTERNAL when a module's entry point could not be looked up
 * (the core names the missing entry); KILN_ERR_QUOTA where the workload
 * asks for more than its quota. */
static inline int chaos_status_explained(const chaos_run *run, kiln_status st)
{
    if (st == run->plan.status)
        return 1;
    if (st == KILN_ERR_DEVICE_LOST && chaos_is_device_status(run->plan.status))
        return 1;
    if (st == KILN_ERR_INTERNAL && (run->plan.selected & (1u << FAULT_OP_GET_FUNCTION)))
        return 1;
    return st == KILN_ERR_QUOTA && run->quota_may_refuse;
}

/* A refusal that never reaches the adapter: a quota's; a degraded or lost
 * device's (health.c), whose detail names no injected fault; a fallback
 * queue's for a buffer it left on the failed device (fallback.c: later work
 * on the queue may use only the buffers it moved, or CPU buffers). */
static inline int chaos_is_refusal(kiln_status st, const char *detail)
{
    if (st == KILN_ERR_QUOTA)
        return 1;
    return st == KILN_ERR_DEVICE_LOST && !strstr(detail, "injected fault") &&
           (strstr(detail, " after a fault") || strstr(detail, "when the queue fell back"));
}

/* A report of an earlier failure of a scheduled launch (launch_sched.c, on
 * an event's wait; sched.c, on the queue's next copy, marker or finish):
 * nothing new reached the adapter. */
static inline int chaos_is_report(const char *detail)
{
    return strncmp(detail, "the launch failed: ", strlen("the launch failed: ")) == 0 ||
           strncmp(detail, "an operation of the queue failed: ",
                   strlen("an operation of the queue failed: ")) == 0;
}

/* The promise every operation keeps: it works, or it returns a known
 * status with a detail, and only a fault (or a quota) explains a failure.
 * Returns whether it worked. */
static inline int chaos_op(chaos_run *run, chaos_kind kind, kiln_status st, const char *what)
{
    const char *detail = kiln_last_error();
    atomic_fetch_add(&chaos_now_ns, CHAOS_TICK_NS);
    pthread_mutex_lock(&run->lock);
    run->operations++;
    if (st != KILN_OK) {
        run->failures++;
        run->quota_refusals += st == KILN_ERR_QUOTA;
        run->quota_refused[kind] += st == KILN_ERR_QUOTA;
        if (!chaos_is_refusal(st, detail ? detail : "") && !chaos_is_report(detail ? detail : "")) {
            run->reached[kind]++;
            run->device_faults += chaos_is_device_status(st);
        }
    }
    pthread_mutex_unlock(&run->lock);
    if (st == KILN_OK)
        return 1;
    if (chaos_env_number("KILN_CHAOS_VERBOSE", 0) > 1)
        printf("#   %s: %s '%s'\n", what, kiln_status_name(st), detail ? detail : "");
    fault_stats stats;
    fault_plan_stats(&stats);
    if (strcmp(kiln_status_name(st), "KILN_ERR_UNKNOWN") == 0 || !detail || !detail[0])
        chaos_violation(run, "%s returned %d ('%s'): not a known status with a detail", what,
                        (int)st, detail ? detail : "(null)");
    else if (!chaos_status_explained(run, st))
        chaos_violation(run, "%s returned %s ('%s'), which the plan does not explain", what,
                        kiln_status_name(st), detail);
    else if (st != KILN_ERR_QUOTA && stats.total_injected == 0)
        chaos_violation(run, "%s failed with %s ('%s') before any fault was injected", what,
                        kiln_status_name(st), detail);
    else if (run->queues_fall_back && kind != CHAOS_ALLOC && kind != CHAOS_OTHER &&
             chaos_is_device_status(st) && !strstr(detail, "the queue fell back to the CPU"))
        chaos_violation(run, "%s on a fallback queue returned %s ('%s')", what,
                        kiln_status_name(st), detail);
    return 0;
}

/* chaos_op, and whether the fallback queue moved to the CPU meanwhile: an
 * operation that then worked absorbed the fault that moved it (one that
 * failed anyway, its buffer having stayed on the device, counts as failed). */
static inline int chaos_queue_op(chaos_run *run, chaos_kind kind, kiln_status st, const char *what)
{
    int ok = chaos_op(run, kind, st, what);
    kiln_queue_info info = {.size = sizeof info};
    if (run->fallback_queue && kiln_queue_get_info(run->fallback_queue, &info) == KILN_OK &&
        info.fallbacks > run->fallbacks_seen) {
        if (ok)
            run->absorbed[kind] += info.fallbacks - run->fallbacks_seen;
        run->fallbacks_seen = info.fallbacks;
    }
    return ok;
}

/* Held quota of the local user in ctx's table, by resource. */
static inline void chaos_quota_usage(kiln_context *ctx, const char *principal, quota_usage *out)
{
    memset(out, 0, sizeof *out);
    core_governance *g = ctx->gov;
    pthread_mutex_lock(&g->lock);
    kiln_status st = quota_usage_get(g->quotas, QUOTA_SUBJECT_PRINCIPAL, principal, out);
    pthread_mutex_unlock(&g->lock);
    if (st != KILN_OK)
        memset(out, 0xff, sizeof *out); /* no account: fails every check that reads it */
}

/* ---- what the audit log shows ------------------------------------------- */

/* What failed, as one schedule's log records it. */
typedef struct chaos_log_counts {
    uint64_t allocs;        /* "buffer.alloc" events with a failed outcome */
    uint64_t copies;        /* "buffer.copy" events (writes, reads, copies, fills) likewise */
    uint64_t launches;      /* "failed" launches of the summaries */
    uint64_t device_faults; /* "device.fault" events */
    uint64_t readmissions;  /* "device.readmit" events */
    uint64_t fallbacks;     /* "queue.fallback" events */
} chaos_log_counts;

/* Longest line of a schedule's log: a record's text fields are cut at
 * 1024 bytes each and a record has fewer than ten of them. */
#define CHAOS_LOG_LINE_MAX 16384

static inline uint64_t chaos_log_field(const char *line, const char *field)
{
    const char *at = strstr(line, field);
    return at ? strtoull(at + strlen(field), NULL, 10) : 0;
}

/* Counts in path's records (one segment: a schedule never rotates) what
 * failed. A failure is any outcome but KILN_OK and KILN_ERR_QUOTA (a
 * quota's refusal, which the workloads count apart). Field order is fixed
 * by the format, so each field is found by its exact spelling. */
static inline int chaos_count_log(const char *path, chaos_log_counts *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    static char line[CHAOS_LOG_LINE_MAX];
    while (fgets(line, sizeof line, f)) {
        int failed = !strstr(line, "\"outcome\":\"KILN_OK\"") &&
                     !strstr(line, "\"outcome\":\"KILN_ERR_QUOTA\"");
        if (strstr(line, "\"type\":\"summary\""))
            out->launches += chaos_log_field(line, "\"failed\":");
        else if (strstr(line, "\"action\":\"device.fault\""))
            out->device_faults++;
        else if (strstr(line, "\"action\":\"device.readmit\""))
            out->readmissions++;
        else if (strstr(line, "\"action\":\"queue.fallback\""))
            out->fallbacks++;
        else if (failed && strstr(line, "\"action\":\"buffer.alloc\""))
            out->allocs++;
        else if (failed && strstr(line, "\"action\":\"buffer.copy\""))
            out->copies++;
    }
    fclose(f);
    return 0;
}

/* ---- totals over the suite ---------------------------------------------- */

typedef struct chaos_totals {
    uint64_t schedules;
    uint64_t faults;        /* faults the adapter injected */
    uint64_t device_faults; /* device.fault records: the adapter's device faults */
    uint64_t operations;
    uint64_t failures; /* operations that returned a clear error */
    uint64_t quota_refusals;
    uint64_t readmissions; /* schedules that left the device out, then readmitted it */
    uint64_t fallbacks;    /* queues that moved to the CPU */
} chaos_totals;

/* How many schedules a run makes: KILN_CHAOS_SCHEDULES, else the CI default. */
#define CHAOS_SCHEDULES_DEFAULT 200u


/* KILN_CHAOS_SEED replays a run; otherwise the clock and pid pick one. */
static inline uint64_t chaos_master_seed(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    chaos_rng r = {.state = (uint64_t)now.tv_sec ^ ((uint64_t)now.tv_nsec << 20) ^
                            ((uint64_t)getpid() << 40)};
    return chaos_env_number("KILN_CHAOS_SEED", chaos_next(&r));
}

#endif
