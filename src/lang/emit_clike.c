/* Prelude pieces shared by the C and CUDA dialects, which have no native
 * vector types: vectors are structs kiln_float4 {x, y, z, w} (a 3-vector
 * padded to 4 and aligned like one), and their operations, constructors,
 * geometric functions and min/max/clamp are small KILN_FN functions. Each
 * dialect's header defines KILN_FN and KILN_ALIGN. */
#include "emit_clike.h"

#include <stdio.h>
#include <string.h>

static const char *const components = "xyzw";

const char *lang_clike_vector_name(lang_emitter *em, const lang_type *v)
{
    const char *suffix = lang_vector_suffix(em, v);
    char key[48];
    snprintf(key, sizeof key, "type_%s", suffix);
    if (lang_emit_first(em, key)) {
        const char *elem = em->d->scalar_name(v->base->kind);
        size_t align = lang_type_size(v);
        lang_prelude_printf(em, "typedef struct kiln_%s { KILN_ALIGN(%zu) %s x; %s y;", suffix,
                            align, elem, elem);
        if (v->count >= 3)
            lang_prelude_printf(em, " %s z; %s %s;", elem, elem, v->count == 4 ? "w" : "kiln_pad");
        lang_prelude_printf(em, " } kiln_%s;\n", suffix);
    }
    char name[32];
    snprintf(name, sizeof name, "kiln_%s", suffix);
    return lang_strndup(em->ctx, name, strlen(name));
}

static const char *op_name(int op)
{
    switch (op) {
    case '+': return "add";
    case '-': return "sub";
    case '*': return "mul";
    case '/': return "div";
    default: return "neg";
    }
}

static void need_splat(lang_emitter *em, const lang_type *v)
{
    const char *suffix = lang_vector_suffix(em, v);
    const char *vt = lang_clike_vector_name(em, v);
    char key[48];
    snprintf(key, sizeof key, "splat_%s", suffix);
    if (!lang_emit_first(em, key))
        return;
    lang_prelude_printf(em, "KILN_FN %s kiln_splat_%s(%s s) { %s r;", vt, suffix,
                        em->d->scalar_name(v->base->kind), vt);
    for (uint32_t i = 0; i < v->count; i++)
        lang_prelude_printf(em, " r.%c = s;", components[i]);
    lang_prelude_printf(em, "%s return r; }\n", v->count == 3 ? " r.kiln_pad = s;" : "");
}

static void emit_vector_operand(lang_emitter *em, const lang_expr *e, const lang_type *v)
{
    if (e->type->kind == LANG_T_VECTOR) {
        lang_emit_expr(em, e);
        return;
    }
    need_splat(em, v);
    lang_emit_printf(em, "kiln_splat_%s(", lang_vector_suffix(em, v));
    lang_emit_expr_as(em, e, v->base);
    lang_emit_puts(em, ")");
}

void lang_clike_vector_op(lang_emitter *em, int op, const lang_type *v, const lang_expr *a,
                          const lang_expr *b)
{
    const char *suffix = lang_vector_suffix(em, v);
    const char *vt = lang_clike_vector_name(em, v);
    const char *name = op_name(op);
    char key[48];
    snprintf(key, sizeof key, "%s_%s", name, suffix);
    if (lang_emit_first(em, key)) {
        if (b)
            lang_prelude_printf(em, "KILN_FN %s kiln_%s_%s(%s a, %s b) { %s r = a;", vt, name,
                                suffix, vt, vt, vt);
        else
            lang_prelude_printf(em, "KILN_FN %s kiln_%s_%s(%s a) { %s r = a;", vt, name, suffix,
                                vt, vt);
        for (uint32_t i = 0; i < v->count; i++) {
            char c = components[i];
            if (b)
                lang_prelude_printf(em, " r.%c = a.%c %c b.%c;", c, c, op, c);
            else
                lang_prelude_printf(em, " r.%c = -a.%c;", c, c);
        }
        lang_prelude_printf(em, " return r; }\n");
    }
    lang_emit_printf(em, "kiln_%s_%s(", name, suffix);
    emit_vector_operand(em, a, v);
    if (b) {
        lang_emit_puts(em, ", ");
        emit_vector_operand(em, b, v);
    }
    lang_emit_puts(em, ")");
}

void lang_clike_make(lang_emitter *em, const lang_expr *call)
{
    const lang_type *v = call->type;
    const char *suffix = lang_vector_suffix(em, v);
    const char *vt = lang_clike_vector_name(em, v);
    const char *elem = em->d->scalar_name(v->base->kind);
    char key[48];
    snprintf(key, sizeof key, "make_%s", suffix);
    if (lang_emit_first(em, key)) {
        lang_prelude_printf(em, "KILN_FN %s kiln_make_%s(", vt, suffix);
        for (uint32_t i = 0; i < v->count; i++)
            lang_prelude_printf(em, "%s%s %c", i ? ", " : "", elem, components[i]);
        lang_prelude_printf(em, ") { %s r;", vt);
        for (uint32_t i = 0; i < v->count; i++)
            lang_prelude_printf(em, " r.%c = %c;", components[i], components[i]);
        lang_prelude_printf(em, "%s return r; }\n", v->count == 3 ? " r.kiln_pad = 0;" : "");
    }
    lang_emit_printf(em, "kiln_make_%s(", suffix);
    for (uint32_t i = 0; i < call->arg_count; i++) {
        lang_emit_puts(em, i ? ", " : "");
        lang_emit_expr_as(em, call->args[i], v->base);
    }
    lang_emit_puts(em, ")");
}

void lang_clike_geometric(lang_emitter *em, const lang_expr *call)
{
    const lang_type *v = call->args[0]->type;
    const char *suffix = lang_vector_suffix(em, v);
    const char *vt = lang_clike_vector_name(em, v);
    const char *elem = em->d->scalar_name(v->base->kind);
    const char *sqrt_fn = v->base->kind == LANG_T_FLOAT ? "sqrtf" : "sqrt";
    char key[48];
    snprintf(key, sizeof key, "dot_%s", suffix);
    if (lang_emit_first(em, key)) {
        lang_prelude_printf(em, "KILN_FN %s kiln_dot_%s(%s a, %s b) { return ", elem, suffix, vt, vt);
        for (uint32_t i = 0; i < v->count; i++)
            lang_prelude_printf(em, "%sa.%c * b.%c", i ? " + " : "", components[i], components[i]);
        lang_prelude_printf(em, "; }\n");
        lang_prelude_printf(em, "KILN_FN %s kiln_length_%s(%s a) { return %s(kiln_dot_%s(a, a)); }\n",
                            elem, suffix, vt, sqrt_fn, suffix);
        lang_prelude_printf(em, "KILN_FN %s kiln_normalize_%s(%s a) { %s l = kiln_length_%s(a); "
                                "%s r = a;",
                            vt, suffix, vt, elem, suffix, vt);
        for (uint32_t i = 0; i < v->count; i++)
            lang_prelude_printf(em, " r.%c = a.%c / l;", components[i], components[i]);
        lang_prelude_printf(em, " return r; }\n");
    }
    const char *fn = call->builtin == LANG_B_DOT      ? "dot"
                     : call->builtin == LANG_B_LENGTH ? "length"
                                                      : "normalize";
    lang_emit_printf(em, "kiln_%s_%s(", fn, suffix);
    lang_emit_expr(em, call->args[0]);
    if (call->builtin == LANG_B_DOT) {
        lang_emit_puts(em, ", ");
        lang_emit_expr(em, call->args[1]);
    }
    lang_emit_puts(em, ")");
}

void lang_clike_minmax(lang_emitter *em, const lang_expr *call)
{
    const lang_type *t = call->type;
    const char *kname = lang_scalar_kiln_name(t->kind);
    const char *tn = em->d->scalar_name(t->kind);
    char key[48];
    snprintf(key, sizeof key, "minmax_%s", kname);
    if (lang_emit_first(em, key)) {
        lang_prelude_printf(em, "KILN_FN %s kiln_min_%s(%s a, %s b) { return b < a ? b : a; }\n",
                            tn, kname, tn, tn);
        lang_prelude_printf(em, "KILN_FN %s kiln_max_%s(%s a, %s b) { return a < b ? b : a; }\n",
                            tn, kname, tn, tn);
        lang_prelude_printf(em, "KILN_FN %s kiln_clamp_%s(%s x, %s lo, %s hi) { return "
                                "kiln_min_%s(kiln_max_%s(x, lo), hi); }\n",
                            tn, kname, tn, tn, tn, kname, kname);
    }
    const char *fn = call->builtin == LANG_B_MIN ? "min" : call->builtin == LANG_B_MAX ? "max"
                                                                                        : "clamp";
    lang_emit_printf(em, "kiln_%s_%s(", fn, kname);
    for (uint32_t i = 0; i < call->arg_count; i++) {
        lang_emit_puts(em, i ? ", " : "");
        lang_emit_expr_as(em, call->args[i], t);
    }
    lang_emit_puts(em, ")");
}

const char *lang_clike_math_name(lang_builtin b)
{
    static const struct {
        lang_builtin b;
        const char *name;
    } names[] = {
        {LANG_B_SQRT, "sqrt"}, {LANG_B_EXP, "exp"}, {LANG_B_EXP2, "exp2"}, {LANG_B_LOG, "log"},
        {LANG_B_LOG2, "log2"}, {LANG_B_POW, "pow"}, {LANG_B_SIN, "sin"}, {LANG_B_COS, "cos"},
        {LANG_B_TAN, "tan"}, {LANG_B_TANH, "tanh"}, {LANG_B_FABS, "fabs"},
        {LANG_B_FLOOR, "floor"}, {LANG_B_CEIL, "ceil"}, {LANG_B_FMIN, "fmin"},
        {LANG_B_FMAX, "fmax"}, {LANG_B_FMA, "fma"}, {LANG_B_RSQRT, "rsqrt"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].b == b)
            return names[i].name;
    return NULL;
}

void lang_clike_math(lang_emitter *em, const lang_expr *call, int native_rsqrt)
{
    const lang_type *t = call->type;
    int is_float = t->kind == LANG_T_FLOAT;
    if (call->builtin == LANG_B_RSQRT && !native_rsqrt) {
        lang_emit_printf(em, "(%s / %s(", is_float ? "1.0f" : "1.0", is_float ? "sqrtf" : "sqrt");
        lang_emit_expr_as(em, call->args[0], t);
        lang_emit_puts(em, "))");
        return;
    }
    lang_emit_printf(em, "%s%s(", lang_clike_math_name(call->builtin), is_float ? "f" : "");
    for (uint32_t i = 0; i < call->arg_count; i++) {
        lang_emit_puts(em, i ? ", " : "");
        lang_emit_expr_as(em, call->args[i], t);
    }
    lang_emit_puts(em, ")");
}
