/* Statements and local declarations. goto and labels are reported here
 * (rule: no goto) and parsing goes on. */
#include "parser.h"

#include <string.h>

lang_stmt *lang_new_stmt(lang_ctx *ctx, lang_stmt_kind kind, lang_loc loc)
{
    lang_stmt *s = lang_alloc(ctx, sizeof *s);
    s->kind = kind;
    s->loc = loc;
    return s;
}

static lang_stmt *parse_stmt(lang_parser *ps);

static lang_expr *parse_paren_expr(lang_parser *ps, const char *what)
{
    lang_expect(ps, '(', what);
    lang_expr *e = lang_parse_expr(ps);
    lang_expect(ps, ')', what);
    return e;
}

lang_stmt *lang_parse_local_decl(lang_parser *ps)
{
    lang_stmt *s = lang_new_stmt(ps->ctx, LANG_S_DECL, ps->tok->loc);
    lang_specs spec;
    lang_parse_specs(ps, &spec);
    if (spec.is_typedef)
        lang_parse_fail(ps, spec.loc, "typedef is allowed at file scope only");
    if (spec.is_kernel)
        lang_parse_fail(ps, spec.loc, "'kernel' applies to functions only");
    if (lang_accept(ps, ';')) {
        if (spec.type->kind != LANG_T_STRUCT)
            lang_error(ps->ctx, spec.loc, "declaration declares nothing");
        return s;
    }
    uint32_t cap = 0;
    do {
        const char *name;
        lang_loc loc;
        const lang_type *t = lang_parse_declarator(ps, &spec, &name, &loc, 0);
        if (lang_tok_punct(ps->tok, '('))
            lang_parse_fail(ps, loc, "functions cannot be declared inside a function");
        lang_var *v = lang_alloc(ps->ctx, sizeof *v);
        v->name = name;
        v->type = t;
        v->loc = loc;
        v->region = -1;
        if (t->kind != LANG_T_POINTER) {
            v->is_const = spec.is_const;
            v->space = spec.has_space ? spec.space : LANG_SPACE_PRIVATE;
        }
        if (spec.is_static && !(spec.is_const && t->kind != LANG_T_POINTER))
            lang_error(ps->ctx, spec.loc,
                       "'static' variable '%s' is not allowed (rule: no mutable static "
                       "variables)", name);
        if (lang_accept(ps, '='))
            v->init = lang_parse_initializer(ps);
        if (s->var_count == cap) {
            cap = cap ? cap * 2 : 4;
            lang_var **grown = lang_alloc(ps->ctx, cap * sizeof *grown);
            if (s->var_count)
                memcpy(grown, s->vars, s->var_count * sizeof *grown);
            s->vars = grown;
        }
        s->vars[s->var_count++] = v;
    } while (lang_accept(ps, ','));
    lang_expect(ps, ';', "after a declaration");
    return s;
}

lang_stmt *lang_parse_block(lang_parser *ps)
{
    lang_stmt *b = lang_new_stmt(ps->ctx, LANG_S_BLOCK, ps->tok->loc);
    lang_expect(ps, '{', "to start a block");
    lang_enter(ps);
    uint32_t cap = 0;
    int depth = 0;
    while (!lang_accept(ps, '}')) {
        if (ps->tok->kind == LANG_TK_EOF)
            lang_parse_fail(ps, b->loc, "unterminated block: missing '}'");
        lang_stmt *s = parse_stmt(ps);
        if (b->item_count == cap) {
            cap = cap ? cap * 2 : 8;
            lang_stmt **grown = lang_alloc(ps->ctx, cap * sizeof *grown);
            if (b->item_count)
                memcpy(grown, b->items, b->item_count * sizeof *grown);
            b->items = grown;
        }
        b->items[b->item_count++] = s;
        if (s->depth > depth)
            depth = s->depth;
    }
    lang_leave(ps);
    b->depth = depth + 1;
    return b;
}

static int child_depth(const lang_stmt *s)
{
    return s ? s->depth : 0;
}

static lang_stmt *parse_for(lang_parser *ps, lang_loc loc)
{
    lang_stmt *s = lang_new_stmt(ps->ctx, LANG_S_FOR, loc);
    lang_expect(ps, '(', "after 'for'");
    if (lang_accept(ps, ';')) {
        /* no init */
    } else if (lang_starts_type(ps, ps->tok)) {
        s->init = lang_parse_local_decl(ps);
    } else {
        s->init = lang_new_stmt(ps->ctx, LANG_S_EXPR, ps->tok->loc);
        s->init->expr = lang_parse_expr(ps);
        lang_expect(ps, ';', "after the for initializer");
    }
    if (!lang_tok_punct(ps->tok, ';'))
        s->expr = lang_parse_expr(ps);
    lang_expect(ps, ';', "after the for condition");
    if (!lang_tok_punct(ps->tok, ')'))
        s->step = lang_parse_expr(ps);
    lang_expect(ps, ')', "after the for clauses");
    s->body = parse_stmt(ps);
    return s;
}

static lang_stmt *parse_keyword_stmt(lang_parser *ps, lang_token *t)
{
    const char *k = t->text;
    lang_loc loc = t->loc;
    lang_stmt *s;
    if (!strcmp(k, "if")) {
        ps->tok = t->next;
        s = lang_new_stmt(ps->ctx, LANG_S_IF, loc);
        s->expr = parse_paren_expr(ps, "around the if condition");
        s->body = parse_stmt(ps);
        if (lang_tok_is(ps->tok, "else")) {
            ps->tok = ps->tok->next;
            s->else_body = parse_stmt(ps);
        }
    } else if (!strcmp(k, "for")) {
        ps->tok = t->next;
        s = parse_for(ps, loc);
    } else if (!strcmp(k, "while")) {
        ps->tok = t->next;
        s = lang_new_stmt(ps->ctx, LANG_S_WHILE, loc);
        s->expr = parse_paren_expr(ps, "around the while condition");
        s->body = parse_stmt(ps);
    } else if (!strcmp(k, "do")) {
        ps->tok = t->next;
        s = lang_new_stmt(ps->ctx, LANG_S_DO, loc);
        s->body = parse_stmt(ps);
        if (!lang_tok_is(ps->tok, "while"))
            lang_parse_fail(ps, ps->tok->loc, "expected 'while' after the do body");
        ps->tok = ps->tok->next;
        s->expr = parse_paren_expr(ps, "around the do-while condition");
        lang_expect(ps, ';', "after do-while");
    } else if (!strcmp(k, "switch")) {
        ps->tok = t->next;
        s = lang_new_stmt(ps->ctx, LANG_S_SWITCH, loc);
        s->expr = parse_paren_expr(ps, "around the switch value");
        s->body = parse_stmt(ps);
    } else if (!strcmp(k, "case")) {
        ps->tok = t->next;
        s = lang_new_stmt(ps->ctx, LANG_S_CASE, loc);
        s->expr = lang_parse_expr(ps);
        lang_expect(ps, ':', "after the case value");
    } else if (!strcmp(k, "default") && lang_tok_punct(t->next, ':')) {
        ps->tok = t->next->next;
        s = lang_new_stmt(ps->ctx, LANG_S_DEFAULT, loc);
    } else if (!strcmp(k, "break") || !strcmp(k, "continue")) {
        ps->tok = t->next;
        s = lang_new_stmt(ps->ctx, k[0] == 'b' ? LANG_S_BREAK : LANG_S_CONTINUE, loc);
        lang_expect(ps, ';', k[0] == 'b' ? "after 'break'" : "after 'continue'");
    } else if (!strcmp(k, "return")) {
        ps->tok = t->next;
        s = lang_new_stmt(ps->ctx, LANG_S_RETURN, loc);
        if (!lang_tok_punct(ps->tok, ';'))
            s->expr = lang_parse_expr(ps);
        lang_expect(ps, ';', "after return");
    } else if (!strcmp(k, "goto")) {
        lang_error(ps->ctx, loc, "goto is not allowed (rule: no goto)");
        ps->tok = t->next;
        while (ps->tok->kind != LANG_TK_EOF && !lang_accept(ps, ';'))
            ps->tok = ps->tok->next;
        s = lang_new_stmt(ps->ctx, LANG_S_EMPTY, loc);
    } else if (!strcmp(k, "else")) {
        lang_parse_fail(ps, loc, "'else' without a matching 'if'");
    } else {
        return NULL;
    }
    return s;
}

static lang_stmt *parse_stmt(lang_parser *ps)
{
    lang_token *t = ps->tok;
    lang_stmt *s = NULL;
    lang_enter(ps);
    if (t->kind == LANG_TK_INVALID)
        lang_parse_fail(ps, t->loc, "unexpected character '%s'", t->text);
    if (lang_tok_punct(t, '{')) {
        s = lang_parse_block(ps);
    } else if (lang_accept(ps, ';')) {
        s = lang_new_stmt(ps->ctx, LANG_S_EMPTY, t->loc);
    } else if (t->kind == LANG_TK_IDENT && (s = parse_keyword_stmt(ps, t)) != NULL) {
        /* done */
    } else if (t->kind == LANG_TK_IDENT && lang_tok_punct(t->next, ':')) {
        lang_error(ps->ctx, t->loc, "labels are not allowed (rule: no goto)");
        ps->tok = t->next->next;
        s = lang_new_stmt(ps->ctx, LANG_S_EMPTY, t->loc);
    } else if (lang_starts_type(ps, t)) {
        s = lang_parse_local_decl(ps);
    } else {
        s = lang_new_stmt(ps->ctx, LANG_S_EXPR, t->loc);
        s->expr = lang_parse_expr(ps);
        lang_expect(ps, ';', "after the expression");
    }
    lang_leave(ps);
    int d = child_depth(s->body);
    if (child_depth(s->else_body) > d)
        d = child_depth(s->else_body);
    /* A for's init is a declaration or an expression: depth 1, never
     * deeper than the body. */
    if (s->kind != LANG_S_BLOCK)
        s->depth = d + 1;
    return s;
}
