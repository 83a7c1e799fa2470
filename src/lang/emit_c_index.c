/* Buffer indices of the form L + local_id(0) or L + global_id(0) in a
 * work-item loop of a kernel with barrier(), L the same for every x of a
 * row of items (a[row * n + t + local_id(0)]). In 32-bit unsigned
 * arithmetic the index may wrap, so the C compiler cannot treat
 * consecutive x as consecutive addresses and loads them one by one. The
 * emitter checks once per row that no x of the row wraps (L + base + width
 * <= 2^32) and then runs a copy of the x loop that indexes in 64 bits,
 * which vectorizes; the other copy keeps the exact 32-bit wrap. */
#include "emit.h"

#include <string.h>

/* The x index queries: local_id(0) and global_id(0). */
static int x_query(const lang_expr *e)
{
    return e->kind == LANG_E_CALL &&
           (e->builtin == LANG_B_LOCAL_ID || e->builtin == LANG_B_GLOBAL_ID) && e->arg_count == 1 &&
           e->args[0]->is_const_value && e->args[0]->const_value == 0;
}

/* The same value for every x of a row: no memory reads, no side effects,
 * no per-item variables, no x index query. It may be evaluated before the
 * x loop, as nothing it reads changes inside the loop (parameters that are
 * written are per-item copies; uniform counters are never written in
 * their loop's body). */
static int row_invariant(const lang_expr *e)
{
    if (!e)
        return 1;
    switch (e->kind) {
    case LANG_E_INT: case LANG_E_BOOL: case LANG_E_SIZEOF:
        return 1;
    case LANG_E_IDENT:
        return e->var && e->var->space == LANG_SPACE_PRIVATE &&
               lang_type_is_integer(e->var->type) &&
               ((e->var->is_param && !e->var->promoted) || e->var->uniform_loop);
    case LANG_E_UNARY:
        if (e->op == '*' || e->op == '&' || e->op == LANG_P_INC || e->op == LANG_P_DEC)
            return 0;
        return row_invariant(e->a);
    case LANG_E_BINARY: case LANG_E_COND: case LANG_E_CAST:
        return lang_type_is_integer(e->type) && row_invariant(e->a) && row_invariant(e->b) &&
               row_invariant(e->c);
    case LANG_E_CALL:
        if (e->builtin < LANG_B_GLOBAL_ID || e->builtin > LANG_B_GLOBAL_SIZE || e->arg_count != 1 ||
            !e->args[0]->is_const_value)
            return 0;
        if (e->builtin == LANG_B_LOCAL_ID || e->builtin == LANG_B_GLOBAL_ID)
            return e->args[0]->const_value != 0;
        return 1;
    default:
        return 0;
    }
}

const lang_expr *lang_c_split_x_index(const lang_expr *index, const lang_expr **x)
{
    if (!index || index->kind != LANG_E_BINARY || index->op != '+' || !index->type ||
        index->type->kind != LANG_T_UINT || !index->a->type || !index->b->type ||
        index->a->type->kind != LANG_T_UINT || index->b->type->kind != LANG_T_UINT)
        return NULL;
    if (x_query(index->b) && row_invariant(index->a)) {
        *x = index->b;
        return index->a;
    }
    if (x_query(index->a) && row_invariant(index->b)) {
        *x = index->a;
        return index->b;
    }
    return NULL;
}

static int pointer_index(const lang_expr *e)
{
    return e->kind == LANG_E_INDEX && e->a->type && e->a->type->kind == LANG_T_POINTER;
}

static void emit_fits(lang_emitter *em, const lang_expr *e, int *count)
{
    if (!e)
        return;
    const lang_expr *x = NULL;
    const lang_expr *base = pointer_index(e) ? lang_c_split_x_index(e->b, &x) : NULL;
    if (base) {
        lang_emit_puts(em, *count ? " && " : "");
        lang_emit_puts(em, "(unsigned long long)(");
        lang_emit_expr(em, base);
        lang_emit_printf(em, ")%s + (unsigned long long)kiln_ls0 <= KILN_INDEX_SPAN",
                         x->builtin == LANG_B_GLOBAL_ID ? " + kiln_c->base[0]" : "");
        ++*count;
    }
    emit_fits(em, e->a, count);
    emit_fits(em, e->b, count);
    emit_fits(em, e->c, count);
    for (uint32_t i = 0; i < e->arg_count; i++)
        emit_fits(em, e->args[i], count);
}

static void emit_fits_stmt(lang_emitter *em, const lang_stmt *s, int *count)
{
    if (!s)
        return;
    emit_fits(em, s->expr, count);
    emit_fits(em, s->step, count);
    for (uint32_t i = 0; i < s->var_count; i++)
        emit_fits(em, s->vars[i]->init, count);
    emit_fits_stmt(em, s->init, count);
    emit_fits_stmt(em, s->body, count);
    emit_fits_stmt(em, s->else_body, count);
    for (uint32_t i = 0; i < s->item_count; i++)
        emit_fits_stmt(em, s->items[i], count);
}

int lang_c_emit_row_fits(lang_emitter *em, lang_stmt *const *items, uint32_t n)
{
    int count = 0;
    for (uint32_t i = 0; i < n; i++)
        emit_fits_stmt(em, items[i], &count);
    return count;
}

static int has_split_index(const lang_expr *e)
{
    if (!e)
        return 0;
    const lang_expr *x = NULL;
    if (pointer_index(e) && lang_c_split_x_index(e->b, &x))
        return 1;
    if (has_split_index(e->a) || has_split_index(e->b) || has_split_index(e->c))
        return 1;
    for (uint32_t i = 0; i < e->arg_count; i++)
        if (has_split_index(e->args[i]))
            return 1;
    return 0;
}

int lang_c_has_split_index(const lang_stmt *s)
{
    if (!s)
        return 0;
    if (has_split_index(s->expr) || has_split_index(s->step))
        return 1;
    for (uint32_t i = 0; i < s->var_count; i++)
        if (has_split_index(s->vars[i]->init))
            return 1;
    for (uint32_t i = 0; i < s->item_count; i++)
        if (lang_c_has_split_index(s->items[i]))
            return 1;
    return lang_c_has_split_index(s->init) || lang_c_has_split_index(s->body) ||
           lang_c_has_split_index(s->else_body);
}
