/* The AST walker shared by every dialect. It writes fully parenthesized
 * expressions, so no precedence question reaches the target compiler, and a
 * #line directive before each statement whose source line changed, so a
 * native compiler's error points at the .kc line. */
#include "emit.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void lang_emit_puts(lang_emitter *em, const char *text)
{
    lang_buf_puts(em->ctx, em->out, text);
}

static void emit_vprintf(lang_ctx *ctx, lang_buf *b, const char *fmt, va_list ap)
{
    char small[512];
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(small, sizeof small, fmt, copy);
    va_end(copy);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        lang_buf_append(ctx, b, small, (size_t)n);
        return;
    }
    char *big = lang_alloc(ctx, (size_t)n + 1);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    lang_buf_append(ctx, b, big, (size_t)n);
}

void lang_emit_printf(lang_emitter *em, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit_vprintf(em->ctx, em->out, fmt, ap);
    va_end(ap);
}

void lang_prelude_printf(lang_emitter *em, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit_vprintf(em->ctx, &em->ctx->prelude, fmt, ap);
    va_end(ap);
}

void lang_header_printf(lang_emitter *em, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit_vprintf(em->ctx, &em->ctx->header, fmt, ap);
    va_end(ap);
}

int lang_emit_first(lang_emitter *em, const char *key)
{
    if (lang_map_get(&em->written, key))
        return 0;
    lang_map_put(em->ctx, &em->written, lang_strndup(em->ctx, key, strlen(key)), (void *)1);
    return 1;
}

void lang_emit_indent(lang_emitter *em)
{
    for (int i = 0; i < em->indent && i < LANG_MAX_NESTING; i++)
        lang_emit_puts(em, "    ");
}

/* The source name inside a #line string: quotes and backslashes escaped,
 * control characters replaced, so any name yields a valid directive. */
static void emit_line_name(lang_emitter *em)
{
    for (const char *p = em->ctx->name; *p; p++) {
        char c = *p;
        if (c == '"' || c == '\\') {
            char esc[3] = {'\\', c, 0};
            lang_emit_puts(em, esc);
        } else {
            char one[2] = {(char)((unsigned char)c < 32 || c == 127 ? '_' : c), 0};
            lang_emit_puts(em, one);
        }
    }
}

void lang_emit_line(lang_emitter *em, lang_loc loc)
{
    if (loc.line == 0 || loc.line == em->line)
        return;
    em->line = loc.line;
    lang_emit_printf(em, "#line %u \"", loc.line);
    emit_line_name(em);
    lang_emit_puts(em, "\"\n");
}

const char *lang_vector_suffix(lang_emitter *em, const lang_type *v)
{
    char name[16];
    snprintf(name, sizeof name, "%s%u", lang_scalar_kiln_name(v->base->kind), v->count);
    return lang_strndup(em->ctx, name, strlen(name));
}

const char *lang_emit_type_name(lang_emitter *em, const lang_type *t)
{
    switch (t->kind) {
    case LANG_T_VECTOR:
        return em->d->vector_name(em, t);
    case LANG_T_STRUCT: {
        char buf[300];
        snprintf(buf, sizeof buf, "struct %s", t->def->emit_name);
        return lang_strndup(em->ctx, buf, strlen(buf));
    }
    case LANG_T_POINTER: {
        const char *base = lang_emit_type_name(em, t->base);
        const char *space = em->d->pointer_space(t->space);
        size_t n = strlen(base) + strlen(space) + 16;
        char *buf = lang_alloc(em->ctx, n);
        snprintf(buf, n, "%s%s%s *", space, t->pointee_const ? "const " : "", base);
        return buf;
    }
    case LANG_T_ARRAY:
        return lang_emit_type_name(em, t->base); /* dimensions follow the name */
    default:
        return em->d->scalar_name(t->kind);
    }
}

void lang_emit_decl(lang_emitter *em, const lang_type *t, const char *name, int is_const)
{
    const lang_type *elem = t;
    while (elem->kind == LANG_T_ARRAY)
        elem = elem->base;
    lang_emit_printf(em, "%s%s%s%s", is_const ? "const " : "", lang_emit_type_name(em, elem),
                     elem->kind == LANG_T_POINTER ? "" : " ", name);
    for (const lang_type *a = t; a->kind == LANG_T_ARRAY; a = a->base)
        lang_emit_printf(em, "[%u]", a->count);
}

void lang_emit_literal_int(lang_emitter *em, uint64_t v, lang_type_kind k)
{
    int opencl = em->d == &lang_dialect_opencl;
    switch (k) {
    case LANG_T_UINT:
        lang_emit_printf(em, "%lluu", (unsigned long long)v);
        break;
    case LANG_T_LONG:
        lang_emit_printf(em, "%llu%s", (unsigned long long)v, opencl ? "L" : "LL");
        break;
    case LANG_T_ULONG:
        lang_emit_printf(em, "%llu%s", (unsigned long long)v, opencl ? "UL" : "ULL");
        break;
    default:
        lang_emit_printf(em, "%llu", (unsigned long long)v);
    }
}

void lang_emit_expr_as(lang_emitter *em, const lang_expr *e, const lang_type *to)
{
    if (lang_type_equal(e->type, to) || !lang_type_is_arith(e->type) || !lang_type_is_arith(to)) {
        lang_emit_expr(em, e);
        return;
    }
    lang_emit_printf(em, "((%s)(", lang_emit_type_name(em, to));
    lang_emit_expr(em, e);
    lang_emit_puts(em, "))");
}

static void emit_ident(lang_emitter *em, const lang_expr *e)
{
    const lang_var *v = e->var;
    if (em->promote && v->remat)
        lang_emit_printf(em, "kiln_r%d_%s", v->promoted, v->emit_name);
    else if (em->promote && v->promoted)
        lang_emit_printf(em, "kiln_p%d_%s[kiln_flat]", v->promoted, v->emit_name);
    else
        lang_emit_puts(em, v->emit_name);
}

static int is_vector_arith(const lang_expr *e)
{
    return e->type->kind == LANG_T_VECTOR;
}

static int compound_op(int op)
{
    switch (op) {
    case LANG_P_ADD_ASSIGN: return '+';
    case LANG_P_SUB_ASSIGN: return '-';
    case LANG_P_MUL_ASSIGN: return '*';
    default: return '/'; /* sema allows only + - * / on vectors */
    }
}

static void emit_call(lang_emitter *em, const lang_expr *e)
{
    if (e->builtin != LANG_B_NONE) {
        em->d->emit_builtin(em, e);
        return;
    }
    lang_emit_printf(em, "%s(", e->callee->emit_name);
    int context = em->d->emit_call_context && em->d->emit_call_context(em, e->callee);
    for (uint32_t i = 0; i < e->arg_count; i++) {
        if (i || context)
            lang_emit_puts(em, ", ");
        lang_emit_expr_as(em, e->args[i], e->callee->params[i]->type);
    }
    lang_emit_puts(em, ")");
}

void lang_emit_expr(lang_emitter *em, const lang_expr *e)
{
    switch (e->kind) {
    case LANG_E_INT:
        lang_emit_literal_int(em, e->ival, e->type->kind);
        return;
    case LANG_E_FLOAT:
        lang_emit_printf(em, "%s%s", e->text, e->type->kind == LANG_T_FLOAT ? "f" : "");
        return;
    case LANG_E_BOOL:
        lang_emit_puts(em, e->ival ? "1" : "0");
        return;
    case LANG_E_SIZEOF:
        lang_emit_literal_int(em, (uint64_t)e->const_value, LANG_T_ULONG);
        return;
    case LANG_E_IDENT:
        emit_ident(em, e);
        return;
    case LANG_E_UNARY:
        if (e->op == '-' && is_vector_arith(e)) {
            em->d->emit_vector_op(em, 'n', e->type, e->a, NULL);
            return;
        }
        lang_emit_printf(em, "(%s", lang_punct_text(e->op));
        lang_emit_expr(em, e->a);
        lang_emit_puts(em, ")");
        return;
    case LANG_E_POSTFIX:
        lang_emit_puts(em, "(");
        lang_emit_expr(em, e->a);
        lang_emit_printf(em, "%s)", lang_punct_text(e->op));
        return;
    case LANG_E_BINARY:
        if (is_vector_arith(e)) {
            em->d->emit_vector_op(em, e->op, e->type, e->a, e->b);
            return;
        }
        if ((e->op == '/' || e->op == '%') && em->d->emit_int_div &&
            lang_type_is_integer(e->type)) {
            em->d->emit_int_div(em, e->op, e->type, e->a, e->b);
            return;
        }
        lang_emit_puts(em, "(");
        lang_emit_expr(em, e->a);
        lang_emit_printf(em, " %s ", lang_punct_text(e->op));
        lang_emit_expr(em, e->b);
        lang_emit_puts(em, ")");
        return;
    case LANG_E_ASSIGN:
        lang_emit_puts(em, "(");
        lang_emit_expr(em, e->a);
        if (is_vector_arith(e->a) && e->op != '=') {
            lang_emit_puts(em, " = ");
            em->d->emit_vector_op(em, compound_op(e->op), e->a->type, e->a, e->b);
        } else if ((e->op == LANG_P_DIV_ASSIGN || e->op == LANG_P_MOD_ASSIGN) &&
                   em->d->emit_int_div && lang_type_is_integer(e->a->type) &&
                   lang_type_is_integer(e->b->type) && !lang_has_side_effects(e->a)) {
            const lang_type *t = lang_arith_common(e->a->type, e->b->type);
            lang_emit_printf(em, " = (%s)", lang_emit_type_name(em, e->a->type));
            em->d->emit_int_div(em, e->op == LANG_P_DIV_ASSIGN ? '/' : '%', t, e->a, e->b);
        } else {
            lang_emit_printf(em, " %s ", lang_punct_text(e->op));
            if (e->op == '=')
                lang_emit_expr_as(em, e->b, e->a->type);
            else
                lang_emit_expr(em, e->b);
        }
        lang_emit_puts(em, ")");
        return;
    case LANG_E_COND:
        lang_emit_puts(em, "(");
        lang_emit_expr(em, e->a);
        lang_emit_puts(em, " ? ");
        lang_emit_expr_as(em, e->b, e->type);
        lang_emit_puts(em, " : ");
        lang_emit_expr_as(em, e->c, e->type);
        lang_emit_puts(em, ")");
        return;
    case LANG_E_CALL:
        emit_call(em, e);
        return;
    case LANG_E_INDEX:
        if (em->d->emit_index && em->d->emit_index(em, e))
            return;
        lang_emit_expr(em, e->a);
        lang_emit_puts(em, "[");
        lang_emit_expr(em, e->b);
        lang_emit_puts(em, "]");
        return;
    case LANG_E_MEMBER:
        lang_emit_expr(em, e->a);
        lang_emit_printf(em, "%s%s", e->op == LANG_P_ARROW ? "->" : ".",
                         e->a->type->kind == LANG_T_VECTOR ? e->name
                                                           : lang_emit_ident(em->ctx, e->name));
        return;
    case LANG_E_CAST:
        if (e->cast_type->kind == LANG_T_VOID) {
            lang_emit_puts(em, "((void)(");
        } else {
            lang_emit_printf(em, "((%s)(", lang_emit_type_name(em, e->cast_type));
        }
        lang_emit_expr(em, e->a);
        lang_emit_puts(em, "))");
        return;
    case LANG_E_INIT_LIST:
        lang_emit_initializer(em, e, e->type);
        return;
    }
}

void lang_emit_initializer(lang_emitter *em, const lang_expr *init, const lang_type *t)
{
    if (init->kind != LANG_E_INIT_LIST) {
        lang_emit_expr_as(em, init, t);
        return;
    }
    lang_emit_puts(em, "{");
    for (uint32_t i = 0; i < init->arg_count; i++) {
        const lang_type *et = t;
        if (t->kind == LANG_T_ARRAY)
            et = t->base;
        else if (t->kind == LANG_T_STRUCT && i < t->def->member_count)
            et = t->def->members[i].type;
        lang_emit_puts(em, i ? ", " : "");
        lang_emit_initializer(em, init->args[i], et);
    }
    lang_emit_puts(em, "}");
}

void lang_emit_var_decl(lang_emitter *em, const lang_var *v)
{
    if (em->promote && (v->space == LANG_SPACE_SHARED || v->remat))
        return; /* C group kernels declare these at entry or loop top */
    lang_emit_indent(em);
    if (em->promote && v->promoted) {
        if (!v->init) {
            lang_emit_puts(em, ";\n");
        } else if (v->init->kind == LANG_E_INIT_LIST) {
            lang_emit_puts(em, "{ ");
            lang_emit_decl(em, v->type, "kiln_tmp", 0);
            lang_emit_puts(em, " = ");
            lang_emit_initializer(em, v->init, v->type);
            lang_emit_printf(em, "; __builtin_memcpy(&kiln_p%d_%s[kiln_flat], &kiln_tmp, sizeof "
                                 "kiln_tmp); }\n", v->promoted, v->emit_name);
        } else {
            lang_emit_printf(em, "kiln_p%d_%s[kiln_flat] = ", v->promoted, v->emit_name);
            lang_emit_expr_as(em, v->init, v->type);
            lang_emit_puts(em, ";\n");
        }
        return;
    }
    if (v->space == LANG_SPACE_SHARED)
        lang_emit_puts(em, em->d->shared_prefix);
    lang_emit_decl(em, v->type, v->emit_name, v->is_const);
    if (v->init) {
        lang_emit_puts(em, " = ");
        lang_emit_initializer(em, v->init, v->type);
    }
    lang_emit_puts(em, ";\n");
}

static void emit_sub(lang_emitter *em, const lang_stmt *s)
{
    if (s->kind == LANG_S_BLOCK) {
        lang_emit_stmt(em, s);
        return;
    }
    lang_emit_indent(em);
    lang_emit_puts(em, "{\n");
    em->indent++;
    lang_emit_stmt(em, s);
    em->indent--;
    lang_emit_indent(em);
    lang_emit_puts(em, "}\n");
}

void lang_emit_block_items(lang_emitter *em, const lang_stmt *block)
{
    for (uint32_t i = 0; i < block->item_count; i++)
        lang_emit_stmt(em, block->items[i]);
}

static void emit_simple(lang_emitter *em, const char *head, const lang_expr *e)
{
    lang_emit_indent(em);
    lang_emit_puts(em, head);
    if (e)
        lang_emit_expr(em, e);
}

void lang_emit_stmt(lang_emitter *em, const lang_stmt *s)
{
    if (s->kind != LANG_S_BLOCK && s->kind != LANG_S_DECL)
        lang_emit_line(em, s->loc);
    switch (s->kind) {
    case LANG_S_EMPTY:
        break;
    case LANG_S_EXPR:
        emit_simple(em, "", s->expr);
        lang_emit_puts(em, ";\n");
        break;
    case LANG_S_DECL:
        for (uint32_t i = 0; i < s->var_count; i++) {
            lang_emit_line(em, s->vars[i]->loc);
            lang_emit_var_decl(em, s->vars[i]);
        }
        break;
    case LANG_S_BLOCK:
        lang_emit_indent(em);
        lang_emit_puts(em, "{\n");
        em->indent++;
        lang_emit_block_items(em, s);
        em->indent--;
        lang_emit_indent(em);
        lang_emit_puts(em, "}\n");
        break;
    case LANG_S_IF:
        emit_simple(em, "if (", s->expr);
        lang_emit_puts(em, ")\n");
        emit_sub(em, s->body);
        if (s->else_body) {
            lang_emit_indent(em);
            lang_emit_puts(em, "else\n");
            emit_sub(em, s->else_body);
        }
        break;
    case LANG_S_WHILE:
        emit_simple(em, "while (", s->expr);
        lang_emit_puts(em, ")\n");
        emit_sub(em, s->body);
        break;
    case LANG_S_DO:
        lang_emit_indent(em);
        lang_emit_puts(em, "do\n");
        emit_sub(em, s->body);
        emit_simple(em, "while (", s->expr);
        lang_emit_puts(em, ");\n");
        break;
    case LANG_S_FOR:
        /* { init; for (; cond; step) body }: the same scoping, and a
         * declaration list needs no special spelling. */
        lang_emit_indent(em);
        lang_emit_puts(em, "{\n");
        em->indent++;
        if (s->init)
            lang_emit_stmt(em, s->init);
        lang_emit_indent(em);
        lang_emit_puts(em, "for (; ");
        if (s->expr)
            lang_emit_expr(em, s->expr);
        lang_emit_puts(em, "; ");
        if (s->step)
            lang_emit_expr(em, s->step);
        lang_emit_puts(em, ")\n");
        emit_sub(em, s->body);
        em->indent--;
        lang_emit_indent(em);
        lang_emit_puts(em, "}\n");
        break;
    case LANG_S_BREAK:
        emit_simple(em, "break;\n", NULL);
        break;
    case LANG_S_CONTINUE:
        emit_simple(em, "continue;\n", NULL);
        break;
    case LANG_S_RETURN:
        if (em->region_label) {
            lang_emit_indent(em);
            lang_emit_printf(em, "{ kiln_done[kiln_flat] = 1; goto kiln_end_%d; }\n",
                             em->region_label);
            break;
        }
        emit_simple(em, "return", NULL);
        if (s->expr) {
            lang_emit_puts(em, " ");
            lang_emit_expr_as(em, s->expr, em->func->ret);
        }
        lang_emit_puts(em, ";\n");
        break;
    case LANG_S_SWITCH:
        emit_simple(em, "switch (", s->expr);
        lang_emit_puts(em, ")\n");
        emit_sub(em, s->body);
        break;
    case LANG_S_CASE:
        emit_simple(em, "case ", s->expr);
        lang_emit_puts(em, ":;\n");
        break;
    case LANG_S_DEFAULT:
        emit_simple(em, "default:;\n", NULL);
        break;
    }
}

void lang_emit_params(lang_emitter *em, const lang_func *f, int first)
{
    for (uint32_t i = 0; i < f->param_count; i++) {
        if (i || !first)
            lang_emit_puts(em, ", ");
        lang_emit_decl(em, f->params[i]->type, f->params[i]->emit_name, 0);
    }
}

static void emit_structs(lang_emitter *em)
{
    for (lang_struct *s = em->prog->structs; s; s = s->next_defined) {
        if (!s->complete)
            continue;
        lang_emit_line(em, s->loc);
        lang_emit_printf(em, "struct %s {\n", s->emit_name);
        for (uint32_t i = 0; i < s->member_count; i++) {
            lang_emit_puts(em, "    ");
            lang_emit_decl(em, s->members[i].type, lang_emit_ident(em->ctx, s->members[i].name), 0);
            lang_emit_puts(em, ";\n");
        }
        lang_emit_puts(em, "};\n");
    }
}

static void emit_constants(lang_emitter *em)
{
    for (uint32_t i = 0; i < em->prog->constant_count; i++) {
        const lang_var *v = em->prog->constants[i];
        lang_emit_line(em, v->loc);
        lang_emit_puts(em, em->d->constant_prefix);
        lang_emit_decl(em, v->type, v->emit_name, 0);
        if (v->init) {
            lang_emit_puts(em, " = ");
            lang_emit_initializer(em, v->init, v->type);
        }
        lang_emit_puts(em, ";\n");
    }
}

static void emit_helper_signature(lang_emitter *em, const lang_func *f)
{
    lang_emit_printf(em, "%s", em->d->helper_prefix);
    lang_emit_decl(em, f->ret, f->emit_name, 0);
    lang_emit_puts(em, "(");
    int first = 1;
    if (em->d->emit_helper_context && f->uses_index) {
        em->d->emit_helper_context(em, f);
        first = 0;
    }
    if (f->param_count == 0 && first)
        lang_emit_puts(em, "void");
    lang_emit_params(em, f, first);
    lang_emit_puts(em, ")");
}

void lang_emit_program(lang_ctx *ctx, lang_program *prog, const lang_dialect *d)
{
    lang_emitter *em = lang_alloc(ctx, sizeof *em);
    em->ctx = ctx;
    em->prog = prog;
    em->d = d;
    em->out = &ctx->out;
    d->unit_header(em);
    emit_structs(em);
    emit_constants(em);
    for (lang_func *f = prog->funcs; f; f = f->next)
        if (f->body && !f->is_kernel) {
            emit_helper_signature(em, f);
            lang_emit_puts(em, ";\n");
        }
    for (lang_func *f = prog->funcs; f; f = f->next) {
        if (!f->body)
            continue;
        em->func = f;
        if (f->is_kernel) {
            d->emit_kernel(em, f);
            continue;
        }
        lang_emit_line(em, f->loc);
        emit_helper_signature(em, f);
        lang_emit_puts(em, "\n");
        lang_emit_stmt(em, f->body);
    }
}
