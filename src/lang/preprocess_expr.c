/* Integer constant expressions of #if / #elif, and the integer and
 * character literal readers shared with the parser. Arithmetic is done on
 * uint64_t so that no input can cause undefined behaviour. */
#include "preprocess.h"

#include <ctype.h>
#include <string.h>

int lang_int_literal(const char *text, uint64_t *value, int *is_unsigned, int *is_long)
{
    const char *p = text;
    unsigned base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    } else if (p[0] == '0') {
        base = 8;
    }
    uint64_t v = 0;
    int digits = 0, overflow = 0;
    for (; *p; p++) {
        unsigned d;
        if (isdigit((unsigned char)*p))
            d = (unsigned)(*p - '0');
        else if (base == 16 && isxdigit((unsigned char)*p))
            d = (unsigned)(tolower((unsigned char)*p) - 'a' + 10);
        else
            break;
        if (d >= base)
            return 0;
        if (v > (UINT64_MAX - d) / base)
            overflow = 1;
        v = v * base + d;
        digits++;
    }
    if (!digits && base != 8)
        return 0;
    int u = 0, l = 0;
    for (; *p; p++) {
        if ((*p == 'u' || *p == 'U') && !u)
            u = 1;
        else if ((*p == 'l' || *p == 'L') && l < 2)
            l++;
        else
            return 0;
    }
    if (overflow)
        return 0;
    *value = v;
    *is_unsigned = u;
    *is_long = l > 0;
    return 1;
}

int lang_char_literal(const char *text, uint64_t *value)
{
    size_t n = strlen(text);
    if (n < 3 || text[0] != '\'' || text[n - 1] != '\'')
        return 0;
    if (text[1] != '\\') {
        if (n != 3)
            return 0;
        *value = (unsigned char)text[1];
        return 1;
    }
    if (n != 4)
        return 0;
    switch (text[2]) {
    case 'n': *value = '\n'; return 1;
    case 't': *value = '\t'; return 1;
    case 'r': *value = '\r'; return 1;
    case '0': *value = 0; return 1;
    case '\\': *value = '\\'; return 1;
    case '\'': *value = '\''; return 1;
    case '"': *value = '"'; return 1;
    default: return 0;
    }
}

typedef struct pp_value {
    uint64_t v;
    int is_unsigned;
} pp_value;

typedef struct pp_eval {
    lang_ctx *ctx;
    lang_token *tok;
    lang_loc at;
    int depth;
    int unevaluated; /* inside operands C does not evaluate (&&, ||, ?:) */
    int failed;
} pp_eval;

static void eval_fail(pp_eval *ev, lang_loc loc, const char *message)
{
    if (!ev->failed)
        lang_error(ev->ctx, loc, "in #if: %s", message);
    ev->failed = 1;
}

static pp_value eval_cond(pp_eval *ev);

static pp_value eval_primary(pp_eval *ev)
{
    lang_token *t = ev->tok;
    pp_value r = {0, 0};
    if (++ev->depth > LANG_MAX_NESTING) {
        eval_fail(ev, t->loc, "nesting too deep");
        return r;
    }
    if (lang_tok_punct(t, '(')) {
        ev->tok = t->next;
        r = eval_cond(ev);
        if (!lang_tok_punct(ev->tok, ')'))
            eval_fail(ev, ev->tok->loc, "expected ')'");
        else
            ev->tok = ev->tok->next;
    } else if (lang_tok_punct(t, '-') || lang_tok_punct(t, '+') || lang_tok_punct(t, '~') ||
               lang_tok_punct(t, '!')) {
        ev->tok = t->next;
        r = eval_primary(ev);
        if (t->punct == '-')
            r.v = 0 - r.v;
        else if (t->punct == '~')
            r.v = ~r.v;
        else if (t->punct == '!')
            r = (pp_value){r.v == 0, 0};
    } else if (t->kind == LANG_TK_INT) {
        int u = 0, l = 0; /* left unset when the literal is invalid */
        if (!lang_int_literal(t->text, &r.v, &u, &l))
            eval_fail(ev, t->loc, "invalid integer literal");
        r.is_unsigned = u || r.v > (uint64_t)INT64_MAX;
        ev->tok = t->next;
    } else if (t->kind == LANG_TK_CHAR) {
        if (!lang_char_literal(t->text, &r.v))
            eval_fail(ev, t->loc, "invalid character literal");
        ev->tok = t->next;
    } else if (t->kind == LANG_TK_IDENT) {
        /* An identifier left after expansion is 0, as in C. */
        r.v = lang_tok_is(t, "true");
        ev->tok = t->next;
    } else {
        eval_fail(ev, t->loc, "expected an integer constant expression");
    }
    ev->depth--;
    return r;
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

static int less_than(pp_value a, pp_value b, int uns)
{
    return uns ? a.v < b.v : (int64_t)a.v < (int64_t)b.v;
}

static pp_value apply_binary(pp_eval *ev, const lang_token *op, pp_value a, pp_value b)
{
    int uns = a.is_unsigned || b.is_unsigned;
    pp_value r = {0, uns};
    switch (op->punct) {
    case '*': r.v = a.v * b.v; break;
    case '/': case '%':
        if (b.v == 0) {
            /* 0 && 1 / 0 is valid C: the division is never evaluated. */
            if (!ev->unevaluated)
                eval_fail(ev, op->loc, "division by zero");
            break;
        }
        if (uns)
            r.v = op->punct == '/' ? a.v / b.v : a.v % b.v;
        else if ((int64_t)a.v == INT64_MIN && (int64_t)b.v == -1)
            r.v = op->punct == '/' ? a.v : 0;
        else
            r.v = (uint64_t)(op->punct == '/' ? (int64_t)a.v / (int64_t)b.v
                                                : (int64_t)a.v % (int64_t)b.v);
        break;
    case '+': r.v = a.v + b.v; break;
    case '-': r.v = a.v - b.v; break;
    case LANG_P_SHL: r = (pp_value){b.v >= 64 ? 0 : a.v << b.v, a.is_unsigned}; break;
    case LANG_P_SHR:
        if (a.is_unsigned)
            r = (pp_value){b.v >= 64 ? 0 : a.v >> b.v, 1};
        else
            r = (pp_value){(uint64_t)((int64_t)a.v >> (b.v >= 64 ? 63 : b.v)), 0};
        break;
    case '<': r = (pp_value){less_than(a, b, uns), 0}; break;
    case '>': r = (pp_value){less_than(b, a, uns), 0}; break;
    case LANG_P_LE: r = (pp_value){!less_than(b, a, uns), 0}; break;
    case LANG_P_GE: r = (pp_value){!less_than(a, b, uns), 0}; break;
    case LANG_P_EQ: r = (pp_value){a.v == b.v, 0}; break;
    case LANG_P_NE: r = (pp_value){a.v != b.v, 0}; break;
    case '&': r.v = a.v & b.v; break;
    case '^': r.v = a.v ^ b.v; break;
    case '|': r.v = a.v | b.v; break;
    case LANG_P_ANDAND: r = (pp_value){a.v && b.v, 0}; break;
    case LANG_P_OROR: r = (pp_value){a.v || b.v, 0}; break;
    }
    return r;
}

static pp_value eval_binary(pp_eval *ev, int min_prec)
{
    pp_value lhs = eval_primary(ev);
    for (;;) {
        lang_token *op = ev->tok;
        int prec = binary_precedence(op);
        if (prec == 0 || prec < min_prec || ev->failed)
            return lhs;
        ev->tok = op->next;
        int skipped = (op->punct == LANG_P_ANDAND && lhs.v == 0) ||
                      (op->punct == LANG_P_OROR && lhs.v != 0);
        ev->unevaluated += skipped;
        pp_value rhs = eval_binary(ev, prec + 1);
        ev->unevaluated -= skipped;
        lhs = apply_binary(ev, op, lhs, rhs);
    }
}

static pp_value eval_cond(pp_eval *ev)
{
    if (++ev->depth > LANG_MAX_NESTING) {
        eval_fail(ev, ev->tok->loc, "nesting too deep");
        return (pp_value){0, 0};
    }
    pp_value c = eval_binary(ev, 1);
    if (lang_tok_punct(ev->tok, '?') && !ev->failed) {
        int chosen_first = c.v != 0;
        ev->tok = ev->tok->next;
        ev->unevaluated += !chosen_first;
        pp_value a = eval_cond(ev);
        ev->unevaluated -= !chosen_first;
        if (!lang_tok_punct(ev->tok, ':')) {
            eval_fail(ev, ev->tok->loc, "expected ':'");
        } else {
            ev->tok = ev->tok->next;
            ev->unevaluated += chosen_first;
            pp_value b = eval_cond(ev);
            ev->unevaluated -= chosen_first;
            /* Both arms convert to their common type, as in C. */
            c = chosen_first ? a : b;
            c.is_unsigned = a.is_unsigned || b.is_unsigned;
        }
    }
    ev->depth--;
    return c;
}

int lang_pp_evaluate(lang_ctx *ctx, lang_token *tokens, lang_loc at, int *value)
{
    pp_eval ev = {ctx, tokens, at, 0, 0, 0};
    if (tokens->kind == LANG_TK_EOF) {
        lang_error(ctx, at, "#if with no expression");
        return 0;
    }
    pp_value v = eval_cond(&ev);
    if (!ev.failed && ev.tok->kind != LANG_TK_EOF)
        eval_fail(&ev, ev.tok->loc, "unexpected token after the expression");
    *value = v.v != 0;
    return !ev.failed;
}
