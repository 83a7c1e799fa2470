/* The fault plan: which port calls the fault adapter fails, and how.
 *
 * One plan is installed per process (fault_plan_set from a test, or the
 * KILN_FAULT environment variable at the adapter's first open). Every call
 * through the adapter is counted; a call whose name the plan selects gets a
 * number (1, 2, ... over all selected calls together) and fails when the
 * plan's mode says so. Deterministic: the same plan, seed and sequence of
 * calls fail the same calls.
 *
 * Text form (KILN_FAULT), items separated by ';', no spaces:
 *   plan     = "none" | "" | item *(";" item)
 *   item     = "seed=" UINT64          PRNG seed for p= (default 0)
 *            | "p=" REAL               fail each selected call with probability REAL in [0,1]
 *            | "count=" N              fail the Nth selected call (N >= 1)
 *            | "from=" N               fail every selected call from the Nth on
 *            | "schedule=" N *("," N) fail exactly these selected calls
 *            | "calls=" NAME *("," NAME)  "*", "memory.*" or a call name (fault_op_name)
 *            | "status=" STATUS        device_fault (default), device_lost, out_of_memory,
 *                                      ... or the enum name "KILN_ERR_DEVICE_FAULT"
 *            | "limit=" N              inject at most N faults
 * At most one of p, count, from, schedule; without one nothing fails.
 * calls defaults to "*". Example:
 *   KILN_FAULT="seed=7;p=0.05;calls=memory.alloc,execution.launch;status=device_fault" */
#ifndef KILN_FAULT_PLAN_H
#define KILN_FAULT_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include <kiln/kiln.h>

/* Every port call that can fail, named "port.function". */
typedef enum fault_op {
    FAULT_OP_BACKEND_OPEN,
    FAULT_OP_DEVICE_OPEN,
    FAULT_OP_DEVICE_INFO,
    FAULT_OP_COMPILE,
    FAULT_OP_MODULE_BINARY,
    FAULT_OP_MODULE_LOAD,
    FAULT_OP_GET_FUNCTION,
    FAULT_OP_CACHE_IDENTITY,
    FAULT_OP_ALLOC,
    FAULT_OP_WRITE,
    FAULT_OP_READ,
    FAULT_OP_COPY,
    FAULT_OP_FILL,
    FAULT_OP_USAGE,
    FAULT_OP_HOST_ALLOC,
    FAULT_OP_STREAM_CREATE,
    FAULT_OP_LAUNCH,
    FAULT_OP_SYNCHRONIZE,
    FAULT_OP_EVENT_RECORD,
    FAULT_OP_EVENT_WAIT,
    FAULT_OP_EVENT_ELAPSED,
    FAULT_OP_HEALTH,
    FAULT_OP_COUNT
} fault_op;

typedef enum fault_mode {
    FAULT_MODE_NONE = 0,    /* pass everything through */
    FAULT_MODE_COUNT,       /* the Nth selected call */
    FAULT_MODE_FROM,        /* every selected call from the Nth on */
    FAULT_MODE_PROBABILITY, /* each selected call with probability p */
    FAULT_MODE_SCHEDULE     /* the listed selected calls */
} fault_mode;

/* Longest schedule= list: chaos tests name a handful of calls. */
#define FAULT_SCHEDULE_MAX 64

typedef struct fault_plan {
    fault_mode mode;
    uint64_t seed;
    double probability;
    uint64_t nth; /* COUNT and FROM */
    uint64_t schedule[FAULT_SCHEDULE_MAX];
    size_t schedule_length;
    uint64_t limit;    /* most faults to inject; 0 = no limit */
    uint32_t selected; /* bit (1u << fault_op) per selected call */
    kiln_status status;
} fault_plan;

typedef struct fault_stats {
    uint64_t seen[FAULT_OP_COUNT];     /* calls through the adapter, per call */
    uint64_t injected[FAULT_OP_COUNT]; /* of which failed by the plan */
    uint64_t selected;                 /* calls the plan selected, all names */
    uint64_t total_seen;
    uint64_t total_injected;
} fault_stats;

/* "memory.alloc", ...; NULL for a value out of range. */
const char *fault_op_name(fault_op op);

/* Parses the text form. KILN_ERR_INVALID_ARG with a detail naming the bad
 * item on bad grammar; *out is then a plan that fails nothing. */
kiln_status fault_plan_parse(const char *text, fault_plan *out);

/* Installs plan for the whole process (counters, PRNG and the health it
 * forced start over) and enables the adapter. */
void fault_plan_set(const fault_plan *plan);

/* Removes the plan: nothing fails, and the adapter opens again only if
 * KILN_FAULT is set. Counters are kept until the next plan. */
void fault_plan_clear(void);

/* Counters since the current plan was installed. */
void fault_plan_stats(fault_stats *out);

/* Enables the adapter: KILN_OK if a plan is installed, else installs the
 * plan KILN_FAULT gives. KILN_ERR_BACKEND_UNAVAILABLE when neither exists,
 * KILN_ERR_INVALID_ARG when KILN_FAULT does not parse; reason says why. */
kiln_status fault_plan_enable(char *reason, size_t reason_size);

/* Counts one call of op and decides it: KILN_OK to forward it, else the
 * plan's status with the detail "injected fault: OP call N". */
kiln_status fault_plan_enter(fault_op op);

/* The health an injected device fault forces (DEGRADED after
 * KILN_ERR_DEVICE_FAULT, LOST after KILN_ERR_DEVICE_LOST) while the plan may
 * still inject faults; KILN_HEALTH_HEALTHY when nothing is forced. */
kiln_health fault_plan_forced_health(void);

#endif
