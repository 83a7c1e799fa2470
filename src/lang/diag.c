/* Diagnostics: "name:line:col: error: message", the offending source line
 * and a caret under the column. After LANG_MAX_ERRORS the translation
 * stops, so a hopeless input cannot produce unbounded output. */
#include "ast.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Longest source line echoed under a diagnostic. */
#define LANG_DIAG_LINE_MAX 400

static void diag_source_line(lang_ctx *ctx, lang_loc loc)
{
    const char *p = ctx->src;
    const char *end = ctx->src + ctx->src_length;
    for (uint32_t line = 1; line < loc.line && p < end; p++)
        if (*p == '\n')
            line++;
    if (p >= end && loc.line > 1)
        return;
    const char *eol = p;
    while (eol < end && *eol != '\n' && *eol != '\r')
        eol++;
    size_t n = (size_t)(eol - p);
    if (n > LANG_DIAG_LINE_MAX)
        n = LANG_DIAG_LINE_MAX;
    lang_buf_append(ctx, &ctx->diag, p, n);
    lang_buf_puts(ctx, &ctx->diag, "\n");
    /* The caret line copies tabs so it lines up in any tab width. */
    for (uint32_t i = 1; i < loc.col && i <= n; i++)
        lang_buf_puts(ctx, &ctx->diag, p[i - 1] == '\t' ? "\t" : " ");
    lang_buf_puts(ctx, &ctx->diag, "^\n");
}

void lang_error(lang_ctx *ctx, lang_loc loc, const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    ctx->error_count++;
    if (loc.line == 0) {
        lang_buf_printf(ctx, &ctx->diag, "%s: error: %s\n", ctx->name, message);
    } else {
        lang_buf_printf(ctx, &ctx->diag, "%s:%u:%u: error: %s\n", ctx->name, loc.line, loc.col,
                        message);
        diag_source_line(ctx, loc);
    }
    if (ctx->error_count >= LANG_MAX_ERRORS) {
        lang_buf_printf(ctx, &ctx->diag, "%s: error: too many errors, stopping\n", ctx->name);
        lang_bail(ctx, KILN_ERR_COMPILE);
    }
}
