/* lang_translate: source -> tokens -> preprocessed tokens -> AST -> checked
 * AST -> emitted dialect, plus the kernel descriptions the core needs. All
 * front-end memory is one arena in a lang_ctx; the unit handed back is
 * copied out of it with malloc, so freeing is the same on every path. */
#include "emit.h"
#include "../ports/cpu_kernel_abi.h"
#include "../util/fail.h"

#include <stdlib.h>
#include <string.h>

struct lang_unit {
    char *source;
    size_t length;
    lang_kernel *kernels;
    size_t *frame_bytes; /* per kernel, C dialect */
    uint32_t kernel_count;
};

size_t lang_unit_cpu_frame_bytes(const lang_unit *u, uint32_t index)
{
    return u && index < u->kernel_count ? u->frame_bytes[index] : 0;
}

const char *lang_unit_source(const lang_unit *u) { return u ? u->source : NULL; }
size_t lang_unit_source_length(const lang_unit *u) { return u ? u->length : 0; }
uint32_t lang_unit_kernel_count(const lang_unit *u) { return u ? u->kernel_count : 0; }

const lang_kernel *lang_unit_kernel(const lang_unit *u, uint32_t index)
{
    return u && index < u->kernel_count ? &u->kernels[index] : NULL;
}

const lang_kernel *lang_unit_find_kernel(const lang_unit *u, const char *name)
{
    if (!u || !name)
        return NULL;
    for (uint32_t i = 0; i < u->kernel_count; i++)
        if (strcmp(u->kernels[i].name, name) == 0)
            return &u->kernels[i];
    return NULL;
}

void lang_unit_free(lang_unit *u)
{
    if (!u)
        return;
    for (uint32_t i = 0; i < u->kernel_count; i++) {
        lang_kernel *k = &u->kernels[i];
        for (uint32_t j = 0; j < k->param_count; j++) {
            free((char *)k->params[j].name);
            free((char *)k->params[j].type_text);
        }
        free((lang_param *)k->params);
        free((char *)k->name);
        free((char *)k->entry_symbol);
    }
    free(u->kernels);
    free(u->frame_bytes);
    free(u->source);
    free(u);
}

static char *dup_or_null(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static int describe_param(const lang_var *v, const char *type_name, lang_param *p)
{
    const lang_type *t = v->type;
    p->name = dup_or_null(v->name);
    p->type_text = dup_or_null(type_name);
    if (t->kind == LANG_T_POINTER) {
        p->param_class = LANG_PARAM_BUFFER;
        p->scalar = lang_type_to_scalar(t->base);
        p->is_const = t->pointee_const;
    } else if (lang_type_is_arith(t)) {
        p->param_class = LANG_PARAM_SCALAR;
        p->scalar = lang_type_to_scalar(t);
        p->size = lang_type_size(t);
    } else {
        p->param_class = LANG_PARAM_BYTES;
        p->size = lang_type_size(t);
    }
    return p->name && p->type_text;
}

static int describe_kernel(lang_ctx *ctx, const lang_func *f, const char *const *type_names,
                           lang_kernel *k)
{
    k->name = dup_or_null(f->name);
    if (ctx->dialect == PORT_DIALECT_C) {
        size_t n = strlen(KILN_CPU_ENTRY_PREFIX) + strlen(f->name) + 1;
        char *sym = malloc(n);
        if (sym) {
            /* The prefix; the next copy brings the terminator. */
            /* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
            memcpy(sym, KILN_CPU_ENTRY_PREFIX, strlen(KILN_CPU_ENTRY_PREFIX));
            memcpy(sym + strlen(KILN_CPU_ENTRY_PREFIX), f->name, strlen(f->name) + 1);
        }
        k->entry_symbol = sym;
    } else {
        k->entry_symbol = dup_or_null(f->name);
    }
    k->uses_barrier = f->uses_barrier;
    k->shared_bytes = f->shared_bytes;
    if (!k->name || !k->entry_symbol)
        return 0;
    if (f->param_count) {
        lang_param *params = calloc(f->param_count, sizeof *params);
        if (!params)
            return 0;
        k->params = params;
        for (uint32_t i = 0; i < f->param_count; i++) {
            k->param_count = i + 1;
            if (!describe_param(f->params[i], type_names[i], &params[i]))
                return 0;
        }
    }
    return 1;
}

/* The type names of every kernel's parameters, in order, made in the arena.
 * Making them may bail out (longjmp) when memory runs out, so they are made
 * before build_unit allocates anything the bail-out would leak. */
static const char **kernel_type_names(lang_ctx *ctx, const lang_program *prog)
{
    size_t n = 0;
    for (const lang_func *f = prog->funcs; f; f = f->next)
        if (f->is_kernel && f->body)
            n += f->param_count;
    const char **names = lang_alloc(ctx, (n ? n : 1) * sizeof *names);
    size_t i = 0;
    for (const lang_func *f = prog->funcs; f; f = f->next)
        if (f->is_kernel && f->body)
            for (uint32_t p = 0; p < f->param_count; p++)
                names[i++] = lang_type_name(ctx, f->params[p]->type);
    return names;
}

/* Copies the emitted text and kernel descriptions out of the arena. */
static kiln_status build_unit(lang_ctx *ctx, const lang_program *prog, lang_unit **out)
{
    const char **type_names = kernel_type_names(ctx, prog);
    lang_unit *u = calloc(1, sizeof *u);
    if (!u)
        return KILN_ERR_OUT_OF_HOST_MEMORY;
    size_t n = ctx->header.length + ctx->prelude.length + ctx->out.length;
    u->source = malloc(n + 1);
    uint32_t count = 0;
    for (const lang_func *f = prog->funcs; f; f = f->next)
        count += f->is_kernel && f->body;
    u->kernels = count ? calloc(count, sizeof *u->kernels) : NULL;
    u->frame_bytes = count ? calloc(count, sizeof *u->frame_bytes) : NULL;
    if (!u->source || (count && (!u->kernels || !u->frame_bytes))) {
        lang_unit_free(u);
        return KILN_ERR_OUT_OF_HOST_MEMORY;
    }
    char *p = u->source;
    const lang_buf *parts[] = {&ctx->header, &ctx->prelude, &ctx->out};
    for (size_t i = 0; i < 3; i++) {
        if (parts[i]->length)
            memcpy(p, parts[i]->data, parts[i]->length);
        p += parts[i]->length;
    }
    *p = '\0';
    u->length = n;
    for (const lang_func *f = prog->funcs; f; f = f->next) {
        if (!f->is_kernel || !f->body)
            continue;
        if (ctx->dialect == PORT_DIALECT_C && (f->uses_barrier || f->shared_count))
            u->frame_bytes[u->kernel_count] = f->cpu_frame_bytes;
        lang_kernel *k = &u->kernels[u->kernel_count++];
        if (!describe_kernel(ctx, f, type_names, k)) {
            lang_unit_free(u);
            return KILN_ERR_OUT_OF_HOST_MEMORY;
        }
        type_names += f->param_count;
    }
    *out = u;
    return KILN_OK;
}

static const lang_dialect *dialect_for(port_dialect d)
{
    switch (d) {
    case PORT_DIALECT_C: return &lang_dialect_c;
    case PORT_DIALECT_CUDA: return &lang_dialect_cuda;
    case PORT_DIALECT_OPENCL: return &lang_dialect_opencl;
    default: return NULL;
    }
}

/* Runs the stages; returns through ctx->bail on limits and memory. */
static kiln_status run_stages(lang_ctx *ctx, const lang_request *req, const lang_dialect *d,
                              lang_unit **out)
{
    char *src = lang_alloc(ctx, req->source_length + 1);
    if (req->source_length)
        memcpy(src, req->source, req->source_length);
    ctx->src = src;
    ctx->src_length = req->source_length;
    lang_token *tokens = lang_lex(ctx, src, req->source_length, (lang_loc){1, 1});
    tokens = lang_preprocess(ctx, tokens, req->defines);
    if (ctx->error_count)
        return KILN_ERR_COMPILE;
    lang_program *prog = lang_parse(ctx, tokens);
    if (ctx->error_count)
        return KILN_ERR_COMPILE;
    lang_check(ctx, prog);
    if (ctx->error_count)
        return KILN_ERR_COMPILE;
    lang_check_barrier_rules(ctx, prog);
    if (ctx->error_count)
        return KILN_ERR_COMPILE;
    lang_emit_program(ctx, prog, d);
    if (ctx->error_count)
        return KILN_ERR_COMPILE;
    return build_unit(ctx, prog, out);
}

kiln_status lang_translate(const lang_request *req, lang_unit **out, char **diagnostics)
{
    if (diagnostics)
        *diagnostics = NULL;
    if (!req || !out)
        return util_fail(KILN_ERR_INVALID_ARG, "lang_translate: request and output are required");
    *out = NULL;
    if (!req->source && req->source_length)
        return util_fail(KILN_ERR_INVALID_ARG, "lang_translate: source is NULL");
    if (req->dialect == PORT_DIALECT_METAL)
        return util_fail(KILN_ERR_UNSUPPORTED, "lang_translate: the Metal emitter does not exist yet");
    const lang_dialect *d = dialect_for(req->dialect);
    if (!d)
        return util_fail(KILN_ERR_INVALID_ARG, "lang_translate: unknown dialect %d", (int)req->dialect);
    lang_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return util_fail(KILN_ERR_OUT_OF_HOST_MEMORY, "lang_translate: out of memory");
    ctx->name = req->source_name ? req->source_name : "<source>";
    ctx->caps = req->caps;
    ctx->dialect = req->dialect;
    kiln_status status;
    if (setjmp(ctx->bail) == 0) {
        if (req->source_length > LANG_MAX_SOURCE_BYTES) {
            static const lang_loc nowhere = {0, 0};
            ctx->src = "";
            lang_error(ctx, nowhere, "source is too large (%zu bytes, limit %u)",
                       req->source_length, LANG_MAX_SOURCE_BYTES);
            status = KILN_ERR_COMPILE;
        } else {
            status = run_stages(ctx, req, d, out);
        }
    } else {
        status = ctx->bail_status;
    }
    if (status == KILN_ERR_COMPILE || ctx->error_count) {
        status = KILN_ERR_COMPILE;
        const char *text = ctx->diag.data ? ctx->diag.data : "kernel source has errors\n";
        if (diagnostics)
            *diagnostics = dup_or_null(text);
        util_fail_text(KILN_ERR_COMPILE, text);
    } else if (status == KILN_ERR_OUT_OF_HOST_MEMORY) {
        util_fail(status, "lang_translate: out of memory");
    }
    lang_buf_free(&ctx->diag);
    lang_buf_free(&ctx->scratch);
    lang_buf_free(&ctx->header);
    lang_buf_free(&ctx->prelude);
    lang_buf_free(&ctx->out);
    lang_arena_free(ctx);
    free(ctx);
    return status;
}
