/* Calls (user functions, the call graph, allocation), indexing and member
 * access: the expressions that reach through names to other objects. */
#include "sema.h"

#include <stdio.h>
#include <string.h>

static const lang_type *error_type(void)
{
    return lang_type_scalar(LANG_T_ERROR);
}

static int is_error(const lang_type *t)
{
    return t->kind == LANG_T_ERROR;
}

static const char *tname(lang_sema *s, const lang_type *t)
{
    return lang_type_name(s->ctx, t);
}

static void set_rvalue(lang_expr *e, const lang_type *t)
{
    e->type = t;
    e->is_lvalue = 0;
}

const lang_type *lang_check_call(lang_sema *s, lang_expr *e)
{
    lang_builtin b = lang_builtin_lookup(e->name);
    if (b != LANG_B_NONE)
        return e->type = lang_check_builtin(s, e, b);
    int statement = s->expr_is_statement;
    s->expr_is_statement = 0;
    lang_func *f = lang_map_get(&s->funcs, e->name);
    static const char *const allocators[] = {"malloc", "calloc", "realloc", "free", "alloca",
                                             "aligned_alloc", "posix_memalign", "new", "delete"};
    for (size_t i = 0; !f && i < sizeof allocators / sizeof allocators[0]; i++)
        if (!strcmp(e->name, allocators[i])) {
            lang_error(s->ctx, e->loc,
                       "dynamic allocation is not allowed: '%s' (rule: no dynamic allocation); "
                       "use shared arrays or buffers", e->name);
            return e->type = error_type();
        }
    for (uint32_t i = 0; i < e->arg_count; i++)
        if (!f)
            lang_check_expr(s, e->args[i]);
    if (!f) {
        lang_error(s->ctx, e->loc, "call to undeclared function '%s'", e->name);
        return e->type = error_type();
    }
    (void)statement;
    if (f->is_kernel) {
        lang_error(s->ctx, e->loc, "kernel '%s' cannot be called from device code", e->name);
        return e->type = error_type();
    }
    e->callee = f;
    if (e->arg_count != f->param_count) {
        lang_error(s->ctx, e->loc, "'%s' takes %u argument(s), %u given", f->name, f->param_count,
                   e->arg_count);
        for (uint32_t i = 0; i < e->arg_count; i++)
            lang_check_expr(s, e->args[i]);
    } else {
        for (uint32_t i = 0; i < e->arg_count; i++) {
            char context[160];
            snprintf(context, sizeof context, "argument %u ('%s') of '%s'", i + 1,
                     f->params[i]->name, f->name);
            lang_check_convert(s, e->args[i], f->params[i]->type, context);
        }
    }
    lang_func *caller = s->func;
    if (caller->call_count == caller->call_capacity) {
        caller->call_capacity = caller->call_capacity ? caller->call_capacity * 2 : 4;
        lang_func **grown = lang_alloc(s->ctx, caller->call_capacity * sizeof *grown);
        if (caller->call_count)
            memcpy(grown, caller->calls, caller->call_count * sizeof *grown);
        caller->calls = grown;
    }
    caller->calls[caller->call_count++] = f;
    set_rvalue(e, f->ret);
    return e->type;
}

const lang_type *lang_check_index(lang_sema *s, lang_expr *e)
{
    const lang_type *t = lang_check_expr(s, e->a);
    const lang_type *i = lang_check_expr(s, e->b);
    if (is_error(t) || is_error(i))
        return e->type = error_type();
    if (!lang_type_is_integer(i))
        lang_error(s->ctx, e->b->loc, "array index must be an integer, not '%s'", tname(s, i));
    if (t->kind == LANG_T_ARRAY) {
        e->type = t->base;
        e->is_lvalue = 1;
        e->lvalue_const = e->a->lvalue_const;
        e->lvalue_space = e->a->lvalue_space;
        if (e->b->is_const_value && (e->b->const_value < 0 || (uint64_t)e->b->const_value >= t->count))
            lang_error(s->ctx, e->b->loc, "index %lld is out of bounds for an array of %u",
                       (long long)e->b->const_value, t->count);
        return e->type;
    }
    if (t->kind == LANG_T_POINTER) {
        e->type = t->base;
        e->is_lvalue = 1;
        e->lvalue_const = t->pointee_const;
        e->lvalue_space = t->space;
        return e->type;
    }
    lang_error(s->ctx, e->loc, "'%s' cannot be indexed", tname(s, t));
    return e->type = error_type();
}

const lang_type *lang_check_member(lang_sema *s, lang_expr *e)
{
    const lang_type *t = lang_check_expr(s, e->a);
    if (is_error(t))
        return e->type = t;
    e->is_lvalue = e->a->is_lvalue;
    e->lvalue_const = e->a->lvalue_const;
    e->lvalue_space = e->a->lvalue_space;
    if (e->op == LANG_P_ARROW) {
        if (t->kind != LANG_T_POINTER || t->base->kind != LANG_T_STRUCT) {
            lang_error(s->ctx, e->loc, "'->' needs a pointer to a struct, not '%s'", tname(s, t));
            return e->type = error_type();
        }
        e->is_lvalue = 1;
        e->lvalue_const = t->pointee_const;
        e->lvalue_space = t->space;
        t = t->base;
    }
    if (t->kind == LANG_T_VECTOR && e->op == '.') {
        static const char comps[] = "xyzw";
        const char *hit = strlen(e->name) == 1 ? strchr(comps, e->name[0]) : NULL;
        if (!hit || (uint32_t)(hit - comps) >= t->count) {
            lang_error(s->ctx, e->loc, "'%s' has no component '%s'%s", tname(s, t), e->name,
                       strlen(e->name) > 1 ? " (swizzles are not supported)" : "");
            return e->type = error_type();
        }
        e->member_index = (uint32_t)(hit - comps);
        return e->type = t->base;
    }
    if (t->kind != LANG_T_STRUCT) {
        lang_error(s->ctx, e->loc, "member access on '%s', which is not a struct", tname(s, t));
        return e->type = error_type();
    }
    for (uint32_t i = 0; i < t->def->member_count; i++)
        if (!strcmp(t->def->members[i].name, e->name)) {
            e->member_index = i;
            return e->type = t->def->members[i].type;
        }
    lang_error(s->ctx, e->loc, "'%s' has no member named '%s'", tname(s, t), e->name);
    return e->type = error_type();
}

