/* Kernels with barrier() (or shared memory) on the CPU: "work-item loops".
 * Every maximal barrier-free run of statements becomes one loop over all
 * work-items of the group (x innermost, so the C compiler can vectorize it);
 * a barrier is the boundary between two such loops. A variable whose value
 * crosses a boundary is promoted to an array with one element per work-item.
 * A control statement that contains a barrier runs once per group, with its
 * condition evaluated for work-item 0: valid because, as in OpenCL and CUDA,
 * every work-item of a group must reach the same barriers (the condition is
 * uniform). A return before a barrier sets a per-item flag that makes later
 * loops skip the item. The barrier rules below are checked for every
 * dialect, so a kernel is accepted by all backends or by none. */
#include "emit.h"
#include "../ports/cpu_kernel_abi.h"

#include <stdio.h>
#include <string.h>

/* ---- rules (all dialects) ------------------------------------------- */

/* In a barrier-free statement at group level, a break or continue that is
 * not inside a loop (or switch, for break) of that statement would leave a
 * loop that contains barrier(). */
static void check_escape(lang_ctx *ctx, const lang_stmt *s, int loops, int switches)
{
    if (!s)
        return;
    switch (s->kind) {
    case LANG_S_BREAK:
    case LANG_S_CONTINUE:
        if (loops == 0 && (s->kind == LANG_S_CONTINUE || switches == 0))
            lang_error(ctx, s->loc,
                       "'%s' out of a loop that contains barrier() is not supported (rule: "
                       "barrier placement): make the loop condition uniform instead",
                       s->kind == LANG_S_BREAK ? "break" : "continue");
        return;
    case LANG_S_BLOCK:
        for (uint32_t i = 0; i < s->item_count; i++)
            check_escape(ctx, s->items[i], loops, switches);
        return;
    case LANG_S_IF:
        check_escape(ctx, s->body, loops, switches);
        check_escape(ctx, s->else_body, loops, switches);
        return;
    case LANG_S_FOR: case LANG_S_WHILE: case LANG_S_DO:
        check_escape(ctx, s->body, loops + 1, switches);
        return;
    case LANG_S_SWITCH:
        check_escape(ctx, s->body, loops, switches + 1);
        return;
    default:
        return;
    }
}

static void check_group(lang_ctx *ctx, const lang_stmt *s, int in_barrier_loop)
{
    if (!s->has_barrier) {
        if (in_barrier_loop)
            check_escape(ctx, s, 0, 0);
        return;
    }
    switch (s->kind) {
    case LANG_S_BLOCK:
        for (uint32_t i = 0; i < s->item_count; i++)
            check_group(ctx, s->items[i], in_barrier_loop);
        return;
    case LANG_S_IF:
        check_group(ctx, s->body, in_barrier_loop);
        if (s->else_body)
            check_group(ctx, s->else_body, in_barrier_loop);
        return;
    case LANG_S_FOR: case LANG_S_WHILE: case LANG_S_DO:
        check_group(ctx, s->body, 1);
        return;
    default:
        return;
    }
}

void lang_check_barrier_rules(lang_ctx *ctx, lang_program *prog)
{
    for (lang_func *f = prog->funcs; f; f = f->next)
        if (f->body && f->is_kernel && f->uses_barrier)
            check_group(ctx, f->body, 0);
}

/* ---- which variables cross a barrier ---------------------------------- */

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

static void choose_recomputed(lang_stmt *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->var_count; i++) {
        lang_var *v = s->vars[i];
        if (v->promoted && !v->is_param && !v->written && !v->group_use && v->init &&
            v->init->kind != LANG_E_INIT_LIST && lang_type_is_scalar(v->type) &&
            recomputable(v->init)) {
            v->remat = 1;
            v->promoted = 0;
        }
    }
    choose_recomputed(s->init);
    choose_recomputed(s->body);
    choose_recomputed(s->else_body);
    for (uint32_t i = 0; i < s->item_count; i++)
        choose_recomputed(s->items[i]);
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
    lang_var *k = s->init->vars[0];
    if (!lang_type_is_integer(k->type) || !k->init || k->init->kind == LANG_E_INIT_LIST ||
        !uniform_expr(k->init))
        return 0;
    k->uniform_loop = 1;
    const lang_expr *st = s->step;
    int step_ok = (st->kind == LANG_E_POSTFIX || st->kind == LANG_E_UNARY ||
                   (st->kind == LANG_E_ASSIGN && st->op != '=' && uniform_expr(st->b))) &&
                  st->a->kind == LANG_E_IDENT && st->a->var == k;
    if (!step_ok || !uniform_expr(s->expr) || !simple_body(s->body, k)) {
        k->uniform_loop = 0;
        return 0;
    }
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
    mark_interchange(s->body);
    mark_interchange(s->else_body);
    for (uint32_t i = 0; i < s->item_count; i++)
        mark_interchange(s->items[i]);
}

static int group_level(const lang_stmt *s)
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
        if (s->interchange) /* the counter is one uniform copy */
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
        if (group_level(items[i])) {
            region = analyse_group_stmt(items[i], region);
            i++;
            continue;
        }
        for (; i < n && !group_level(items[i]); i++)
            note_stmt(items[i], region);
        region++;
    }
    return region;
}

static int has_return(const lang_stmt *s)
{
    if (!s)
        return 0;
    if (s->kind == LANG_S_RETURN)
        return 1;
    for (uint32_t i = 0; i < s->item_count; i++)
        if (has_return(s->items[i]))
            return 1;
    return has_return(s->body) || has_return(s->else_body);
}

/* ---- emission ---------------------------------------------------------- */

typedef struct group_state {
    int use_done; /* the kernel returns before its end: per-item flags */
    lang_var **remat; /* recomputed variables in declaration order */
    uint32_t remat_count;
} group_state;

static void collect_remat(lang_emitter *em, group_state *g, const lang_stmt *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->var_count; i++)
        if (s->vars[i]->remat) {
            lang_var **grown = lang_alloc(em->ctx, (g->remat_count + 1) * sizeof *grown);
            if (g->remat_count)
                memcpy(grown, g->remat, g->remat_count * sizeof *grown);
            grown[g->remat_count++] = s->vars[i];
            g->remat = grown;
            s->vars[i]->promoted = (int)g->remat_count;
        }
    collect_remat(em, g, s->init);
    collect_remat(em, g, s->body);
    collect_remat(em, g, s->else_body);
    for (uint32_t i = 0; i < s->item_count; i++)
        collect_remat(em, g, s->items[i]);
}

static void emit_remat(lang_emitter *em, const group_state *g)
{
    for (uint32_t i = 0; i < g->remat_count; i++) {
        const lang_var *v = g->remat[i];
        char name[300];
        snprintf(name, sizeof name, "kiln_r%d_%s", v->promoted, v->emit_name);
        lang_emit_indent(em);
        lang_emit_decl(em, v->type, name, 0);
        lang_emit_puts(em, " = ");
        lang_emit_expr_as(em, v->init, v->type);
        lang_emit_printf(em, "; (void)%s;\n", name);
    }
}

static void emit_zero_ids(lang_emitter *em)
{
    lang_emit_indent(em);
    lang_emit_puts(em, "kiln_lx = 0; kiln_ly = 0; kiln_lz = 0; kiln_flat = 0;\n");
}

static int region_is_empty(lang_stmt *const *items, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        const lang_stmt *s = items[i];
        if (s->kind == LANG_S_EMPTY)
            continue;
        if (s->kind == LANG_S_DECL) {
            for (uint32_t j = 0; j < s->var_count; j++)
                if (s->vars[j]->space != LANG_SPACE_SHARED)
                    return 0;
            continue;
        }
        return 0;
    }
    return 1;
}

static void emit_region(lang_emitter *em, const group_state *g, lang_stmt *const *items, uint32_t n)
{
    if (region_is_empty(items, n))
        return;
    int label = ++em->regions;
    lang_emit_indent(em);
    lang_emit_puts(em, "for (kiln_lz = 0; kiln_lz < kiln_ls2; kiln_lz++)\n");
    lang_emit_indent(em);
    lang_emit_puts(em, "for (kiln_ly = 0; kiln_ly < kiln_ls1; kiln_ly++)\n");
    lang_emit_indent(em);
    lang_emit_puts(em, "for (kiln_lx = 0; kiln_lx < kiln_ls0; kiln_lx++) {\n");
    em->indent++;
    lang_emit_indent(em);
    lang_emit_puts(em, "kiln_flat = (kiln_lz * kiln_ls1 + kiln_ly) * kiln_ls0 + kiln_lx;\n");
    if (g->use_done) {
        lang_emit_indent(em);
        lang_emit_puts(em, "if (kiln_done[kiln_flat]) continue;\n");
        em->region_label = label;
    }
    emit_remat(em, g);
    lang_emit_indent(em);
    lang_emit_puts(em, "{\n");
    em->indent++;
    for (uint32_t i = 0; i < n; i++)
        lang_emit_stmt(em, items[i]);
    em->indent--;
    lang_emit_indent(em);
    lang_emit_puts(em, "}\n");
    if (g->use_done) {
        lang_emit_indent(em);
        lang_emit_printf(em, "kiln_end_%d:;\n", label);
    }
    em->region_label = 0;
    em->indent--;
    lang_emit_indent(em);
    lang_emit_puts(em, "}\n");
}

static void emit_group_list(lang_emitter *em, const group_state *g, lang_stmt *const *items,
                            uint32_t n);

static void emit_condition(lang_emitter *em, const char *head, const lang_expr *cond,
                           const char *tail)
{
    emit_zero_ids(em);
    lang_emit_indent(em);
    lang_emit_puts(em, head);
    lang_emit_expr(em, cond);
    lang_emit_puts(em, tail);
}

static void emit_group_stmt(lang_emitter *em, const group_state *g, const lang_stmt *s)
{
    lang_emit_line(em, s->loc);
    switch (s->kind) {
    case LANG_S_EXPR:
        lang_emit_indent(em);
        lang_emit_puts(em, "/* barrier(): the work-item loops before it are complete */\n");
        return;
    case LANG_S_BLOCK:
        emit_group_list(em, g, s->items, s->item_count);
        return;
    case LANG_S_IF:
        emit_condition(em, "if (", s->expr, ") {\n");
        em->indent++;
        emit_group_list(em, g, &s->body, 1);
        em->indent--;
        lang_emit_indent(em);
        lang_emit_puts(em, "}\n");
        if (s->else_body) {
            lang_emit_indent(em);
            lang_emit_puts(em, "else {\n");
            em->indent++;
            emit_group_list(em, g, &s->else_body, 1);
            em->indent--;
            lang_emit_indent(em);
            lang_emit_puts(em, "}\n");
        }
        return;
    case LANG_S_FOR:
        if (s->interchange) {
            const lang_var *k = s->init->vars[0];
            lang_emit_indent(em);
            lang_emit_puts(em, "{ /* uniform loop, work-items inside */\n");
            em->indent++;
            lang_emit_indent(em);
            lang_emit_decl(em, k->type, k->emit_name, 0);
            lang_emit_puts(em, " = ");
            lang_emit_expr_as(em, k->init, k->type);
            lang_emit_puts(em, ";\n");
            lang_emit_indent(em);
            lang_emit_puts(em, "for (; ");
            lang_emit_expr(em, s->expr);
            lang_emit_puts(em, "; ");
            lang_emit_expr(em, s->step);
            lang_emit_puts(em, ") {\n");
            em->indent++;
            emit_region(em, g, (lang_stmt *const *)&s->body, 1);
            em->indent--;
            lang_emit_indent(em);
            lang_emit_puts(em, "}\n");
            em->indent--;
            lang_emit_indent(em);
            lang_emit_puts(em, "}\n");
            return;
        }
        /* fall through */
    case LANG_S_WHILE:
    case LANG_S_DO: {
        if (s->kind == LANG_S_FOR && s->init)
            emit_region(em, g, (lang_stmt *const *)&s->init, 1);
        lang_emit_indent(em);
        lang_emit_puts(em, "for (;;) {\n");
        em->indent++;
        if (s->kind != LANG_S_DO && s->expr)
            emit_condition(em, "if (!(", s->expr, ")) break;\n");
        emit_group_list(em, g, &s->body, 1);
        if (s->kind == LANG_S_DO)
            emit_condition(em, "if (!(", s->expr, ")) break;\n");
        if (s->kind == LANG_S_FOR && s->step) {
            lang_stmt step = {.kind = LANG_S_EXPR, .loc = s->step->loc, .expr = s->step};
            lang_stmt *items[1] = {&step};
            emit_region(em, g, items, 1);
        }
        em->indent--;
        lang_emit_indent(em);
        lang_emit_puts(em, "}\n");
        return;
    }
    default:
        return;
    }
}

static void emit_group_list(lang_emitter *em, const group_state *g, lang_stmt *const *items,
                            uint32_t n)
{
    for (uint32_t i = 0; i < n;) {
        if (group_level(items[i])) {
            emit_group_stmt(em, g, items[i]);
            i++;
            continue;
        }
        uint32_t start = i;
        while (i < n && !group_level(items[i]))
            i++;
        emit_region(em, g, items + start, i - start);
    }
}

/* Declares shared variables and per-item arrays at the top of the entry;
 * promoted variables are numbered, so equal names of different scopes
 * stay apart. */
static void collect_promoted(lang_emitter *em, const lang_stmt *s, int *counter)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->var_count; i++) {
        lang_var *v = s->vars[i];
        char name[300];
        if (v->space == LANG_SPACE_SHARED) {
            lang_emit_puts(em, "    ");
            lang_emit_decl(em, v->type, v->emit_name, 0);
            lang_emit_puts(em, "; /* shared */\n");
        } else if (v->promoted && !v->remat) {
            v->promoted = ++*counter;
            snprintf(name, sizeof name, "kiln_p%d_%s", v->promoted, v->emit_name);
            lang_emit_puts(em, "    ");
            lang_emit_decl(em, lang_type_array(em->ctx, v->type, LANG_CPU_MAX_GROUP_ITEMS), name, 0);
            lang_emit_printf(em, "; /* '%s' crosses a barrier */\n", v->name);
        }
    }
    collect_promoted(em, s->init, counter);
    collect_promoted(em, s->body, counter);
    collect_promoted(em, s->else_body, counter);
    for (uint32_t i = 0; i < s->item_count; i++)
        collect_promoted(em, s->items[i], counter);
}

void lang_emit_c_group_kernel(lang_emitter *em, lang_func *f)
{
    group_state g = {has_return(f->body), NULL, 0};
    mark_writes(f->body);
    mark_interchange(f->body);
    analyse_list(f->body->items, f->body->item_count, 0);
    choose_recomputed(f->body);
    collect_remat(em, &g, f->body);
    lang_emit_line(em, f->loc);
    lang_emit_printf(em, "KILN_EXPORT void %s%s(const kiln_cpu_group *kiln_group, "
                         "void *const *kiln_args)\n{\n",
                     KILN_CPU_ENTRY_PREFIX, f->name);
    lang_emit_puts(em,
        "    kiln_ctx kiln_cv;\n"
        "    kiln_ctx_init(&kiln_cv, kiln_group);\n"
        "    const kiln_ctx *kiln_c = &kiln_cv;\n"
        "    /* int loop counters: signed overflow is undefined, so the compiler can\n"
        "       treat per-item indices as affine and vectorize the x loop. */\n"
        "    const int kiln_ls0 = (int)kiln_cv.local_size[0], kiln_ls1 = (int)kiln_cv.local_size[1],"
        " kiln_ls2 = (int)kiln_cv.local_size[2];\n"
        "    const unsigned long long kiln_items = (unsigned long long)kiln_ls0 * kiln_ls1 * "
        "kiln_ls2;\n"
        "    /* Larger groups are refused by the CPU backend (LANG_CPU_MAX_GROUP_ITEMS). */\n"
        "    if (kiln_items > KILN_CPU_MAX_GROUP_ITEMS)\n"
        "        return;\n"
        "    int kiln_lx = 0, kiln_ly = 0, kiln_lz = 0, kiln_flat = 0;\n"
        "    (void)kiln_c; (void)kiln_lx; (void)kiln_ly; (void)kiln_lz; (void)kiln_flat;\n");
    int counter = 0;
    for (uint32_t i = 0; i < f->param_count; i++)
        if (f->params[i]->promoted)
            f->params[i]->promoted = ++counter;
    lang_emit_c_load_params(em, f);
    collect_promoted(em, f->body, &counter);
    if (g.use_done)
        lang_emit_puts(em, "    unsigned char kiln_done[KILN_CPU_MAX_GROUP_ITEMS];\n"
                           "    __builtin_memset(kiln_done, 0, kiln_items);\n");
    em->promote = 1;
    em->indent = 1;
    em->line = 0;
    emit_group_list(em, &g, f->body->items, f->body->item_count);
    em->promote = 0;
    em->indent = 0;
    lang_emit_puts(em, "}\n");
    em->line = 0;
}
