/* Sema: scopes, declarations, statements and the rules of Kiln C that span
 * more than one expression: no recursion (checked on the call graph), shared
 * memory only at kernel scope, kernel signatures, constant tables. */
#include "sema.h"

#include <stdio.h>
#include <string.h>

static void check_stmt(lang_sema *s, lang_stmt *st);

static void check_reserved_name(lang_sema *s, const char *name, lang_loc loc)
{
    if (strncmp(name, "kiln_", 5) == 0)
        lang_error(s->ctx, loc, "identifier '%s' is reserved: names starting with 'kiln_' "
                                "belong to the translator", name);
}

static void bind(lang_sema *s, lang_var *v)
{
    check_reserved_name(s, v->name, v->loc);
    lang_binding *old = lang_map_get(&s->names, v->name);
    if (old && old->scope_level == s->scope_level && old->var)
        lang_error(s->ctx, v->loc, "redeclaration of '%s'", v->name);
    if (!v->emit_name)
        v->emit_name = lang_emit_ident(s->ctx, v->name);
    lang_binding *b = lang_alloc(s->ctx, sizeof *b);
    b->var = v;
    b->shadowed = old;
    b->scope_level = s->scope_level;
    b->scope_next = s->bindings;
    s->bindings = b;
    lang_map_put(s->ctx, &s->names, v->name, b);
}

static void scope_push(lang_sema *s)
{
    s->scope_level++;
}

static void scope_pop(lang_sema *s)
{
    while (s->bindings && s->bindings->scope_level == s->scope_level) {
        lang_binding *b = s->bindings;
        lang_map_put(s->ctx, &s->names, b->var->name, b->shadowed);
        s->bindings = b->scope_next;
    }
    s->scope_level--;
}

static int is_runtime_expr(const lang_expr *e)
{
    if (!e)
        return 0;
    switch (e->kind) {
    case LANG_E_IDENT: case LANG_E_CALL: case LANG_E_ASSIGN: case LANG_E_POSTFIX:
    case LANG_E_INDEX: case LANG_E_MEMBER:
        return 1;
    case LANG_E_UNARY:
        if (e->op == '*' || e->op == '&' || e->op == LANG_P_INC || e->op == LANG_P_DEC)
            return 1;
        break;
    case LANG_E_INIT_LIST:
        for (uint32_t i = 0; i < e->arg_count; i++)
            if (is_runtime_expr(e->args[i]))
                return 1;
        return 0;
    default:
        break;
    }
    return is_runtime_expr(e->a) || is_runtime_expr(e->b) || is_runtime_expr(e->c);
}

/* Checks an initializer against t; returns the type, with the length of an
 * unsized array filled in. */
static const lang_type *check_init(lang_sema *s, const lang_type *t, lang_expr *init,
                                   const char *name)
{
    char context[160];
    snprintf(context, sizeof context, "the initializer of '%s'", name);
    if (init->kind != LANG_E_INIT_LIST) {
        if (t->kind == LANG_T_ARRAY) {
            lang_error(s->ctx, init->loc, "array '%s' needs an initializer list", name);
            lang_check_expr(s, init);
            return t;
        }
        lang_check_convert(s, init, t, context);
        return t;
    }
    init->type = t;
    if (t->kind == LANG_T_ARRAY) {
        if (t->count == 0)
            t = lang_type_array(s->ctx, t->base, init->arg_count ? init->arg_count : 1);
        if (init->arg_count > t->count)
            lang_error(s->ctx, init->loc, "too many initializers for '%s' (%u for %u elements)",
                       name, init->arg_count, t->count);
        for (uint32_t i = 0; i < init->arg_count; i++)
            check_init(s, t->base, init->args[i], name);
        init->type = t;
        return t;
    }
    if (t->kind == LANG_T_STRUCT && t->def->complete) {
        if (init->arg_count > t->def->member_count)
            lang_error(s->ctx, init->loc, "too many initializers for '%s'", name);
        for (uint32_t i = 0; i < init->arg_count && i < t->def->member_count; i++)
            check_init(s, t->def->members[i].type, init->args[i], name);
        return t;
    }
    if (t->kind == LANG_T_VECTOR) {
        lang_error(s->ctx, init->loc, "initialize vector '%s' with make_%s%u(...), not braces",
                   name, lang_scalar_kiln_name(t->base->kind), t->count);
        return t;
    }
    if (init->arg_count != 1) {
        lang_error(s->ctx, init->loc, "scalar '%s' takes one initializer", name);
        return t;
    }
    lang_check_convert(s, init->args[0], t, context);
    return t;
}

static int type_complete(const lang_type *t)
{
    if (t->kind == LANG_T_VOID)
        return 0;
    if (t->kind == LANG_T_STRUCT)
        return t->def->complete;
    if (t->kind == LANG_T_ARRAY)
        return t->count > 0 && type_complete(t->base);
    return 1;
}

static void check_local_var(lang_sema *s, lang_var *v, int block_depth)
{
    lang_func *f = s->func;
    lang_require_double(s, v->type, v->loc);
    if (!type_complete(v->type) && !(v->type->kind == LANG_T_ARRAY && v->type->count == 0 && v->init))
        lang_error(s->ctx, v->loc, "variable '%s' has an incomplete type '%s'", v->name,
                   lang_type_name(s->ctx, v->type));
    if (v->type->kind == LANG_T_POINTER && v->type->space != LANG_SPACE_GLOBAL &&
        v->type->space != LANG_SPACE_SHARED)
        lang_error(s->ctx, v->loc,
                   "pointer variable '%s' must point to global or shared memory (declare it "
                   "'global T *' or 'shared T *')", v->name);
    if (v->space == LANG_SPACE_CONSTANT)
        lang_error(s->ctx, v->loc, "constant table '%s' must be declared at file scope", v->name);
    if (v->space == LANG_SPACE_GLOBAL)
        lang_error(s->ctx, v->loc, "'global' qualifies pointers only; '%s' is not a pointer",
                   v->name);
    if (v->space == LANG_SPACE_SHARED) {
        if (!f->is_kernel)
            lang_error(s->ctx, v->loc, "shared variable '%s' must be declared in a kernel, not in "
                                       "helper '%s'", v->name, f->name);
        else if (block_depth != 1)
            lang_error(s->ctx, v->loc,
                       "shared variable '%s' must be declared in the outermost block of the "
                       "kernel", v->name);
        if (v->init)
            lang_error(s->ctx, v->loc, "shared variable '%s' cannot have an initializer", v->name);
        size_t a = lang_type_align(v->type);
        f->shared_bytes = (f->shared_bytes + a - 1) / a * a + lang_type_size(v->type);
        if (f->shared_count == f->shared_capacity) {
            f->shared_capacity = f->shared_capacity ? f->shared_capacity * 2 : 8;
            lang_var **grown = lang_alloc(s->ctx, f->shared_capacity * sizeof *grown);
            if (f->shared_count)
                memcpy(grown, f->shared_vars, f->shared_count * sizeof *grown);
            f->shared_vars = grown;
        }
        f->shared_vars[f->shared_count++] = v;
    }
    if (v->init && v->space != LANG_SPACE_SHARED)
        v->type = check_init(s, v->type, v->init, v->name);
    bind(s, v);
}

static int block_depth_of(lang_sema *s)
{
    return s->scope_level - 1; /* level 1 holds the parameters */
}

static void check_condition(lang_sema *s, lang_expr *e, const char *what)
{
    const lang_type *t = lang_check_expr(s, e);
    if (t->kind != LANG_T_ERROR && !lang_type_is_scalar(lang_decay(s, e)))
        lang_error(s->ctx, e->loc, "%s condition needs a scalar, not '%s'", what,
                   lang_type_name(s->ctx, t));
}

static int stmt_has_barrier(const lang_stmt *st)
{
    return st && st->has_barrier;
}

static void check_loop_body(lang_sema *s, lang_stmt *body)
{
    s->loops++;
    check_stmt(s, body);
    s->loops--;
}

static void check_stmt_kind(lang_sema *s, lang_stmt *st)
{
    switch (st->kind) {
    case LANG_S_EMPTY:
        break;
    case LANG_S_EXPR:
        s->expr_is_statement = 1;
        lang_check_expr(s, st->expr);
        s->expr_is_statement = 0;
        st->is_barrier = st->expr->kind == LANG_E_CALL && st->expr->builtin == LANG_B_BARRIER;
        st->has_barrier = st->is_barrier;
        break;
    case LANG_S_DECL:
        for (uint32_t i = 0; i < st->var_count; i++)
            check_local_var(s, st->vars[i], block_depth_of(s));
        break;
    case LANG_S_BLOCK:
        scope_push(s);
        for (uint32_t i = 0; i < st->item_count; i++) {
            check_stmt(s, st->items[i]);
            st->has_barrier |= st->items[i]->has_barrier;
        }
        scope_pop(s);
        break;
    case LANG_S_IF:
        check_condition(s, st->expr, "if");
        check_stmt(s, st->body);
        if (st->else_body)
            check_stmt(s, st->else_body);
        st->has_barrier = stmt_has_barrier(st->body) || stmt_has_barrier(st->else_body);
        break;
    case LANG_S_WHILE:
    case LANG_S_DO:
        check_condition(s, st->expr, st->kind == LANG_S_DO ? "do-while" : "while");
        check_loop_body(s, st->body);
        st->has_barrier = stmt_has_barrier(st->body);
        break;
    case LANG_S_FOR:
        scope_push(s);
        if (st->init)
            check_stmt(s, st->init);
        if (st->expr)
            check_condition(s, st->expr, "for");
        if (st->step)
            lang_check_expr(s, st->step);
        check_loop_body(s, st->body);
        st->has_barrier = stmt_has_barrier(st->body);
        scope_pop(s);
        break;
    case LANG_S_BREAK:
        if (!s->loops && !s->switches)
            lang_error(s->ctx, st->loc, "'break' outside a loop or switch");
        break;
    case LANG_S_CONTINUE:
        if (!s->loops)
            lang_error(s->ctx, st->loc, "'continue' outside a loop");
        break;
    case LANG_S_RETURN:
        if (s->func->ret->kind == LANG_T_VOID) {
            if (st->expr) {
                lang_error(s->ctx, st->loc, "'%s' returns void; return takes no value",
                           s->func->name);
                lang_check_expr(s, st->expr);
            }
        } else if (!st->expr) {
            lang_error(s->ctx, st->loc, "'%s' must return a value", s->func->name);
        } else {
            lang_check_convert(s, st->expr, s->func->ret, "the return value");
        }
        break;
    case LANG_S_SWITCH: {
        const lang_type *t = lang_check_expr(s, st->expr);
        if (t->kind != LANG_T_ERROR && !lang_type_is_integer(t))
            lang_error(s->ctx, st->expr->loc, "switch needs an integer, not '%s'",
                       lang_type_name(s->ctx, t));
        int loops = s->loops;
        s->switches++;
        check_stmt(s, st->body);
        s->switches--;
        s->loops = loops;
        st->has_barrier = stmt_has_barrier(st->body);
        break;
    }
    case LANG_S_CASE: {
        if (!s->switches)
            lang_error(s->ctx, st->loc, "'case' outside a switch");
        const lang_type *t = lang_check_expr(s, st->expr);
        int64_t v;
        if (t->kind != LANG_T_ERROR &&
            (!lang_type_is_integer(t) || !lang_fold_constant(s->ctx, st->expr, &v)))
            lang_error(s->ctx, st->expr->loc, "case label must be an integer constant");
        break;
    }
    case LANG_S_DEFAULT:
        if (!s->switches)
            lang_error(s->ctx, st->loc, "'default' outside a switch");
        break;
    }
}

static void check_stmt(lang_sema *s, lang_stmt *st)
{
    /* A loop inside a switch: break/continue there target the loop. */
    check_stmt_kind(s, st);
}

static int same_signature(const lang_func *a, const lang_func *b)
{
    if (a->param_count != b->param_count || !lang_type_equal(a->ret, b->ret) ||
        a->is_kernel != b->is_kernel)
        return 0;
    for (uint32_t i = 0; i < a->param_count; i++)
        if (!lang_type_equal(a->params[i]->type, b->params[i]->type))
            return 0;
    return 1;
}

static void declare_function(lang_sema *s, lang_func *f)
{
    check_reserved_name(s, f->name, f->loc);
    if (lang_builtin_lookup(f->name) != LANG_B_NONE) {
        lang_error(s->ctx, f->loc, "'%s' is a builtin function and cannot be redefined", f->name);
        return;
    }
    f->emit_name = lang_emit_ident(s->ctx, f->name);
    if (f->is_kernel && f->emit_name != f->name)
        lang_error(s->ctx, f->loc, "kernel name '%s' is reserved in a target language; rename "
                                   "the kernel", f->name);
    lang_func *old = lang_map_get(&s->funcs, f->name);
    if (old) {
        if (!same_signature(old, f))
            lang_error(s->ctx, f->loc, "conflicting declarations of '%s'", f->name);
        if (old->body && f->body) {
            lang_error(s->ctx, f->loc, "redefinition of '%s'", f->name);
            return;
        }
        if (old->body)
            return;
    }
    lang_map_put(s->ctx, &s->funcs, f->name, f);
}

static void check_params(lang_sema *s, lang_func *f)
{
    for (uint32_t i = 0; i < f->param_count; i++) {
        lang_var *p = f->params[i];
        const lang_type *t = p->type;
        lang_require_double(s, t, p->loc);
        if (t->kind == LANG_T_POINTER) {
            if (f->is_kernel && t->space != LANG_SPACE_GLOBAL)
                lang_error(s->ctx, p->loc,
                           "kernel parameter '%s': a kernel's pointer parameters must be "
                           "'global' buffers", p->name);
            else if (t->space != LANG_SPACE_GLOBAL && t->space != LANG_SPACE_SHARED)
                lang_error(s->ctx, p->loc,
                           "pointer parameter '%s' of '%s' must be declared global or shared",
                           p->name, f->name);
            if (t->base->kind == LANG_T_VOID || !type_complete(t->base))
                lang_error(s->ctx, p->loc, "parameter '%s' points to an incomplete type",
                           p->name);
        } else if (!type_complete(t)) {
            lang_error(s->ctx, p->loc, "parameter '%s' has an incomplete type '%s'", p->name,
                       lang_type_name(s->ctx, t));
        }
        bind(s, p);
    }
}

static void check_function(lang_sema *s, lang_func *f)
{
    s->func = f;
    lang_require_double(s, f->ret, f->loc);
    if (f->is_kernel && f->ret->kind != LANG_T_VOID)
        lang_error(s->ctx, f->loc, "kernel '%s' must return void", f->name);
    if (f->ret->kind == LANG_T_STRUCT && !f->ret->def->complete)
        lang_error(s->ctx, f->loc, "'%s' returns an incomplete type", f->name);
    scope_push(s);
    check_params(s, f);
    check_stmt(s, f->body);
    scope_pop(s);
    s->func = NULL;
}

/* Depth-first search of the call graph; a back edge is recursion. */
static int find_cycle(lang_sema *s, lang_func *f, lang_func **path, int depth)
{
    if (f->visit == 2)
        return 0;
    if (f->visit == 1) {
        char chain[300] = "";
        size_t used = 0;
        int start = depth - 1;
        while (start > 0 && path[start] != f)
            start--;
        for (int i = start; i < depth && used < sizeof chain - 64; i++)
            used += (size_t)snprintf(chain + used, sizeof chain - used, "'%s' calls ", path[i]->name);
        snprintf(chain + used, sizeof chain - used, "'%s'", f->name);
        lang_error(s->ctx, f->loc, "recursion is not allowed: %s (rule: no recursion)", chain);
        return 1;
    }
    if (depth >= LANG_MAX_NESTING) {
        lang_error(s->ctx, f->loc, "call chain from '%s' is too deep", f->name);
        return 1;
    }
    f->visit = 1;
    path[depth] = f;
    for (uint32_t i = 0; i < f->call_count; i++)
        if (find_cycle(s, f->calls[i], path, depth + 1))
            return 1;
    f->visit = 2;
    for (uint32_t i = 0; i < f->call_count; i++)
        f->uses_index |= f->calls[i]->uses_index;
    return 0;
}

static void check_constants(lang_sema *s)
{
    lang_program *prog = s->prog;
    for (uint32_t i = 0; i < prog->constant_count; i++) {
        lang_var *v = prog->constants[i];
        lang_require_double(s, v->type, v->loc);
        if (v->init) {
            v->type = check_init(s, v->type, v->init, v->name);
            if (is_runtime_expr(v->init))
                lang_error(s->ctx, v->init->loc,
                           "the initializer of constant '%s' must be a constant expression",
                           v->name);
        }
        if (!type_complete(v->type))
            lang_error(s->ctx, v->loc, "constant '%s' has an incomplete type", v->name);
        bind(s, v);
    }
}

void lang_check(lang_ctx *ctx, lang_program *prog)
{
    lang_sema *s = lang_alloc(ctx, sizeof *s);
    s->ctx = ctx;
    s->prog = prog;
    uint32_t anonymous = 0;
    for (lang_struct *st = prog->structs; st; st = st->next_defined) {
        if (st->name) {
            check_reserved_name(s, st->name, st->loc);
            st->emit_name = lang_emit_ident(ctx, st->name);
        } else {
            char name[32];
            snprintf(name, sizeof name, "kiln_anon_%u", ++anonymous);
            st->emit_name = lang_strndup(ctx, name, strlen(name));
        }
    }
    for (lang_func *f = prog->funcs; f; f = f->next)
        declare_function(s, f);
    check_constants(s);
    int errors = ctx->error_count;
    for (lang_func *f = prog->funcs; f; f = f->next)
        if (f->body)
            check_function(s, f);
    for (lang_func *f = prog->funcs; f; f = f->next)
        for (uint32_t i = 0; i < f->call_count; i++)
            if (!f->calls[i]->body) /* calls bind after every declaration, to a body if any */
                lang_error(ctx, f->loc, "'%s' calls '%s', which is declared but never defined",
                           f->name, f->calls[i]->name);
    lang_func **path = lang_alloc(ctx, (LANG_MAX_NESTING + 1) * sizeof *path);
    for (lang_func *f = prog->funcs; f; f = f->next)
        if (f->body && f->visit == 0 && find_cycle(s, f, path, 0))
            break;
    (void)errors;
    for (lang_func *f = prog->funcs; f; f = f->next)
        if (f->body && lang_type_uses_double(f->ret))
            prog->uses_double = 1;
    prog->uses_double |= ctx->caps.has_double;
}
