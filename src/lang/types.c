/* Types of Kiln C: the scalar and vector singletons, derived types, and the
 * layout rules shared by every backend (sizes 1,1,1,2,2,4,4,8,8,4,8; a
 * 3-vector has the size and alignment of a 4-vector; structs use C layout). */
#include "ast.h"

#include <string.h>

static const lang_type scalar_types[] = {
    [LANG_T_ERROR] = {LANG_T_ERROR, NULL, 0, 0, 0, NULL},
    [LANG_T_VOID] = {LANG_T_VOID, NULL, 0, 0, 0, NULL},
    [LANG_T_BOOL] = {LANG_T_BOOL, NULL, 0, 0, 0, NULL},
    [LANG_T_CHAR] = {LANG_T_CHAR, NULL, 0, 0, 0, NULL},
    [LANG_T_UCHAR] = {LANG_T_UCHAR, NULL, 0, 0, 0, NULL},
    [LANG_T_SHORT] = {LANG_T_SHORT, NULL, 0, 0, 0, NULL},
    [LANG_T_USHORT] = {LANG_T_USHORT, NULL, 0, 0, 0, NULL},
    [LANG_T_INT] = {LANG_T_INT, NULL, 0, 0, 0, NULL},
    [LANG_T_UINT] = {LANG_T_UINT, NULL, 0, 0, 0, NULL},
    [LANG_T_LONG] = {LANG_T_LONG, NULL, 0, 0, 0, NULL},
    [LANG_T_ULONG] = {LANG_T_ULONG, NULL, 0, 0, 0, NULL},
    [LANG_T_FLOAT] = {LANG_T_FLOAT, NULL, 0, 0, 0, NULL},
    [LANG_T_DOUBLE] = {LANG_T_DOUBLE, NULL, 0, 0, 0, NULL},
};

#define S(k) (&scalar_types[k])
static const lang_type vector_types[] = {
    {LANG_T_VECTOR, S(LANG_T_FLOAT), 2, 0, 0, NULL},
    {LANG_T_VECTOR, S(LANG_T_FLOAT), 3, 0, 0, NULL},
    {LANG_T_VECTOR, S(LANG_T_FLOAT), 4, 0, 0, NULL},
    {LANG_T_VECTOR, S(LANG_T_INT), 2, 0, 0, NULL},
    {LANG_T_VECTOR, S(LANG_T_INT), 3, 0, 0, NULL},
    {LANG_T_VECTOR, S(LANG_T_INT), 4, 0, 0, NULL},
    {LANG_T_VECTOR, S(LANG_T_UINT), 2, 0, 0, NULL},
    {LANG_T_VECTOR, S(LANG_T_UINT), 3, 0, 0, NULL},
    {LANG_T_VECTOR, S(LANG_T_UINT), 4, 0, 0, NULL},
    {LANG_T_VECTOR, S(LANG_T_DOUBLE), 2, 0, 0, NULL},
};
#undef S

const lang_type *lang_type_scalar(lang_type_kind kind)
{
    return kind <= LANG_T_DOUBLE ? &scalar_types[kind] : &scalar_types[LANG_T_ERROR];
}

const lang_type *lang_type_vector(lang_type_kind elem, uint32_t width)
{
    for (size_t i = 0; i < sizeof vector_types / sizeof vector_types[0]; i++)
        if (vector_types[i].base->kind == elem && vector_types[i].count == width)
            return &vector_types[i];
    return NULL;
}

const lang_type *lang_type_pointer(lang_ctx *ctx, const lang_type *to, lang_space space, int is_const)
{
    lang_type *t = lang_alloc(ctx, sizeof *t);
    t->kind = LANG_T_POINTER;
    t->base = to;
    t->space = space;
    t->pointee_const = is_const;
    return t;
}

const lang_type *lang_type_array(lang_ctx *ctx, const lang_type *of, uint32_t count)
{
    lang_type *t = lang_alloc(ctx, sizeof *t);
    t->kind = LANG_T_ARRAY;
    t->base = of;
    t->count = count;
    return t;
}

const lang_type *lang_type_struct(lang_ctx *ctx, lang_struct *def)
{
    lang_type *t = lang_alloc(ctx, sizeof *t);
    t->kind = LANG_T_STRUCT;
    t->def = def;
    return t;
}

int lang_type_is_integer(const lang_type *t)
{
    return t->kind >= LANG_T_BOOL && t->kind <= LANG_T_ULONG;
}

int lang_type_is_float(const lang_type *t)
{
    return t->kind == LANG_T_FLOAT || t->kind == LANG_T_DOUBLE;
}

int lang_type_is_arith(const lang_type *t)
{
    return t->kind >= LANG_T_BOOL && t->kind <= LANG_T_DOUBLE;
}

int lang_type_is_scalar(const lang_type *t)
{
    return lang_type_is_arith(t) || t->kind == LANG_T_POINTER;
}

int lang_type_equal(const lang_type *a, const lang_type *b)
{
    if (a == b)
        return 1;
    if (a->kind != b->kind)
        return 0;
    switch (a->kind) {
    case LANG_T_VECTOR:
        return a->count == b->count && a->base->kind == b->base->kind;
    case LANG_T_STRUCT:
        return a->def == b->def;
    case LANG_T_POINTER:
        return a->space == b->space && a->pointee_const == b->pointee_const &&
               lang_type_equal(a->base, b->base);
    case LANG_T_ARRAY:
        return a->count == b->count && lang_type_equal(a->base, b->base);
    default:
        return 1;
    }
}

static size_t scalar_size(lang_type_kind k)
{
    switch (k) {
    case LANG_T_BOOL: case LANG_T_CHAR: case LANG_T_UCHAR: return 1;
    case LANG_T_SHORT: case LANG_T_USHORT: return 2;
    case LANG_T_INT: case LANG_T_UINT: case LANG_T_FLOAT: return 4;
    case LANG_T_LONG: case LANG_T_ULONG: case LANG_T_DOUBLE: return 8;
    default: return 0;
    }
}

size_t lang_type_size(const lang_type *t)
{
    switch (t->kind) {
    case LANG_T_VECTOR:
        return scalar_size(t->base->kind) * (t->count == 3 ? 4 : t->count);
    case LANG_T_STRUCT:
        return t->def->size;
    case LANG_T_POINTER:
        return 8;
    case LANG_T_ARRAY:
        return t->count * lang_type_size(t->base); /* bounded by sema */
    default:
        return scalar_size(t->kind);
    }
}

size_t lang_type_align(const lang_type *t)
{
    switch (t->kind) {
    case LANG_T_VECTOR:
        return lang_type_size(t);
    case LANG_T_STRUCT:
        return t->def->align ? t->def->align : 1;
    case LANG_T_ARRAY:
        return lang_type_align(t->base);
    case LANG_T_POINTER:
        return 8;
    default: {
        size_t s = scalar_size(t->kind);
        return s ? s : 1;
    }
    }
}

int lang_type_uses_double(const lang_type *t)
{
    switch (t->kind) {
    case LANG_T_DOUBLE:
        return 1;
    case LANG_T_VECTOR: case LANG_T_POINTER: case LANG_T_ARRAY:
        return lang_type_uses_double(t->base);
    case LANG_T_STRUCT:
        for (uint32_t i = 0; i < t->def->member_count; i++)
            if (lang_type_uses_double(t->def->members[i].type))
                return 1;
        return 0;
    default:
        return 0;
    }
}

const char *lang_scalar_kiln_name(lang_type_kind kind)
{
    static const char *const names[] = {
        [LANG_T_ERROR] = "<error>", [LANG_T_VOID] = "void", [LANG_T_BOOL] = "bool",
        [LANG_T_CHAR] = "char", [LANG_T_UCHAR] = "uchar", [LANG_T_SHORT] = "short",
        [LANG_T_USHORT] = "ushort", [LANG_T_INT] = "int", [LANG_T_UINT] = "uint",
        [LANG_T_LONG] = "long", [LANG_T_ULONG] = "ulong", [LANG_T_FLOAT] = "float",
        [LANG_T_DOUBLE] = "double"};
    return kind <= LANG_T_DOUBLE ? names[kind] : "?";
}

const char *lang_space_name(lang_space s)
{
    switch (s) {
    case LANG_SPACE_GLOBAL: return "global";
    case LANG_SPACE_SHARED: return "shared";
    case LANG_SPACE_CONSTANT: return "constant";
    default: return "private";
    }
}

void lang_type_text(lang_ctx *ctx, lang_buf *b, const lang_type *t)
{
    switch (t->kind) {
    case LANG_T_VECTOR:
        lang_buf_printf(ctx, b, "%s%u", lang_scalar_kiln_name(t->base->kind), t->count);
        break;
    case LANG_T_STRUCT:
        lang_buf_printf(ctx, b, "struct %s", t->def->name ? t->def->name : "<anonymous>");
        break;
    case LANG_T_POINTER:
        if (t->space != LANG_SPACE_PRIVATE)
            lang_buf_printf(ctx, b, "%s ", lang_space_name(t->space));
        if (t->pointee_const)
            lang_buf_puts(ctx, b, "const ");
        lang_type_text(ctx, b, t->base);
        lang_buf_puts(ctx, b, " *");
        break;
    case LANG_T_ARRAY: {
        /* As declared: the element type, then the outermost dimension first. */
        const lang_type *elem = t->base;
        while (elem->kind == LANG_T_ARRAY)
            elem = elem->base;
        lang_type_text(ctx, b, elem);
        for (const lang_type *a = t; a->kind == LANG_T_ARRAY; a = a->base)
            lang_buf_printf(ctx, b, "[%u]", a->count);
        break;
    }
    default:
        lang_buf_puts(ctx, b, lang_scalar_kiln_name(t->kind));
    }
}

const char *lang_type_name(lang_ctx *ctx, const lang_type *t)
{
    /* The scratch buffer is owned by ctx, so a bail-out cannot leak it. */
    ctx->scratch.length = 0;
    lang_type_text(ctx, &ctx->scratch, t);
    return lang_strndup(ctx, ctx->scratch.data ? ctx->scratch.data : "", ctx->scratch.length);
}

lang_scalar lang_type_to_scalar(const lang_type *t)
{
    if (t->kind >= LANG_T_BOOL && t->kind <= LANG_T_DOUBLE)
        return (lang_scalar)(LANG_SCALAR_BOOL + (t->kind - LANG_T_BOOL));
    return LANG_SCALAR_NONE;
}
