/* Analysis for the C work-item loops of a kernel with barrier(): which
 * statements run once per group (those containing barrier(), and uniform
 * loops that are interchanged with the work-item loop), which variables
 * cross a loop boundary and must be kept per work-item ("promoted"), which
 * of those can simply be recomputed, and which parameters are written. */
#include "emit.h"

#define GROUP_REGION (-2) /* a condition evaluated once per group */

static void note_var(lang_var *v, int region)
{
    if (v->space != LANG_SPACE_PRIVATE)
        return; /* shared and constant memory is one copy per group anyway */
    if (v->is_param || v->uniform_loop)
        return; /* uniform: parameters unless written, interchanged counters */
    if (region == GROUP_REGION)
        v->group_use = 1;
    if (region == GROUP_REGION || (v->region >= 0 && v->region != region))
        v->promoted = 1;
    if (v->region < 0)
        v->region = region;
}

/* Marks the variable that a write lands in; a write through a pointer
 * lands in memory, not in the pointer variable. */
static void note_write(const lang_expr *target)
{
    while (target && ((target->kind == LANG_E_MEMBER && target->op == '.') ||
                      (target->kind == LANG_E_INDEX && target->a->type->kind == LANG_T_ARRAY)))
        target = target->a;
    if (!target || target->kind != LANG_E_IDENT || !target->var)
        return;
    target->var->written = 1;
    if (target->var->is_param)
        target->var->promoted = 1;
}

/* A value that can be recomputed in every work-item loop instead of being
 * stored per item: built from literals, unwritten parameters, index queries
 * and other such values, with no memory reads (memory changes across
 * barriers). Keeping local_id(0) as kiln_lx keeps the x loop vectorizable. */
static int recomputable(const lang_expr *e)
{
    if (!e)
        return 1;
    switch (e->kind) {
    case LANG_E_INT: case LANG_E_FLOAT: case LANG_E_BOOL: case LANG_E_SIZEOF:
        return 1;
    case LANG_E_IDENT:
        return e->var && e->var->space == LANG_SPACE_PRIVATE &&
               (e->var->is_param ? !e->var->promoted : e->var->remat) &&
               e->var->type->kind != LANG_T_ARRAY;
    case LANG_E_UNARY:
        if (e->op == '*' || e->op == '&' || e->op == LANG_P_INC || e->op == LANG_P_DEC)
            return 0;
        return recomputable(e->a);
    case LANG_E_BINARY: case LANG_E_COND: case LANG_E_CAST:
        return recomputable(e->a) && recomputable(e->b) && recomputable(e->c);
    case LANG_E_CALL:
        if (e->builtin < LANG_B_GLOBAL_ID || e->builtin > LANG_B_GLOBAL_SIZE)
            return 0;
        return recomputable(e->args[0]);
    default:
        return 0;
    }
}

/* Every work-item loop recomputes all of them, so their number is capped. */
static void choose_recomputed(lang_stmt *s, uint32_t *count)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->var_count; i++) {
        lang_var *v = s->vars[i];
        if (*count < LANG_MAX_RECOMPUTED && v->promoted && !v->is_param && !v->written &&
            !v->group_use && v->init &&
            v->init->kind != LANG_E_INIT_LIST && lang_type_is_scalar(v->type) &&
            recomputable(v->init)) {
            v->remat = 1;
            v->promoted = 0;
            ++*count;
        }
    }
    choose_recomputed(s->init, count);
    choose_recomputed(s->body, count);
    choose_recomputed(s->else_body, count);
    for (uint32_t i = 0; i < s->item_count; i++)
        choose_recomputed(s->items[i], count);
}

static void note_expr(const lang_expr *e, int region)
{
    if (!e)
        return;
    if (e->kind == LANG_E_IDENT && e->var)
        note_var(e->var, region);
    if (e->kind == LANG_E_ASSIGN || e->kind == LANG_E_POSTFIX ||
        (e->kind == LANG_E_UNARY && (e->op == LANG_P_INC || e->op == LANG_P_DEC || e->op == '&')))
        note_write(e->a);
    note_expr(e->a, region);
    note_expr(e->b, region);
    note_expr(e->c, region);
    for (uint32_t i = 0; i < e->arg_count; i++)
        note_expr(e->args[i], region);
}

static void note_stmt(const lang_stmt *s, int region)
{
    if (!s)
        return;
    note_expr(s->expr, region);
    note_expr(s->step, region);
    for (uint32_t i = 0; i < s->var_count; i++) {
        note_var(s->vars[i], region);
        note_expr(s->vars[i]->init, region);
    }
    note_stmt(s->init, region);
    note_stmt(s->body, region);
    note_stmt(s->else_body, region);
    for (uint32_t i = 0; i < s->item_count; i++)
        note_stmt(s->items[i], region);
}

static int analyse_list(lang_stmt *const *items, uint32_t n, int next_region);

static void mark_writes_expr(const lang_expr *e)
{
    if (!e)
        return;
    if (e->kind == LANG_E_ASSIGN || e->kind == LANG_E_POSTFIX ||
        (e->kind == LANG_E_UNARY && (e->op == LANG_P_INC || e->op == LANG_P_DEC || e->op == '&')))
        note_write(e->a);
    mark_writes_expr(e->a);
    mark_writes_expr(e->b);
    mark_writes_expr(e->c);
    for (uint32_t i = 0; i < e->arg_count; i++)
        mark_writes_expr(e->args[i]);
}

static void mark_writes(const lang_stmt *s)
{
    if (!s)
        return;
    mark_writes_expr(s->expr);
    mark_writes_expr(s->step);
    for (uint32_t i = 0; i < s->var_count; i++)
        mark_writes_expr(s->vars[i]->init);
    mark_writes(s->init);
    mark_writes(s->body);
    mark_writes(s->else_body);
    for (uint32_t i = 0; i < s->item_count; i++)
        mark_writes(s->items[i]);
}

/* The same value for every work-item of the group. */
static int uniform_expr(const lang_expr *e)
{
    if (!e)
        return 1;
    switch (e->kind) {
    case LANG_E_INT: case LANG_E_FLOAT: case LANG_E_BOOL: case LANG_E_SIZEOF:
        return 1;
    case LANG_E_IDENT:
        return e->var && ((e->var->is_param && !e->var->promoted &&
                           e->var->type->kind != LANG_T_POINTER) || e->var->uniform_loop);
    case LANG_E_UNARY:
        if (e->op == '*' || e->op == '&' || e->op == LANG_P_INC || e->op == LANG_P_DEC)
            return 0;
        return uniform_expr(e->a);
    case LANG_E_BINARY: case LANG_E_COND: case LANG_E_CAST:
        return uniform_expr(e->a) && uniform_expr(e->b) && uniform_expr(e->c);
    case LANG_E_CALL:
        return (e->builtin == LANG_B_GROUP_ID || e->builtin == LANG_B_LOCAL_SIZE ||
                e->builtin == LANG_B_NUM_GROUPS || e->builtin == LANG_B_GLOBAL_SIZE) &&
               uniform_expr(e->args[0]);
    default:
        return 0;
    }
}

static int writes_var(const lang_expr *e, const lang_var *v)
{
    if (!e)
        return 0;
    if (e->kind == LANG_E_ASSIGN || e->kind == LANG_E_POSTFIX ||
        (e->kind == LANG_E_UNARY && (e->op == LANG_P_INC || e->op == LANG_P_DEC || e->op == '&'))) {
        const lang_expr *t = e->a;
        while (t->kind == LANG_E_MEMBER || t->kind == LANG_E_INDEX)
            t = t->a;
        if (t->kind == LANG_E_IDENT && t->var == v)
            return 1;
    }
    if (writes_var(e->a, v) || writes_var(e->b, v) || writes_var(e->c, v))
        return 1;
    for (uint32_t i = 0; i < e->arg_count; i++)
        if (writes_var(e->args[i], v))
            return 1;
    return 0;
}

/* A body simple enough to run with the work-item loop inside: no loops,
 * no jumps, no writes to the counter. */
static int simple_body(const lang_stmt *s, const lang_var *counter)
{
    if (!s)
        return 1;
    switch (s->kind) {
    case LANG_S_FOR: case LANG_S_WHILE: case LANG_S_DO: case LANG_S_SWITCH: case LANG_S_BREAK:
    case LANG_S_CONTINUE: case LANG_S_RETURN: case LANG_S_CASE: case LANG_S_DEFAULT:
        return 0;
    default:
        break;
    }
    if (writes_var(s->expr, counter))
        return 0;
    for (uint32_t i = 0; i < s->var_count; i++)
        if (writes_var(s->vars[i]->init, counter) || s->vars[i]->space == LANG_SPACE_SHARED)
            return 0;
    for (uint32_t i = 0; i < s->item_count; i++)
        if (!simple_body(s->items[i], counter))
            return 0;
    return simple_body(s->body, counter) && simple_body(s->else_body, counter);
}

static int stmt_writes_var(const lang_stmt *s, const lang_var *v)
{
    if (!s)
        return 0;
    if (writes_var(s->expr, v) || writes_var(s->step, v))
        return 1;
    for (uint32_t i = 0; i < s->var_count; i++)
        if (writes_var(s->vars[i]->init, v))
            return 1;
    for (uint32_t i = 0; i < s->item_count; i++)
        if (stmt_writes_var(s->items[i], v))
            return 1;
    return stmt_writes_var(s->init, v) || stmt_writes_var(s->body, v) ||
           stmt_writes_var(s->else_body, v);
}

/* A for loop whose integer counter is declared in its init from a uniform
 * value, stepped only by its step expression by a uniform amount and
 * tested by a uniform condition: the counter is the same in every
 * work-item, so it is one scalar instead of one copy per item (marked
 * uniform_loop). Returns whether it is. */
static int uniform_counter(const lang_stmt *s)
{
    if (s->kind != LANG_S_FOR || !s->init || s->init->kind != LANG_S_DECL ||
        s->init->var_count != 1 || !s->expr || !s->step)
        return 0;
    lang_var *k = s->init->vars[0];
    if (!lang_type_is_integer(k->type) || !k->init || k->init->kind == LANG_E_INIT_LIST ||
        !uniform_expr(k->init) || stmt_writes_var(s->body, k) || writes_var(s->expr, k))
        return 0;
    k->uniform_loop = 1;
    const lang_expr *st = s->step;
    int step_ok = (st->kind == LANG_E_POSTFIX || st->kind == LANG_E_UNARY ||
                   (st->kind == LANG_E_ASSIGN && st->op != '=' && uniform_expr(st->b))) &&
                  st->a->kind == LANG_E_IDENT && st->a->var == k;
    if (!step_ok || !uniform_expr(s->expr)) {
        k->uniform_loop = 0;
        return 0;
    }
    return 1;
}

/* A barrier-free for loop whose trip count is the same for every work-item
 * (uniform init, condition and step) can run with the work-item loop inside
 * it: work-items between two barriers have no order among themselves, so
 * interleaving them per iteration keeps each item's program order. The
 * x-innermost item loop then sees contiguous per-item accesses and
 * vectorizes (the inner loop of a tiled matrix multiply, for one). */
static int interchangeable(const lang_stmt *s)
{
    if (s->kind != LANG_S_FOR || s->has_barrier || !s->init || s->init->kind != LANG_S_DECL ||
        s->init->var_count != 1 || !s->expr || !s->step)
        return 0;
    if (!simple_body(s->body, s->init->vars[0]) || !uniform_counter(s))
        return 0;
    return 1;
}

static void mark_interchange(lang_stmt *s)
{
    if (!s)
        return;
    if (!s->has_barrier) {
        s->interchange = interchangeable(s);
        return;
    }
    (void)uniform_counter(s); /* before the body, whose loops may test it */
    mark_interchange(s->body);
    mark_interchange(s->else_body);
    for (uint32_t i = 0; i < s->item_count; i++)
        mark_interchange(s->items[i]);
}

int lang_c_uniform_counter(const lang_stmt *s)
{
    return s->kind == LANG_S_FOR && s->init && s->init->kind == LANG_S_DECL &&
           s->init->var_count == 1 && s->init->vars[0]->uniform_loop;
}

int lang_c_group_level(const lang_stmt *s)
{
    return s->has_barrier || s->interchange;
}

static int analyse_group_stmt(const lang_stmt *s, int region)
{
    switch (s->kind) {
    case LANG_S_BLOCK:
        return analyse_list(s->items, s->item_count, region);
    case LANG_S_IF:
        note_expr(s->expr, GROUP_REGION);
        region = analyse_list(&s->body, 1, region);
        return s->else_body ? analyse_list(&s->else_body, 1, region) : region;
    case LANG_S_WHILE: case LANG_S_DO:
        note_expr(s->expr, GROUP_REGION);
        return analyse_list(&s->body, 1, region);
    case LANG_S_FOR:
        if (lang_c_uniform_counter(s)) /* the counter is one uniform copy */
            return analyse_list(&s->body, 1, region);
        note_stmt(s->init, region++);
        note_expr(s->expr, GROUP_REGION);
        region = analyse_list(&s->body, 1, region);
        note_expr(s->step, region++);
        return region;
    default:
        return region;
    }
}

/* Numbers regions in emission order; returns the next free number. */
static int analyse_list(lang_stmt *const *items, uint32_t n, int region)
{
    for (uint32_t i = 0; i < n;) {
        if (lang_c_group_level(items[i])) {
            region = analyse_group_stmt(items[i], region);
            i++;
            continue;
        }
        for (; i < n && !lang_c_group_level(items[i]); i++)
            note_stmt(items[i], region);
        region++;
    }
    return region;
}

int lang_c_has_return(const lang_stmt *s)
{
    if (!s)
        return 0;
    if (s->kind == LANG_S_RETURN)
        return 1;
    for (uint32_t i = 0; i < s->item_count; i++)
        if (lang_c_has_return(s->items[i]))
            return 1;
    return lang_c_has_return(s->body) || lang_c_has_return(s->else_body);
}

void lang_c_analyse_group_kernel(lang_func *f)
{
    mark_writes(f->body);
    mark_interchange(f->body);
    analyse_list(f->body->items, f->body->item_count, 0);
    uint32_t recomputed = 0;
    choose_recomputed(f->body, &recomputed);
}
