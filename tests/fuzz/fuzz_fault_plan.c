/* libFuzzer target for the fault adapter's plan parser (the text form of
 * $KILN_FAULT, src/backends/fault/fault_plan.h). Each input, up to its
 * first NUL, is parsed; what must hold:
 * - KILN_OK or KILN_ERR_INVALID_ARG, nothing else; on an error the plan
 *   fails nothing (mode none);
 * - a parsed plan is in range: a known mode, the schedule within its array,
 *   a probability in [0, 1], a count or start of at least 1, only known
 *   calls selected, and an error status to inject;
 * - parsing is a function of the text: the same text, and the text with an
 *   empty item (";") appended, give the same plan (but for "none");
 * - installed and run for a few calls of every kind, the plan injects only
 *   into selected calls, never more than its limit, and nothing at all in
 *   mode none. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/fault/fault_plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Calls of each kind driven through an installed plan. */
#define FUZZ_CALLS_PER_OP 4

static int same_plan(const fault_plan *a, const fault_plan *b)
{
    return a->mode == b->mode && a->seed == b->seed &&
           (a->probability == b->probability ||
            (isnan(a->probability) && isnan(b->probability))) &&
           a->nth == b->nth && a->schedule_length == b->schedule_length &&
           memcmp(a->schedule, b->schedule, a->schedule_length * sizeof a->schedule[0]) == 0 &&
           a->limit == b->limit && a->selected == b->selected && a->status == b->status;
}

static void check_in_range(const fault_plan *plan)
{
    const uint32_t known = (uint32_t)((1ull << FAULT_OP_COUNT) - 1u);
    if (plan->mode > FAULT_MODE_SCHEDULE || plan->schedule_length > FAULT_SCHEDULE_MAX ||
        (plan->selected & ~known) != 0 || plan->status >= KILN_OK)
        abort();
    if (plan->mode == FAULT_MODE_PROBABILITY &&
        !(plan->probability >= 0.0 && plan->probability <= 1.0))
        abort();
    if ((plan->mode == FAULT_MODE_COUNT || plan->mode == FAULT_MODE_FROM) && plan->nth < 1)
        abort();
}

static void check_injection(const fault_plan *plan)
{
    fault_plan_set(plan);
    for (int round = 0; round < FUZZ_CALLS_PER_OP; round++)
        for (int op = 0; op < FAULT_OP_COUNT; op++) {
            kiln_status st = fault_plan_enter((fault_op)op);
            if (st != KILN_OK && (st != plan->status || !(plan->selected & (1u << op))))
                abort();
        }
    fault_stats stats;
    fault_plan_stats(&stats);
    if (plan->limit && stats.total_injected > plan->limit)
        abort();
    if (plan->mode == FAULT_MODE_NONE && stats.total_injected != 0)
        abort();
    fault_plan_clear();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 2);
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    fault_plan plan, again;
    kiln_status st = fault_plan_parse(text, &plan);
    if (st != KILN_OK && st != KILN_ERR_INVALID_ARG)
        abort();
    if (st != KILN_OK) {
        if (plan.mode != FAULT_MODE_NONE)
            abort();
        free(text);
        return 0;
    }
    check_in_range(&plan);
    if (fault_plan_parse(text, &again) != KILN_OK || !same_plan(&plan, &again))
        abort();
    /* "none" is a whole plan, not an item: "none;" is not in the grammar. */
    size_t length = strlen(text);
    text[length] = ';';
    text[length + 1] = '\0';
    if (strcmp(text, "none;") != 0 &&
        (fault_plan_parse(text, &again) != KILN_OK || !same_plan(&plan, &again)))
        abort();
    check_injection(&plan);
    free(text);
    return 0;
}
