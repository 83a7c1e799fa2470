/* One arena per translation: every token, type and AST node lives in it, so
 * a failed translation (any input, any error) frees everything at once. On
 * allocation failure or a limit the translation longjmps out through
 * ctx->bail; nothing below it needs to check for NULL. */
#include "ast.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LANG_CHUNK_BYTES ((size_t)64 * 1024)

struct lang_chunk {
    struct lang_chunk *next;
    size_t used;
    size_t capacity;
    max_align_t data[];
};

void lang_bail(lang_ctx *ctx, kiln_status status)
{
    ctx->bail_status = status;
    longjmp(ctx->bail, 1);
}

void *lang_alloc(lang_ctx *ctx, size_t bytes)
{
    const size_t align = sizeof(max_align_t);
    bytes = (bytes + align - 1) / align * align;
    lang_chunk *c = ctx->chunks;
    if (!c || c->capacity - c->used < bytes) {
        size_t cap = bytes > LANG_CHUNK_BYTES ? bytes : LANG_CHUNK_BYTES;
        if (ctx->arena_bytes + cap > LANG_MAX_ARENA_BYTES) {
            lang_error(ctx, (lang_loc){0, 0}, "translation needs too much memory (limit %u MiB)",
                       LANG_MAX_ARENA_BYTES >> 20);
            lang_bail(ctx, KILN_ERR_COMPILE);
        }
        c = malloc(sizeof *c + cap);
        if (!c)
            lang_bail(ctx, KILN_ERR_OUT_OF_HOST_MEMORY);
        c->next = ctx->chunks;
        c->used = 0;
        c->capacity = cap;
        ctx->chunks = c;
        ctx->arena_bytes += cap;
    }
    void *p = (char *)c->data + c->used;
    c->used += bytes;
    memset(p, 0, bytes);
    return p;
}

char *lang_strndup(lang_ctx *ctx, const char *s, size_t n)
{
    char *p = lang_alloc(ctx, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void lang_arena_free(lang_ctx *ctx)
{
    lang_chunk *c = ctx->chunks;
    while (c) {
        lang_chunk *next = c->next;
        free(c);
        c = next;
    }
    ctx->chunks = NULL;
}

void lang_buf_append(lang_ctx *ctx, lang_buf *b, const char *text, size_t n)
{
    if (b->length + n + 1 > b->capacity) {
        size_t cap = b->capacity ? b->capacity : 256;
        while (cap < b->length + n + 1)
            cap *= 2;
        if (cap > LANG_MAX_ARENA_BYTES) {
            lang_error(ctx, (lang_loc){0, 0}, "emitted text too large");
            lang_bail(ctx, KILN_ERR_COMPILE);
        }
        char *p = realloc(b->data, cap);
        if (!p)
            lang_bail(ctx, KILN_ERR_OUT_OF_HOST_MEMORY);
        b->data = p;
        b->capacity = cap;
    }
    memcpy(b->data + b->length, text, n);
    b->length += n;
    b->data[b->length] = '\0';
}

void lang_buf_puts(lang_ctx *ctx, lang_buf *b, const char *text)
{
    lang_buf_append(ctx, b, text, strlen(text));
}

void lang_buf_printf(lang_ctx *ctx, lang_buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        lang_buf_append(ctx, b, small, (size_t)n);
        return;
    }
    char *big = lang_alloc(ctx, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    lang_buf_append(ctx, b, big, (size_t)n);
}

void lang_buf_free(lang_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->length = b->capacity = 0;
}
