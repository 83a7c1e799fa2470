/* The fault plan: parsing KILN_FAULT, the process-wide plan and its
 * counters, and the decision for each call (see fault_plan.h). */
#include "fault_plan.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../util/fail.h"

#define FAULT_ENV "KILN_FAULT"
#define FAULT_ALL_CALLS ((1u << FAULT_OP_COUNT) - 1u)
#define FAULT_ENUM_PREFIX "KILN_ERR_"
/* Longest item echoed back in a parse error. */
#define FAULT_ITEM_SHOWN 64

/* splitmix64 (Steele, Lea, Flood 2014): one 64-bit word of state, every
 * seed (0 included) gives a full-period, well-mixed sequence. */
#define FAULT_SPLITMIX_GAMMA 0x9e3779b97f4a7c15ull
#define FAULT_SPLITMIX_MUL1 0xbf58476d1ce4e5b9ull
#define FAULT_SPLITMIX_MUL2 0x94d049bb133111ebull
/* The top 53 bits make a uniform double in [0, 1). */
#define FAULT_DOUBLE_BITS 53
#define FAULT_DOUBLE_SCALE (1.0 / (double)(1ull << FAULT_DOUBLE_BITS))

_Static_assert(FAULT_OP_COUNT <= 32, "fault_plan.selected is a 32-bit mask");

static const char *const fault_op_names[FAULT_OP_COUNT] = {
    [FAULT_OP_BACKEND_OPEN] = "backend.open",
    [FAULT_OP_DEVICE_OPEN] = "backend.device_open",
    [FAULT_OP_DEVICE_INFO] = "backend.device_info",
    [FAULT_OP_COMPILE] = "compile.compile",
    [FAULT_OP_MODULE_BINARY] = "compile.module_binary",
    [FAULT_OP_MODULE_LOAD] = "compile.module_load",
    [FAULT_OP_GET_FUNCTION] = "compile.get_function",
    [FAULT_OP_CACHE_IDENTITY] = "compile.cache_identity",
    [FAULT_OP_ALLOC] = "memory.alloc",
    [FAULT_OP_WRITE] = "memory.write",
    [FAULT_OP_READ] = "memory.read",
    [FAULT_OP_COPY] = "memory.copy",
    [FAULT_OP_FILL] = "memory.fill",
    [FAULT_OP_USAGE] = "memory.usage",
    [FAULT_OP_HOST_ALLOC] = "memory.host_alloc",
    [FAULT_OP_STREAM_CREATE] = "execution.stream_create",
    [FAULT_OP_LAUNCH] = "execution.launch",
    [FAULT_OP_SYNCHRONIZE] = "execution.synchronize",
    [FAULT_OP_EVENT_RECORD] = "execution.event_record",
    [FAULT_OP_EVENT_WAIT] = "execution.event_wait",
    [FAULT_OP_EVENT_ELAPSED] = "execution.event_elapsed_ns",
    [FAULT_OP_HEALTH] = "execution.health",
};

/* The statuses an adapter can return, by their short names. */
static const struct {
    const char *name;
    kiln_status status;
} fault_statuses[] = {
    {"device_fault", KILN_ERR_DEVICE_FAULT},
    {"device_lost", KILN_ERR_DEVICE_LOST},
    {"device", KILN_ERR_DEVICE},
    {"backend_unavailable", KILN_ERR_BACKEND_UNAVAILABLE},
    {"out_of_memory", KILN_ERR_OUT_OF_MEMORY},
    {"out_of_host_memory", KILN_ERR_OUT_OF_HOST_MEMORY},
    {"io", KILN_ERR_IO},
    {"compile", KILN_ERR_COMPILE},
    {"no_compiler", KILN_ERR_NO_COMPILER},
    {"unsupported", KILN_ERR_UNSUPPORTED},
    {"invalid_arg", KILN_ERR_INVALID_ARG},
    {"internal", KILN_ERR_INTERNAL},
};

static struct {
    pthread_mutex_t lock;
    int installed;
    fault_plan plan;
    uint64_t rng;
    kiln_health forced; /* what the last injected device fault left */
    fault_stats stats;
} fault_state = {.lock = PTHREAD_MUTEX_INITIALIZER};

const char *fault_op_name(fault_op op)
{
    return (unsigned)op < FAULT_OP_COUNT ? fault_op_names[op] : NULL;
}

static uint64_t fault_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += FAULT_SPLITMIX_GAMMA);
    z = (z ^ (z >> 30)) * FAULT_SPLITMIX_MUL1;
    z = (z ^ (z >> 27)) * FAULT_SPLITMIX_MUL2;
    return z ^ (z >> 31);
}

/* ---- parsing ---------------------------------------------------------- */

/* One item of the text: [text, text + length). */
typedef struct fault_item {
    const char *text;
    size_t length;
} fault_item;

static kiln_status fault_bad(const fault_item *item, const char *why)
{
    return util_fail(KILN_ERR_INVALID_ARG, FAULT_ENV ": bad item '%.*s': %s",
                     (int)(item->length < FAULT_ITEM_SHOWN ? item->length : FAULT_ITEM_SHOWN),
                     item->text, why);
}

/* A decimal number filling [s, s + n); no sign, no spaces. */
static int fault_parse_uint(const char *s, size_t n, uint64_t *out)
{
    char digits[24];
    if (n == 0 || n >= sizeof digits)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    memcpy(digits, s, n);
    digits[n] = '\0';
    errno = 0;
    unsigned long long v = strtoull(digits, NULL, 10);
    if (errno == ERANGE)
        return 0;
    *out = v;
    return 1;
}

static int fault_parse_probability(const char *s, size_t n, double *out)
{
    char text[32];
    if (n == 0 || n >= sizeof text || !(isdigit((unsigned char)s[0]) || s[0] == '.'))
        return 0;
    memcpy(text, s, n);
    text[n] = '\0';
    char *end = NULL;
    double p = strtod(text, &end);
    if (*end != '\0' || !isfinite(p) || p < 0.0 || p > 1.0)
        return 0;
    *out = p;
    return 1;
}

static int fault_parse_status(const char *s, size_t n, kiln_status *out)
{
    size_t prefix = strlen(FAULT_ENUM_PREFIX);
    if (n > prefix && strncmp(s, FAULT_ENUM_PREFIX, prefix) == 0) {
        s += prefix;
        n -= prefix;
    }
    for (size_t i = 0; i < sizeof fault_statuses / sizeof fault_statuses[0]; i++)
        if (strlen(fault_statuses[i].name) == n && strncasecmp(fault_statuses[i].name, s, n) == 0) {
            *out = fault_statuses[i].status;
            return 1;
        }
    return 0;
}

/* Bits of the calls one name selects: "*", "port.*" or an exact name. */
static uint32_t fault_select(const char *s, size_t n)
{
    if (n == 1 && s[0] == '*')
        return FAULT_ALL_CALLS;
    int prefix = n >= 2 && s[n - 2] == '.' && s[n - 1] == '*';
    uint32_t bits = 0;
    for (unsigned op = 0; op < FAULT_OP_COUNT; op++) {
        const char *name = fault_op_names[op];
        if (prefix ? strncmp(name, s, n - 1) == 0
                   : strlen(name) == n && strncmp(name, s, n) == 0)
            bits |= 1u << op;
    }
    return bits;
}

/* Parses "a,b,c" through one_value, which reads [s, s + n). */
static kiln_status fault_parse_list(const fault_item *item, const char *value, size_t length,
                                    fault_plan *plan, int is_schedule)
{
    const char *end = value + length;
    if (length == 0)
        return fault_bad(item, "empty list");
    while (value <= end) {
        const char *comma = memchr(value, ',', (size_t)(end - value));
        size_t n = comma ? (size_t)(comma - value) : (size_t)(end - value);
        if (is_schedule) {
            uint64_t call;
            if (!fault_parse_uint(value, n, &call) || call == 0)
                return fault_bad(item, "schedule entries are call numbers >= 1");
            if (plan->schedule_length == FAULT_SCHEDULE_MAX)
                return fault_bad(item, "schedule lists more than 64 calls");
            plan->schedule[plan->schedule_length++] = call;
        } else {
            uint32_t bits = fault_select(value, n);
            if (!bits)
                return fault_bad(item, "unknown call name (use *, port.* or e.g. memory.alloc)");
            plan->selected |= bits;
        }
        if (!comma)
            break;
        value = comma + 1;
    }
    return KILN_OK;
}

static kiln_status fault_set_mode(const fault_item *item, fault_plan *plan, fault_mode mode)
{
    if (plan->mode != FAULT_MODE_NONE && plan->mode != mode)
        return fault_bad(item, "only one of p, count, from, schedule may be given");
    plan->mode = mode;
    return KILN_OK;
}

static kiln_status fault_parse_item(const fault_item *item, fault_plan *plan, int *calls_given)
{
    const char *eq = memchr(item->text, '=', item->length);
    if (!eq)
        return fault_bad(item, "expected key=value");
    size_t key_length = (size_t)(eq - item->text);
    const char *value = eq + 1;
    size_t n = item->length - key_length - 1;
#define FAULT_KEY(k) (key_length == strlen(k) && strncmp(item->text, (k), key_length) == 0)
    if (FAULT_KEY("seed"))
        return fault_parse_uint(value, n, &plan->seed) ? KILN_OK
                                                       : fault_bad(item, "seed is a decimal number");
    if (FAULT_KEY("limit"))
        return fault_parse_uint(value, n, &plan->limit) ? KILN_OK
                                                        : fault_bad(item, "limit is a decimal number");
    if (FAULT_KEY("status"))
        return fault_parse_status(value, n, &plan->status)
                   ? KILN_OK
                   : fault_bad(item, "unknown status (e.g. device_fault, out_of_memory)");
    if (FAULT_KEY("calls")) {
        if (!*calls_given)
            plan->selected = 0;
        *calls_given = 1;
        return fault_parse_list(item, value, n, plan, 0);
    }
    if (FAULT_KEY("schedule")) {
        kiln_status st = fault_set_mode(item, plan, FAULT_MODE_SCHEDULE);
        return st != KILN_OK ? st : fault_parse_list(item, value, n, plan, 1);
    }
    if (FAULT_KEY("p")) {
        kiln_status st = fault_set_mode(item, plan, FAULT_MODE_PROBABILITY);
        if (st == KILN_OK && !fault_parse_probability(value, n, &plan->probability))
            st = fault_bad(item, "p is a number from 0 to 1");
        return st;
    }
    if (FAULT_KEY("count") || FAULT_KEY("from")) {
        kiln_status st =
            fault_set_mode(item, plan, FAULT_KEY("count") ? FAULT_MODE_COUNT : FAULT_MODE_FROM);
        if (st == KILN_OK && (!fault_parse_uint(value, n, &plan->nth) || plan->nth == 0))
            st = fault_bad(item, "call numbers start at 1");
        return st;
    }
#undef FAULT_KEY
    return fault_bad(item, "unknown key (seed, p, count, from, schedule, calls, status, limit)");
}

static void fault_plan_reset(fault_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    plan->mode = FAULT_MODE_NONE;
    plan->selected = FAULT_ALL_CALLS;
    plan->status = KILN_ERR_DEVICE_FAULT;
}

kiln_status fault_plan_parse(const char *text, fault_plan *out)
{
    fault_plan_reset(out);
    if (!text || strcmp(text, "none") == 0)
        return KILN_OK;
    fault_plan plan;
    fault_plan_reset(&plan);
    int calls_given = 0;
    const char *p = text;
    while (*p) {
        fault_item item = {.text = p, .length = strcspn(p, ";")};
        if (item.length > 0) {
            kiln_status st = fault_parse_item(&item, &plan, &calls_given);
            if (st != KILN_OK)
                return st;
        }
        p += item.length;
        if (*p == ';')
            p++;
    }
    *out = plan;
    return KILN_OK;
}

/* ---- the installed plan ----------------------------------------------- */

static void fault_install_locked(const fault_plan *plan)
{
    fault_state.plan = *plan;
    fault_state.installed = 1;
    fault_state.rng = plan->seed;
    fault_state.forced = KILN_HEALTH_HEALTHY;
    memset(&fault_state.stats, 0, sizeof fault_state.stats);
}

void fault_plan_set(const fault_plan *plan)
{
    pthread_mutex_lock(&fault_state.lock);
    fault_install_locked(plan);
    pthread_mutex_unlock(&fault_state.lock);
}

void fault_plan_clear(void)
{
    pthread_mutex_lock(&fault_state.lock);
    fault_state.installed = 0;
    fault_plan_reset(&fault_state.plan);
    fault_state.forced = KILN_HEALTH_HEALTHY;
    pthread_mutex_unlock(&fault_state.lock);
}

void fault_plan_stats(fault_stats *out)
{
    pthread_mutex_lock(&fault_state.lock);
    *out = fault_state.stats;
    pthread_mutex_unlock(&fault_state.lock);
}

kiln_status fault_plan_enable(char *reason, size_t reason_size)
{
    kiln_status st = KILN_OK;
    pthread_mutex_lock(&fault_state.lock);
    if (!fault_state.installed) {
        const char *env = getenv(FAULT_ENV);
        fault_plan plan;
        if (!env)
            st = util_fail(KILN_ERR_BACKEND_UNAVAILABLE,
                           "fault adapter not enabled (set " FAULT_ENV ")");
        else if ((st = fault_plan_parse(env, &plan)) == KILN_OK)
            fault_install_locked(&plan);
    }
    pthread_mutex_unlock(&fault_state.lock);
    if (st != KILN_OK && reason && reason_size)
        snprintf(reason, reason_size, "%s", util_last_error());
    return st;
}

/* Whether the plan can still inject a fault (lock held). */
static int fault_plan_live(void)
{
    const fault_plan *plan = &fault_state.plan;
    const fault_stats *stats = &fault_state.stats;
    if (plan->limit && stats->total_injected >= plan->limit)
        return 0;
    if (plan->mode == FAULT_MODE_COUNT)
        return stats->selected < plan->nth;
    if (plan->mode == FAULT_MODE_FROM)
        return 1;
    if (plan->mode == FAULT_MODE_PROBABILITY)
        return plan->probability > 0.0;
    /* A schedule lives until its last call number has passed; NONE has
     * an empty one. */
    for (size_t i = 0; i < plan->schedule_length; i++)
        if (plan->schedule[i] > stats->selected)
            return 1;
    return 0;
}

/* Whether selected call number call fails (lock held). */
static int fault_decide(uint64_t call)
{
    const fault_plan *plan = &fault_state.plan;
    /* The draw is taken for every selected call, so which calls fail does
     * not depend on the limit or on earlier decisions. */
    int hit = 0;
    if (plan->mode == FAULT_MODE_PROBABILITY) {
        double u = (double)(fault_splitmix64(&fault_state.rng) >> (64 - FAULT_DOUBLE_BITS)) *
                   FAULT_DOUBLE_SCALE;
        hit = u < plan->probability;
    } else if (plan->mode == FAULT_MODE_COUNT) {
        hit = call == plan->nth;
    } else if (plan->mode == FAULT_MODE_FROM) {
        hit = call >= plan->nth;
    } else if (plan->mode == FAULT_MODE_SCHEDULE) {
        for (size_t i = 0; i < plan->schedule_length && !hit; i++)
            hit = plan->schedule[i] == call;
    }
    if (plan->limit && fault_state.stats.total_injected >= plan->limit)
        hit = 0;
    return hit;
}

kiln_status fault_plan_enter(fault_op op)
{
    pthread_mutex_lock(&fault_state.lock);
    fault_stats *stats = &fault_state.stats;
    stats->seen[op]++;
    stats->total_seen++;
    int hit = 0;
    uint64_t call = 0;
    kiln_status status = fault_state.plan.status;
    if (fault_state.installed && (fault_state.plan.selected & (1u << op))) {
        call = ++stats->selected;
        hit = fault_decide(call);
    }
    if (hit) {
        stats->injected[op]++;
        stats->total_injected++;
        /* A lost device stays lost; a fault only degrades a healthy one. */
        if (status == KILN_ERR_DEVICE_LOST)
            fault_state.forced = KILN_HEALTH_LOST;
        else if (status == KILN_ERR_DEVICE_FAULT && fault_state.forced == KILN_HEALTH_HEALTHY)
            fault_state.forced = KILN_HEALTH_DEGRADED;
    }
    pthread_mutex_unlock(&fault_state.lock);
    if (!hit)
        return KILN_OK;
    return util_fail(status, "injected fault: %s call %llu", fault_op_names[op],
                     (unsigned long long)call);
}

kiln_health fault_plan_forced_health(void)
{
    pthread_mutex_lock(&fault_state.lock);
    kiln_health health = fault_plan_live() ? fault_state.forced : KILN_HEALTH_HEALTHY;
    pthread_mutex_unlock(&fault_state.lock);
    return health;
}
