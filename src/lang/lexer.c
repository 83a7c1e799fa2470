/* The lexer: text to a linked list of preprocessing tokens. It never fails:
 * a byte that starts no token becomes a LANG_TK_INVALID token, which the
 * parser reports if it survives preprocessing. */
#include "ast.h"

#include <ctype.h>
#include <string.h>

static const struct {
    const char *text;
    int punct;
} lang_puncts[] = {
    {"<<=", LANG_P_SHL_ASSIGN}, {">>=", LANG_P_SHR_ASSIGN}, {"...", LANG_P_ELLIPSIS},
    {"->", LANG_P_ARROW}, {"++", LANG_P_INC}, {"--", LANG_P_DEC}, {"<<", LANG_P_SHL},
    {">>", LANG_P_SHR}, {"<=", LANG_P_LE}, {">=", LANG_P_GE}, {"==", LANG_P_EQ},
    {"!=", LANG_P_NE}, {"&&", LANG_P_ANDAND}, {"||", LANG_P_OROR},
    {"+=", LANG_P_ADD_ASSIGN}, {"-=", LANG_P_SUB_ASSIGN}, {"*=", LANG_P_MUL_ASSIGN},
    {"/=", LANG_P_DIV_ASSIGN}, {"%=", LANG_P_MOD_ASSIGN}, {"&=", LANG_P_AND_ASSIGN},
    {"|=", LANG_P_OR_ASSIGN}, {"^=", LANG_P_XOR_ASSIGN}, {"##", LANG_P_HASHHASH},
};

const char *lang_punct_text(int punct)
{
    static const char singles[] = "!#%&()*+,-./:;<=>?[]^{|}~";
    static const char *const single_text[] = {"!", "#", "%", "&", "(", ")", "*", "+", ",", "-", ".", "/", ":", ";", "<", "=", ">", "?", "[", "]", "^", "{", "|", "}", "~"};
    if (punct > 0 && punct < 128) {
        const char *hit = strchr(singles, punct);
        return hit ? single_text[hit - singles] : "?";
    }
    for (size_t i = 0; i < sizeof lang_puncts / sizeof lang_puncts[0]; i++)
        if (lang_puncts[i].punct == punct)
            return lang_puncts[i].text;
    return "?";
}

int lang_tok_is(const lang_token *t, const char *ident)
{
    return t->kind == LANG_TK_IDENT && strcmp(t->text, ident) == 0;
}

int lang_tok_punct(const lang_token *t, int punct)
{
    return t->kind == LANG_TK_PUNCT && t->punct == punct;
}

typedef struct lexer {
    lang_ctx *ctx;
    const char *p;
    const char *end;
    uint32_t line;
    uint32_t col;
    int track;       /* 0: every token gets the origin location (-D text) */
    lang_loc origin;
} lexer;

static void lex_advance(lexer *lx, size_t n)
{
    while (n-- && lx->p < lx->end) {
        if (*lx->p == '\n') {
            lx->line++;
            lx->col = 1;
        } else {
            lx->col++;
        }
        lx->p++;
    }
}

static int lex_peek(const lexer *lx, size_t i)
{
    return lx->p + i < lx->end ? (unsigned char)lx->p[i] : -1;
}

/* Skips blanks and comments; reports whether a newline was crossed. */
static void lex_skip_space(lexer *lx, int *newline, int *space)
{
    while (lx->p < lx->end) {
        int c = lex_peek(lx, 0);
        if (c == '\n') {
            *newline = 1;
            *space = 1;
            lex_advance(lx, 1);
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            *space = 1;
            lex_advance(lx, 1);
        } else if (c == '\\' && (lex_peek(lx, 1) == '\n' ||
                                 (lex_peek(lx, 1) == '\r' && lex_peek(lx, 2) == '\n'))) {
            lex_advance(lx, lex_peek(lx, 1) == '\n' ? 2 : 3);
        } else if (c == '/' && lex_peek(lx, 1) == '/') {
            while (lx->p < lx->end && *lx->p != '\n')
                lex_advance(lx, 1);
            *space = 1;
        } else if (c == '/' && lex_peek(lx, 1) == '*') {
            lang_loc at = {lx->line, lx->col};
            lex_advance(lx, 2);
            while (lx->p < lx->end && !(lex_peek(lx, 0) == '*' && lex_peek(lx, 1) == '/'))
                lex_advance(lx, 1);
            if (lx->p >= lx->end)
                lang_error(lx->ctx, lx->track ? at : lx->origin, "unterminated comment");
            else
                lex_advance(lx, 2);
            *space = 1;
        } else {
            return;
        }
    }
}

static size_t lex_number_length(const lexer *lx)
{
    size_t n = 0;
    for (;;) {
        int c = lex_peek(lx, n);
        if ((c == '+' || c == '-') && n > 0) {
            int prev = (unsigned char)lx->p[n - 1];
            if (prev == 'e' || prev == 'E' || prev == 'p' || prev == 'P') {
                n++;
                continue;
            }
            return n;
        }
        if (c >= 0 && (isalnum(c) || c == '.' || c == '_'))
            n++;
        else
            return n;
    }
}

static int lex_number_is_float(const char *s, size_t n)
{
    int hex = n > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.')
            return 1;
        if (!hex && (s[i] == 'e' || s[i] == 'E'))
            return 1;
        if (hex && (s[i] == 'p' || s[i] == 'P'))
            return 1;
    }
    return 0;
}

static size_t lex_quoted_length(const lexer *lx, int quote)
{
    size_t n = 1;
    for (;;) {
        int c = lex_peek(lx, n);
        if (c < 0 || c == '\n')
            return n;
        n++;
        if (c == '\\' && lex_peek(lx, n) >= 0 && lex_peek(lx, n) != '\n')
            n++;
        else if (c == quote)
            return n;
    }
}

static size_t lex_punct_length(const lexer *lx, int *punct)
{
    for (size_t i = 0; i < sizeof lang_puncts / sizeof lang_puncts[0]; i++) {
        size_t n = strlen(lang_puncts[i].text);
        if ((size_t)(lx->end - lx->p) >= n && memcmp(lx->p, lang_puncts[i].text, n) == 0) {
            *punct = lang_puncts[i].punct;
            return n;
        }
    }
    int c = lex_peek(lx, 0);
    if (c > 0 && c < 128 && strchr("!#%&()*+,-./:;<=>?[]^{|}~", c)) {
        *punct = c;
        return 1;
    }
    return 0;
}

lang_token *lang_lex(lang_ctx *ctx, const char *text, size_t length, lang_loc origin)
{
    lexer lx = {ctx, text, text + length, 1, 1, origin.line != 0, origin};
    lang_token head = {0};
    lang_token *tail = &head;
    int newline = 1;
    for (;;) {
        int space = 0;
        lex_skip_space(&lx, &newline, &space);
        lang_token *t = lang_alloc(ctx, sizeof *t);
        t->loc = lx.track ? (lang_loc){lx.line, lx.col} : origin;
        t->at_line_start = (uint8_t)newline;
        t->space_before = (uint8_t)space;
        newline = 0;
        if (++ctx->token_count > LANG_MAX_TOKENS) {
            lang_error(ctx, t->loc, "source has too many tokens (limit %u)", LANG_MAX_TOKENS);
            lang_bail(ctx, KILN_ERR_COMPILE);
        }
        if (lx.p >= lx.end) {
            t->kind = LANG_TK_EOF;
            t->text = "";
            tail->next = t;
            return head.next;
        }
        int c = lex_peek(&lx, 0);
        size_t n;
        if (isdigit(c) || (c == '.' && lex_peek(&lx, 1) >= 0 && isdigit(lex_peek(&lx, 1)))) {
            n = lex_number_length(&lx);
            t->kind = lex_number_is_float(lx.p, n) ? LANG_TK_FLOAT : LANG_TK_INT;
        } else if (isalpha(c) || c == '_') {
            n = 1;
            while (lex_peek(&lx, n) >= 0 && (isalnum(lex_peek(&lx, n)) || lex_peek(&lx, n) == '_'))
                n++;
            t->kind = LANG_TK_IDENT;
        } else if (c == '\'' || c == '"') {
            n = lex_quoted_length(&lx, c);
            t->kind = c == '\'' ? LANG_TK_CHAR : LANG_TK_STRING;
        } else if ((n = lex_punct_length(&lx, &t->punct)) > 0) {
            t->kind = LANG_TK_PUNCT;
        } else {
            n = 1;
            t->kind = LANG_TK_INVALID;
        }
        t->text = lang_strndup(ctx, lx.p, n);
        t->length = (uint32_t)n;
        lex_advance(&lx, n);
        tail->next = t;
        tail = t;
    }
}
