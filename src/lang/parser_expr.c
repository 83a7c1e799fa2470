/* Expressions: precedence climbing over C's operators. Depth is bounded
 * both by recursion (lang_enter) and by the depth of the tree built by the
 * left-associative loops, so later walkers can recurse safely. */
#include "parser.h"
#include "preprocess.h"

#include <string.h>

lang_expr *lang_new_expr(lang_ctx *ctx, lang_expr_kind kind, lang_loc loc)
{
    lang_expr *e = lang_alloc(ctx, sizeof *e);
    e->kind = kind;
    e->loc = loc;
    e->depth = 1;
    return e;
}

static lang_expr *with_children(lang_parser *ps, lang_expr *e)
{
    int d = 0;
    const lang_expr *kids[3] = {e->a, e->b, e->c};
    for (int i = 0; i < 3; i++)
        if (kids[i] && kids[i]->depth > d)
            d = kids[i]->depth;
    for (uint32_t i = 0; i < e->arg_count; i++)
        if (e->args[i]->depth > d)
            d = e->args[i]->depth;
    e->depth = d + 1;
    if (e->depth > LANG_MAX_NESTING) {
        lang_error(ps->ctx, e->loc, "nesting too deep (limit %d)", LANG_MAX_NESTING);
        lang_bail(ps->ctx, KILN_ERR_COMPILE);
    }
    return e;
}

static lang_expr *parse_cast(lang_parser *ps);

/* digits [. digits] [e [+-] digits]: the spelling is copied into every
 * dialect, so it must be valid in all. The lexer starts a number only at a
 * digit or at '.' before a digit, so there is a digit before any 'e'. */
static int float_spelling_valid(const char *s)
{
    while (*s >= '0' && *s <= '9')
        s++;
    if (*s == '.') {
        s++;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

static lang_expr *parse_number(lang_parser *ps, lang_token *t)
{
    lang_expr *e;
    if (t->kind == LANG_TK_FLOAT) {
        e = lang_new_expr(ps->ctx, LANG_E_FLOAT, t->loc);
        size_t n = t->length;
        int is_float = n > 0 && (t->text[n - 1] == 'f' || t->text[n - 1] == 'F');
        /* hex digits never end a decimal float, but 0x1p3f is hex with 'f' */
        if (is_float)
            n--;
        e->text = lang_strndup(ps->ctx, t->text, n);
        e->ival = (uint64_t)is_float;
        if (!float_spelling_valid(e->text))
            lang_parse_fail(ps, t->loc, "invalid floating literal '%s'", t->text);
        return e;
    }
    e = lang_new_expr(ps->ctx, LANG_E_INT, t->loc);
    int uns = 0, lng = 0;
    if (t->kind == LANG_TK_CHAR) {
        if (!lang_char_literal(t->text, &e->ival))
            lang_parse_fail(ps, t->loc, "invalid character literal %s", t->text);
        e->op = 0;
        return e;
    }
    if (!lang_int_literal(t->text, &e->ival, &uns, &lng))
        lang_parse_fail(ps, t->loc, "invalid integer literal '%s'", t->text);
    /* op carries the suffix: bit 0 unsigned, bit 1 long; bit 2 decimal */
    e->op = uns | (lng << 1) | ((t->text[0] != '0' || t->length == 1) << 2);
    return e;
}

static lang_expr *parse_primary(lang_parser *ps)
{
    lang_token *t = ps->tok;
    switch (t->kind) {
    case LANG_TK_INT:
    case LANG_TK_FLOAT:
    case LANG_TK_CHAR:
        ps->tok = t->next;
        return parse_number(ps, t);
    case LANG_TK_IDENT: {
        ps->tok = t->next;
        if (!strcmp(t->text, "true") || !strcmp(t->text, "false")) {
            lang_expr *e = lang_new_expr(ps->ctx, LANG_E_BOOL, t->loc);
            e->ival = t->text[0] == 't';
            return e;
        }
        lang_expr *e = lang_new_expr(ps->ctx, LANG_E_IDENT, t->loc);
        e->name = t->text;
        return e;
    }
    case LANG_TK_STRING:
        lang_parse_fail(ps, t->loc, "string literals are not supported");
    case LANG_TK_EOF:
        lang_parse_fail(ps, t->loc, "expected an expression at end of input");
    default:
        break;
    }
    if (lang_tok_punct(t, '(')) {
        ps->tok = t->next;
        lang_enter(ps);
        lang_expr *e = lang_parse_expr(ps);
        lang_leave(ps);
        lang_expect(ps, ')', "to close '('");
        return e;
    }
    lang_parse_fail(ps, t->loc, "expected an expression before '%s'", t->text);
}

static lang_expr *parse_postfix(lang_parser *ps)
{
    lang_expr *e = parse_primary(ps);
    for (;;) {
        lang_token *t = ps->tok;
        if (lang_accept(ps, '[')) {
            lang_expr *x = lang_new_expr(ps->ctx, LANG_E_INDEX, t->loc);
            x->a = e;
            x->b = lang_parse_expr(ps);
            lang_expect(ps, ']', "to close '['");
            e = with_children(ps, x);
        } else if (lang_accept(ps, '(')) {
            if (e->kind != LANG_E_IDENT)
                lang_parse_fail(ps, t->loc, "function pointers are not allowed: only named "
                                            "functions can be called");
            lang_expr *call = lang_new_expr(ps->ctx, LANG_E_CALL, e->loc);
            call->name = e->name;
            uint32_t cap = 0;
            if (!lang_accept(ps, ')')) {
                do {
                    if (call->arg_count == cap) {
                        cap = cap ? cap * 2 : 4;
                        lang_expr **grown = lang_alloc(ps->ctx, cap * sizeof *grown);
                        if (call->arg_count)
                            memcpy(grown, call->args, call->arg_count * sizeof *grown);
                        call->args = grown;
                    }
                    call->args[call->arg_count++] = lang_parse_assign(ps);
                } while (lang_accept(ps, ','));
                lang_expect(ps, ')', "after call arguments");
            }
            e = with_children(ps, call);
        } else if (lang_tok_punct(t, '.') || lang_tok_punct(t, LANG_P_ARROW)) {
            ps->tok = t->next;
            if (ps->tok->kind != LANG_TK_IDENT)
                lang_parse_fail(ps, ps->tok->loc, "expected a member name after '%s'", t->text);
            lang_expr *m = lang_new_expr(ps->ctx, LANG_E_MEMBER, t->loc);
            m->op = t->punct;
            m->a = e;
            m->name = ps->tok->text;
            ps->tok = ps->tok->next;
            e = with_children(ps, m);
        } else if (lang_tok_punct(t, LANG_P_INC) || lang_tok_punct(t, LANG_P_DEC)) {
            ps->tok = t->next;
            lang_expr *p = lang_new_expr(ps->ctx, LANG_E_POSTFIX, t->loc);
            p->op = t->punct;
            p->a = e;
            e = with_children(ps, p);
        } else {
            return e;
        }
    }
}

static lang_expr *parse_unary(lang_parser *ps)
{
    lang_token *t = ps->tok;
    if (t->kind == LANG_TK_PUNCT &&
        (t->punct == '-' || t->punct == '+' || t->punct == '!' || t->punct == '~' ||
         t->punct == '*' || t->punct == '&' || t->punct == LANG_P_INC || t->punct == LANG_P_DEC)) {
        ps->tok = t->next;
        lang_enter(ps);
        lang_expr *e = lang_new_expr(ps->ctx, LANG_E_UNARY, t->loc);
        e->op = t->punct;
        e->a = parse_cast(ps);
        lang_leave(ps);
        return with_children(ps, e);
    }
    if (lang_tok_is(t, "sizeof")) {
        ps->tok = t->next;
        lang_expr *e = lang_new_expr(ps->ctx, LANG_E_SIZEOF, t->loc);
        if (lang_tok_punct(ps->tok, '(') && lang_starts_type(ps, ps->tok->next)) {
            ps->tok = ps->tok->next;
            e->cast_type = lang_parse_type_name(ps);
            lang_expect(ps, ')', "after the type in sizeof");
            return e;
        }
        lang_enter(ps);
        e->a = parse_unary(ps);
        lang_leave(ps);
        return with_children(ps, e);
    }
    return parse_postfix(ps);
}

static lang_expr *parse_cast(lang_parser *ps)
{
    lang_token *t = ps->tok;
    if (lang_tok_punct(t, '(') && lang_starts_type(ps, t->next)) {
        ps->tok = t->next;
        lang_expr *e = lang_new_expr(ps->ctx, LANG_E_CAST, t->loc);
        e->cast_type = lang_parse_type_name(ps);
        lang_expect(ps, ')', "after the type in a cast");
        if (lang_tok_punct(ps->tok, '{'))
            lang_parse_fail(ps, ps->tok->loc, "compound literals are not supported");
        lang_enter(ps);
        e->a = parse_cast(ps);
        lang_leave(ps);
        return with_children(ps, e);
    }
    return parse_unary(ps);
}

static int binary_precedence(const lang_token *t)
{
    if (t->kind != LANG_TK_PUNCT)
        return 0;
    switch (t->punct) {
    case '*': case '/': case '%': return 10;
    case '+': case '-': return 9;
    case LANG_P_SHL: case LANG_P_SHR: return 8;
    case '<': case '>': case LANG_P_LE: case LANG_P_GE: return 7;
    case LANG_P_EQ: case LANG_P_NE: return 6;
    case '&': return 5;
    case '^': return 4;
    case '|': return 3;
    case LANG_P_ANDAND: return 2;
    case LANG_P_OROR: return 1;
    default: return 0;
    }
}

static lang_expr *parse_binary(lang_parser *ps, int min_prec)
{
    lang_enter(ps);
    lang_expr *lhs = parse_cast(ps);
    for (;;) {
        lang_token *op = ps->tok;
        int prec = binary_precedence(op);
        if (prec == 0 || prec < min_prec)
            break;
        ps->tok = op->next;
        lang_expr *e = lang_new_expr(ps->ctx, LANG_E_BINARY, op->loc);
        e->op = op->punct;
        e->a = lhs;
        e->b = parse_binary(ps, prec + 1);
        lhs = with_children(ps, e);
    }
    lang_leave(ps);
    return lhs;
}

static lang_expr *parse_conditional(lang_parser *ps)
{
    lang_expr *c = parse_binary(ps, 1);
    lang_token *q = ps->tok;
    if (!lang_accept(ps, '?'))
        return c;
    lang_enter(ps);
    lang_expr *e = lang_new_expr(ps->ctx, LANG_E_COND, q->loc);
    e->a = c;
    e->b = lang_parse_expr(ps);
    lang_expect(ps, ':', "in a conditional expression");
    e->c = parse_conditional(ps);
    lang_leave(ps);
    return with_children(ps, e);
}

static int is_assign_op(const lang_token *t)
{
    if (t->kind != LANG_TK_PUNCT)
        return 0;
    return t->punct == '=' || (t->punct >= LANG_P_ADD_ASSIGN && t->punct <= LANG_P_SHR_ASSIGN);
}

lang_expr *lang_parse_assign(lang_parser *ps)
{
    lang_enter(ps);
    lang_expr *lhs = parse_conditional(ps);
    lang_token *op = ps->tok;
    if (is_assign_op(op)) {
        ps->tok = op->next;
        lang_expr *e = lang_new_expr(ps->ctx, LANG_E_ASSIGN, op->loc);
        e->op = op->punct;
        e->a = lhs;
        e->b = lang_parse_assign(ps);
        lhs = with_children(ps, e);
    }
    lang_leave(ps);
    return lhs;
}

lang_expr *lang_parse_expr(lang_parser *ps)
{
    lang_expr *e = lang_parse_assign(ps);
    if (lang_tok_punct(ps->tok, ','))
        lang_parse_fail(ps, ps->tok->loc, "the comma operator is not supported");
    return e;
}

lang_expr *lang_parse_initializer(lang_parser *ps)
{
    lang_token *t = ps->tok;
    if (!lang_accept(ps, '{'))
        return lang_parse_assign(ps);
    lang_enter(ps);
    lang_expr *list = lang_new_expr(ps->ctx, LANG_E_INIT_LIST, t->loc);
    uint32_t cap = 0;
    while (!lang_tok_punct(ps->tok, '}')) {
        if (list->arg_count == cap) {
            cap = cap ? cap * 2 : 8;
            lang_expr **grown = lang_alloc(ps->ctx, cap * sizeof *grown);
            if (list->arg_count)
                memcpy(grown, list->args, list->arg_count * sizeof *grown);
            list->args = grown;
        }
        list->args[list->arg_count++] = lang_parse_initializer(ps);
        if (!lang_accept(ps, ','))
            break;
    }
    lang_expect(ps, '}', "to close the initializer list");
    lang_leave(ps);
    return with_children(ps, list);
}
