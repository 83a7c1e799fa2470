/* The preprocessor: object- and function-like #define (with ##), #undef,
 * #if/#ifdef/#ifndef/#elif/#else/#endif, -D definitions. #include is an
 * error: a kernel source is self-contained. Expansion follows the hide-set
 * algorithm (a macro is not expanded again inside its own expansion) and is
 * bounded by LANG_MAX_TOKENS and LANG_MAX_EXPANSION_DEPTH, so recursive or
 * exponential macros end in an error, never a hang. */
#include "preprocess.h"

#include <string.h>

#define PP_BUCKETS 256

struct lang_hideset {
    const char *name;
    struct lang_hideset *next;
    uint32_t length; /* nodes in this chain, bounded by LANG_MAX_HIDESET */
};

typedef struct pp_macro {
    const char *name;
    int function_like;
    const char **params;
    uint32_t param_count;
    lang_token *body; /* ends with an EOF token */
    struct pp_macro *next;
} pp_macro;

typedef struct pp_cond {
    int taken;      /* a branch of this #if group was included */
    int seen_else;
    lang_loc loc;
    struct pp_cond *next;
} pp_cond;

typedef struct pp {
    lang_ctx *ctx;
    pp_macro *buckets[PP_BUCKETS];
    pp_cond *conds;
} pp;

static lang_token *pp_scan(pp *p, lang_token *tok, int directives, int depth);

static unsigned pp_hash(const char *s)
{
    unsigned h = 2166136261u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h % PP_BUCKETS;
}

static pp_macro **pp_find_slot(pp *p, const char *name)
{
    pp_macro **slot = &p->buckets[pp_hash(name)];
    while (*slot && strcmp((*slot)->name, name) != 0)
        slot = &(*slot)->next;
    return slot;
}

static int hideset_has(const lang_hideset *h, const char *name)
{
    for (; h; h = h->next)
        if (strcmp(h->name, name) == 0)
            return 1;
    return 0;
}

/* A macro expanding inside LANG_MAX_HIDESET others is a chain no real
 * kernel needs, and checking such sets would cost quadratic time. */
static lang_hideset *hideset_push(pp *p, const char *name, lang_hideset *next, lang_loc loc)
{
    uint32_t length = next ? next->length + 1 : 1;
    if (length > LANG_MAX_HIDESET) {
        lang_error(p->ctx, loc, "macro expansion nested too deeply (limit %d)", LANG_MAX_HIDESET);
        lang_bail(p->ctx, KILN_ERR_COMPILE);
    }
    lang_hideset *h = lang_alloc(p->ctx, sizeof *h);
    h->name = name;
    h->next = next;
    h->length = length;
    return h;
}

static lang_token *copy_token(pp *p, const lang_token *t)
{
    if (++p->ctx->token_count > LANG_MAX_TOKENS) {
        lang_error(p->ctx, t->loc, "macro expansion too large (recursive or exponential macros?)");
        lang_bail(p->ctx, KILN_ERR_COMPILE);
    }
    lang_token *c = lang_alloc(p->ctx, sizeof *c);
    *c = *t;
    c->next = NULL;
    return c;
}

static lang_token *eof_token(pp *p, lang_loc loc)
{
    lang_token *t = lang_alloc(p->ctx, sizeof *t);
    t->kind = LANG_TK_EOF;
    t->text = "";
    t->loc = loc;
    return t;
}

/* Scanning relinks its input, so lists that are read again are copied. */
static lang_token *copy_list(pp *p, const lang_token *list)
{
    lang_token head = {0};
    lang_token *tail = &head;
    for (; list->kind != LANG_TK_EOF; list = list->next)
        tail = tail->next = copy_token(p, list);
    tail->next = copy_token(p, list);
    return head.next;
}

/* Splits off the rest of a directive line: returns the line's tokens ending
 * with an EOF token and sets *rest to the first token of the next line. */
static lang_token *take_line(pp *p, lang_token *tok, lang_token **rest)
{
    lang_token head = {0};
    lang_token *tail = &head;
    while (tok->kind != LANG_TK_EOF && !tok->at_line_start) {
        tail->next = tok;
        tail = tok;
        tok = tok->next;
    }
    /* The end of the line is just past its last token: errors about a
     * missing token point there, not at the next line. */
    lang_loc end = tail == &head ? tok->loc
                                 : (lang_loc){tail->loc.line, tail->loc.col + tail->length};
    tail->next = eof_token(p, end);
    *rest = tok;
    return head.next;
}

static void define_macro(pp *p, lang_token *line, lang_loc loc)
{
    if (line->kind != LANG_TK_IDENT) {
        lang_error(p->ctx, line->kind == LANG_TK_EOF ? loc : line->loc,
                   "#define needs a macro name");
        return;
    }
    pp_macro *m = lang_alloc(p->ctx, sizeof *m);
    m->name = line->text;
    lang_token *t = line->next;
    if (lang_tok_punct(t, '(') && !t->space_before) {
        m->function_like = 1;
        uint32_t cap = 0;
        t = t->next;
        while (!lang_tok_punct(t, ')')) {
            if (lang_tok_punct(t, LANG_P_ELLIPSIS)) {
                lang_error(p->ctx, t->loc, "variadic macros are not supported");
                return;
            }
            if (t->kind != LANG_TK_IDENT) {
                lang_error(p->ctx, t->loc, "expected a macro parameter name");
                return;
            }
            if (m->param_count == LANG_MAX_PARAMS) {
                lang_error(p->ctx, t->loc, "a macro has at most %d parameters", LANG_MAX_PARAMS);
                return;
            }
            if (m->param_count == cap) {
                cap = cap ? cap * 2 : 4;
                const char **grown = lang_alloc(p->ctx, cap * sizeof *grown);
                if (m->param_count)
                    memcpy(grown, m->params, m->param_count * sizeof *grown);
                m->params = grown;
            }
            m->params[m->param_count++] = t->text;
            t = t->next;
            if (lang_tok_punct(t, ','))
                t = t->next;
            else if (!lang_tok_punct(t, ')')) {
                lang_error(p->ctx, t->loc, "expected ',' or ')' in macro parameters");
                return;
            }
        }
        t = t->next;
    }
    for (lang_token *b = t; b->kind != LANG_TK_EOF; b = b->next)
        if (lang_tok_punct(b, '#') && m->function_like) {
            lang_error(p->ctx, b->loc, "'#' stringizing is not supported");
            return;
        }
    m->body = t;
    pp_macro **slot = pp_find_slot(p, m->name);
    m->next = *slot ? (*slot)->next : NULL;
    *slot = m;
}

static void undefine_macro(pp *p, const char *name)
{
    pp_macro **slot = pp_find_slot(p, name);
    if (*slot)
        *slot = (*slot)->next;
}

/* Replaces defined X / defined(X) with 1 or 0 before expansion. */
static lang_token *resolve_defined(pp *p, lang_token *line)
{
    lang_token head = {0};
    lang_token *tail = &head;
    lang_token *t = line;
    while (t->kind != LANG_TK_EOF) {
        if (!lang_tok_is(t, "defined")) {
            tail = tail->next = copy_token(p, t);
            t = t->next;
            continue;
        }
        lang_token *name = t->next;
        int paren = lang_tok_punct(name, '(');
        if (paren)
            name = name->next;
        if (name->kind != LANG_TK_IDENT) {
            lang_error(p->ctx, name->loc, "'defined' needs a macro name");
            break;
        }
        lang_token *after = name->next;
        if (paren) {
            if (!lang_tok_punct(after, ')')) {
                lang_error(p->ctx, after->loc, "expected ')' after 'defined(NAME'");
                break;
            }
            after = after->next;
        }
        lang_token *v = copy_token(p, t);
        v->kind = LANG_TK_INT;
        v->text = *pp_find_slot(p, name->text) ? "1" : "0";
        v->length = 1;
        tail = tail->next = v;
        t = after;
    }
    tail->next = eof_token(p, t->loc);
    return head.next;
}

static int eval_if(pp *p, lang_token *line, lang_loc loc)
{
    lang_token *expanded = pp_scan(p, resolve_defined(p, line), 0, 0);
    int value = 0;
    lang_pp_evaluate(p->ctx, expanded, loc, &value);
    return value;
}

/* Skips tokens of an excluded branch; returns the '#' of the #elif, #else or
 * #endif that ends it (or EOF). */
static lang_token *skip_branch(lang_token *tok)
{
    int depth = 0;
    while (tok->kind != LANG_TK_EOF) {
        if (lang_tok_punct(tok, '#') && tok->at_line_start && tok->next->kind == LANG_TK_IDENT &&
            !tok->next->at_line_start) {
            const char *d = tok->next->text;
            /* Two exits on purpose: the outer #endif, and #elif/#else at depth 0. */
            if (!strcmp(d, "if") || !strcmp(d, "ifdef") || !strcmp(d, "ifndef"))
                depth++;
            else if (!strcmp(d, "endif") && depth-- == 0)
                return tok; /* NOLINT(bugprone-branch-clone) */
            else if ((!strcmp(d, "elif") || !strcmp(d, "else")) && depth == 0)
                return tok;
        }
        tok = tok->next;
    }
    return tok;
}

static void push_cond(pp *p, int taken, lang_loc loc)
{
    pp_cond *c = lang_alloc(p->ctx, sizeof *c);
    c->taken = taken;
    c->loc = loc;
    c->next = p->conds;
    p->conds = c;
}

/* Handles the directive whose '#' is hash; returns where scanning resumes. */
static lang_token *directive(pp *p, lang_token *hash)
{
    lang_token *rest;
    lang_token *name = hash->next;
    if (name->at_line_start || name->kind == LANG_TK_EOF)
        return name; /* the null directive */
    lang_token *line = take_line(p, name->next, &rest);
    const char *d = name->text;
    if (name->kind != LANG_TK_IDENT) {
        lang_error(p->ctx, name->loc, "invalid preprocessing directive");
    } else if (!strcmp(d, "define")) {
        define_macro(p, line, name->loc);
    } else if (!strcmp(d, "undef")) {
        if (line->kind != LANG_TK_IDENT)
            lang_error(p->ctx, name->loc, "#undef needs a macro name");
        else
            undefine_macro(p, line->text);
    } else if (!strcmp(d, "if") || !strcmp(d, "ifdef") || !strcmp(d, "ifndef")) {
        int value;
        if (!strcmp(d, "if")) {
            value = eval_if(p, line, name->loc);
        } else if (line->kind != LANG_TK_IDENT) {
            lang_error(p->ctx, name->loc, "#%s needs a macro name", d);
            value = 0;
        } else {
            value = (*pp_find_slot(p, line->text) != NULL) == (d[2] == 'd');
        }
        push_cond(p, value, hash->loc);
        if (!value)
            return skip_branch(rest);
    } else if (!strcmp(d, "elif") || !strcmp(d, "else")) {
        pp_cond *c = p->conds;
        if (!c || c->seen_else) {
            lang_error(p->ctx, name->loc, "#%s without a matching #if", d);
            return rest;
        }
        if (d[1] == 'l' && d[2] == 's')
            c->seen_else = 1;
        if (c->taken)
            return skip_branch(rest);
        int value = c->seen_else ? 1 : eval_if(p, line, name->loc);
        c->taken = value;
        if (!value)
            return skip_branch(rest);
    } else if (!strcmp(d, "endif")) {
        if (!p->conds)
            lang_error(p->ctx, name->loc, "#endif without a matching #if");
        else
            p->conds = p->conds->next;
    } else if (!strcmp(d, "include")) {
        lang_error(p->ctx, name->loc,
                   "#include is not supported: a kernel source must be self-contained");
    } else if (!strcmp(d, "error")) {
        lang_error(p->ctx, name->loc, "#error directive");
    } else if (!strcmp(d, "pragma") || !strcmp(d, "line")) {
        /* accepted and ignored */
    } else {
        lang_error(p->ctx, name->loc, "unknown preprocessing directive '#%s'", d);
    }
    return rest;
}

/* Argument tokens of one macro parameter, as written and fully expanded. */
typedef struct pp_arg {
    lang_token *raw;      /* ends with EOF */
    lang_token *expanded; /* computed on first use */
} pp_arg;

static pp_arg *collect_args(pp *p, const pp_macro *m, lang_token *lparen, lang_token **rest,
                            uint32_t *count)
{
    uint32_t cap = m->param_count ? m->param_count : 1;
    pp_arg *args = lang_alloc(p->ctx, cap * sizeof *args);
    uint32_t n = 0;
    int depth = 0;
    lang_token head = {0};
    lang_token *tail = &head;
    lang_token *t = lparen->next;
    for (;; t = t->next) {
        if (t->kind == LANG_TK_EOF) {
            lang_error(p->ctx, lparen->loc, "unterminated invocation of macro '%s'", m->name);
            return NULL;
        }
        int ends = depth == 0 && (lang_tok_punct(t, ',') || lang_tok_punct(t, ')'));
        if (ends) {
            tail->next = eof_token(p, t->loc);
            if (n < cap)
                args[n].raw = head.next;
            n++;
            head.next = NULL;
            tail = &head;
            if (lang_tok_punct(t, ')'))
                break;
            continue;
        }
        if (lang_tok_punct(t, '('))
            depth++;
        else if (lang_tok_punct(t, ')'))
            depth--;
        tail = tail->next = copy_token(p, t);
    }
    *rest = t->next;
    if (n == 1 && m->param_count == 0 && args[0].raw->kind == LANG_TK_EOF)
        n = 0;
    if (n != m->param_count) {
        lang_error(p->ctx, lparen->loc, "macro '%s' takes %u argument(s), %u given", m->name,
                   m->param_count, n);
        return NULL;
    }
    *count = n;
    return args;
}

static int param_index(const pp_macro *m, const lang_token *t)
{
    if (t->kind != LANG_TK_IDENT)
        return -1;
    for (uint32_t i = 0; i < m->param_count; i++)
        if (strcmp(m->params[i], t->text) == 0)
            return (int)i;
    return -1;
}

/* Joins two tokens for ##; the result must lex as exactly one token. */
static lang_token *paste(pp *p, const lang_token *a, const lang_token *b)
{
    size_t n = a->length + b->length;
    char *text = lang_alloc(p->ctx, n + 1);
    memcpy(text, a->text, a->length);
    memcpy(text + a->length, b->text, b->length);
    lang_token *t = lang_lex(p->ctx, text, n, (lang_loc){1, 1});
    if (t->kind == LANG_TK_EOF || t->next->kind != LANG_TK_EOF) {
        lang_error(p->ctx, a->loc, "'##' of '%s' and '%s' does not form one token", a->text,
                   b->text);
        return copy_token(p, a);
    }
    t->loc = a->loc;
    t->hide = a->hide;
    t->space_before = a->space_before;
    t->at_line_start = 0;
    t->next = NULL;
    return t;
}

/* Appends copies of list (up to its EOF) marked with hide. */
static lang_token *append_copies(pp *p, lang_token *tail, const lang_token *list, lang_loc loc,
                                 lang_hideset *hide, lang_token **prev)
{
    for (; list->kind != LANG_TK_EOF; list = list->next) {
        *prev = tail;
        lang_token *c = copy_token(p, list);
        c->loc = loc;
        c->at_line_start = 0;
        c->hide = hideset_push(p, hide->name, list->hide ? list->hide : hide->next, list->loc);
        tail = tail->next = c;
    }
    return tail;
}

/* Expands macro m invoked at tok; returns the expansion followed by the rest
 * of the input, or NULL if tok is not an invocation. */
static lang_token *expand(pp *p, pp_macro *m, lang_token *tok, int depth)
{
    lang_token *rest = tok->next;
    pp_arg *args = NULL;
    uint32_t argc = 0;
    if (m->function_like) {
        if (!lang_tok_punct(tok->next, '('))
            return NULL;
        args = collect_args(p, m, tok->next, &rest, &argc);
        if (!args)
            return rest;
    }
    lang_hideset *hide = hideset_push(p, m->name, tok->hide, tok->loc);
    lang_token head = {0};
    lang_token *tail = &head;
    lang_token *prev = NULL; /* the node before tail, for ## */
    for (lang_token *b = m->body; b->kind != LANG_TK_EOF; b = b->next) {
        int pasted_left = tail != &head && b != m->body && lang_tok_punct(b, LANG_P_HASHHASH);
        if (lang_tok_punct(b, LANG_P_HASHHASH)) {
            lang_token *rhs = b->next;
            if (!pasted_left || rhs->kind == LANG_TK_EOF) {
                lang_error(p->ctx, b->loc, "'##' needs an operand on each side");
                continue;
            }
            /* args is NULL exactly when m is object-like (no parameters). */
            int pi = args ? param_index(m, rhs) : -1;
            lang_token *right = pi >= 0 ? args[pi].raw : rhs;
            if (right->kind != LANG_TK_EOF) {
                lang_token *joined = paste(p, tail, right);
                prev->next = joined;
                tail = joined;
                if (pi >= 0)
                    tail = append_copies(p, tail, right->next, tok->loc, hide, &prev);
            }
            b = rhs;
            continue;
        }
        int pi = args ? param_index(m, b) : -1;
        if (pi >= 0) {
            const lang_token *src;
            if (lang_tok_punct(b->next, LANG_P_HASHHASH)) {
                src = args[pi].raw;
            } else {
                if (!args[pi].expanded)
                    args[pi].expanded = pp_scan(p, copy_list(p, args[pi].raw), 0, depth + 1);
                src = args[pi].expanded;
            }
            tail = append_copies(p, tail, src, tok->loc, hide, &prev);
            continue;
        }
        lang_token *c = copy_token(p, b);
        c->loc = tok->loc;
        c->at_line_start = 0;
        c->hide = hide;
        prev = tail;
        tail = tail->next = c;
    }
    if (head.next)
        head.next->space_before = tok->space_before;
    /* tail is &head or the last token appended: copy_token() and paste()
     * bail out of the translation rather than return NULL. */
    tail->next = rest; /* NOLINT(clang-analyzer-core.NullDereference) */
    return head.next ? head.next : rest;
}

/* Copies tokens to a new list, handling directives (at top level) and
 * expanding macros. The input ends with EOF; so does the output. */
static lang_token *pp_scan(pp *p, lang_token *tok, int directives, int depth)
{
    if (depth > LANG_MAX_EXPANSION_DEPTH) {
        lang_error(p->ctx, tok->loc, "macro expansion nested too deeply");
        lang_bail(p->ctx, KILN_ERR_COMPILE);
    }
    lang_token head = {0};
    lang_token *tail = &head;
    while (tok->kind != LANG_TK_EOF) {
        if (directives && tok->at_line_start && lang_tok_punct(tok, '#')) {
            tok = directive(p, tok);
            continue;
        }
        if (tok->kind == LANG_TK_IDENT && !hideset_has(tok->hide, tok->text)) {
            pp_macro *m = *pp_find_slot(p, tok->text);
            if (m) {
                lang_token *expanded = expand(p, m, tok, depth);
                if (expanded) {
                    tok = expanded;
                    continue;
                }
            }
        }
        lang_token *next = tok->next;
        tail = tail->next = tok;
        tok = next;
    }
    tail->next = tok;
    return head.next;
}

static void add_defines(pp *p, const char *defines)
{
    lang_ctx *ctx = p->ctx;
    const char *s = defines;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == '\n')
            s++;
        if (!*s)
            break;
        const char *start = s;
        while (*s && *s != ' ' && *s != '\t' && *s != '\n')
            s++;
        size_t n = (size_t)(s - start);
        if (n < 3 || start[0] != '-' || start[1] != 'D') {
            lang_error(ctx, (lang_loc){0, 0}, "invalid define option '%.*s' (expected -DNAME=value)",
                       (int)(n > 64 ? 64 : n), start);
            continue;
        }
        const char *eq = memchr(start, '=', n);
        size_t name_len = eq ? (size_t)(eq - start) - 2 : n - 2;
        const char *value = eq ? eq + 1 : "1";
        size_t value_len = eq ? (size_t)(s - eq - 1) : 1;
        lang_token *name = lang_lex(ctx, start + 2, name_len, (lang_loc){0, 0});
        if (name->kind != LANG_TK_IDENT || name->next->kind != LANG_TK_EOF) {
            lang_error(ctx, (lang_loc){0, 0}, "invalid macro name in define option '%.*s'",
                       (int)(n > 64 ? 64 : n), start);
            continue;
        }
        pp_macro *m = lang_alloc(ctx, sizeof *m);
        m->name = name->text;
        m->body = lang_lex(ctx, value, value_len, (lang_loc){0, 0});
        pp_macro **slot = pp_find_slot(p, m->name);
        m->next = *slot ? (*slot)->next : NULL;
        *slot = m;
    }
}

lang_token *lang_preprocess(lang_ctx *ctx, lang_token *tokens, const char *defines)
{
    pp *p = lang_alloc(ctx, sizeof *p);
    p->ctx = ctx;
    if (defines)
        add_defines(p, defines);
    lang_token *out = pp_scan(p, tokens, 1, 0);
    for (pp_cond *c = p->conds; c; c = c->next)
        lang_error(ctx, c->loc, "unterminated #if");
    return out;
}
