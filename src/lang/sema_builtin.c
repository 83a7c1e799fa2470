/* Builtin functions: index queries, barrier, atomics, subgroups, math,
 * vectors and bit casts. Capability checks live here: a construct the
 * device lacks is an error that names the capability. */
#include "sema.h"

#include <string.h>

static const struct {
    const char *name;
    lang_builtin id;
} builtin_names[] = {
    {"global_id", LANG_B_GLOBAL_ID}, {"local_id", LANG_B_LOCAL_ID},
    {"group_id", LANG_B_GROUP_ID}, {"local_size", LANG_B_LOCAL_SIZE},
    {"num_groups", LANG_B_NUM_GROUPS}, {"global_size", LANG_B_GLOBAL_SIZE},
    {"barrier", LANG_B_BARRIER},
    {"atomic_add", LANG_B_ATOMIC_ADD}, {"atomic_sub", LANG_B_ATOMIC_SUB},
    {"atomic_min", LANG_B_ATOMIC_MIN}, {"atomic_max", LANG_B_ATOMIC_MAX},
    {"atomic_and", LANG_B_ATOMIC_AND}, {"atomic_or", LANG_B_ATOMIC_OR},
    {"atomic_xor", LANG_B_ATOMIC_XOR}, {"atomic_xchg", LANG_B_ATOMIC_XCHG},
    {"atomic_cas", LANG_B_ATOMIC_CAS},
    {"subgroup_size", LANG_B_SG_SIZE}, {"subgroup_local_id", LANG_B_SG_LOCAL_ID},
    {"subgroup_shuffle", LANG_B_SG_SHUFFLE}, {"subgroup_reduce_add", LANG_B_SG_REDUCE_ADD},
    {"subgroup_broadcast", LANG_B_SG_BROADCAST},
    {"sqrt", LANG_B_SQRT}, {"rsqrt", LANG_B_RSQRT}, {"exp", LANG_B_EXP}, {"exp2", LANG_B_EXP2},
    {"log", LANG_B_LOG}, {"log2", LANG_B_LOG2}, {"pow", LANG_B_POW}, {"sin", LANG_B_SIN},
    {"cos", LANG_B_COS}, {"tan", LANG_B_TAN}, {"tanh", LANG_B_TANH}, {"fabs", LANG_B_FABS},
    {"floor", LANG_B_FLOOR}, {"ceil", LANG_B_CEIL}, {"fmin", LANG_B_FMIN}, {"fmax", LANG_B_FMAX},
    {"fma", LANG_B_FMA}, {"min", LANG_B_MIN}, {"max", LANG_B_MAX}, {"clamp", LANG_B_CLAMP},
    {"dot", LANG_B_DOT}, {"length", LANG_B_LENGTH}, {"normalize", LANG_B_NORMALIZE},
    {"as_int", LANG_B_AS_INT}, {"as_uint", LANG_B_AS_UINT}, {"as_float", LANG_B_AS_FLOAT},
    {"as_long", LANG_B_AS_LONG}, {"as_ulong", LANG_B_AS_ULONG}, {"as_double", LANG_B_AS_DOUBLE},
};

static const lang_type *vector_of_make(const char *name)
{
    static const struct {
        const char *name;
        lang_type_kind elem;
        uint32_t width;
    } makers[] = {
        {"make_float2", LANG_T_FLOAT, 2}, {"make_float3", LANG_T_FLOAT, 3},
        {"make_float4", LANG_T_FLOAT, 4}, {"make_int2", LANG_T_INT, 2},
        {"make_int3", LANG_T_INT, 3},     {"make_int4", LANG_T_INT, 4},
        {"make_uint2", LANG_T_UINT, 2},   {"make_uint3", LANG_T_UINT, 3},
        {"make_uint4", LANG_T_UINT, 4},   {"make_double2", LANG_T_DOUBLE, 2},
    };
    for (size_t i = 0; i < sizeof makers / sizeof makers[0]; i++)
        if (!strcmp(name, makers[i].name))
            return lang_type_vector(makers[i].elem, makers[i].width);
    return NULL;
}

lang_builtin lang_builtin_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof builtin_names / sizeof builtin_names[0]; i++)
        if (!strcmp(name, builtin_names[i].name))
            return builtin_names[i].id;
    return vector_of_make(name) ? LANG_B_MAKE_VECTOR : LANG_B_NONE;
}

static const lang_type *err(void)
{
    return lang_type_scalar(LANG_T_ERROR);
}

static int arity(lang_sema *s, lang_expr *call, uint32_t n)
{
    if (call->arg_count == n)
        return 1;
    lang_error(s->ctx, call->loc, "'%s' takes %u argument(s), %u given", call->name, n,
               call->arg_count);
    return 0;
}

/* Checks every argument; returns 0 if any has an error type. */
static int check_args(lang_sema *s, lang_expr *call)
{
    int ok = 1;
    for (uint32_t i = 0; i < call->arg_count; i++)
        if (lang_check_expr(s, call->args[i])->kind == LANG_T_ERROR)
            ok = 0;
    return ok;
}

static const lang_type *check_index_query(lang_sema *s, lang_expr *call)
{
    if (!arity(s, call, 1) || !check_args(s, call))
        return err();
    lang_expr *d = call->args[0];
    if (!lang_type_is_integer(d->type))
        lang_error(s->ctx, d->loc, "'%s' needs an integer dimension", call->name);
    else if (d->is_const_value && (d->const_value < 0 || d->const_value > 2))
        lang_error(s->ctx, d->loc, "dimension %lld of '%s' is out of range 0..2",
                   (long long)d->const_value, call->name);
    s->func->uses_index = 1;
    return lang_type_scalar(LANG_T_UINT);
}

static const lang_type *check_barrier(lang_sema *s, lang_expr *call, int statement)
{
    if (!arity(s, call, 0))
        return err();
    if (!s->func->is_kernel)
        lang_error(s->ctx, call->loc,
                   "barrier() is allowed only in a kernel's body, not in helper function '%s' "
                   "(rule: barrier placement)", s->func->name);
    else if (s->switches)
        lang_error(s->ctx, call->loc,
                   "barrier() inside a switch is not allowed (rule: barrier placement)");
    else if (!statement)
        lang_error(s->ctx, call->loc,
                   "barrier() must be a statement of its own (rule: barrier placement)");
    s->func->uses_barrier = 1;
    return lang_type_scalar(LANG_T_VOID);
}

static const lang_type *check_atomic(lang_sema *s, lang_expr *call, lang_builtin b)
{
    uint32_t n = b == LANG_B_ATOMIC_CAS ? 3 : 2;
    if (!arity(s, call, n) || !check_args(s, call))
        return err();
    const lang_type *p = lang_decay(s, call->args[0]);
    if (p->kind != LANG_T_POINTER ||
        (p->space != LANG_SPACE_GLOBAL && p->space != LANG_SPACE_SHARED)) {
        lang_error(s->ctx, call->args[0]->loc,
                   "'%s' needs a pointer to global or shared memory, not '%s' (rule: address "
                   "spaces)", call->name, lang_type_name(s->ctx, p));
        return err();
    }
    if (p->pointee_const) {
        lang_error(s->ctx, call->args[0]->loc,
                   "'%s' cannot modify read-only data through '%s' (rule: address spaces)",
                   call->name, lang_type_name(s->ctx, p));
        return err();
    }
    const lang_type *t = p->base;
    lang_type_kind k = t->kind;
    int is_int = k == LANG_T_INT || k == LANG_T_UINT || k == LANG_T_LONG || k == LANG_T_ULONG;
    int is_float = k == LANG_T_FLOAT || k == LANG_T_DOUBLE;
    if (!is_int && !(is_float && (b == LANG_B_ATOMIC_ADD || b == LANG_B_ATOMIC_XCHG))) {
        lang_error(s->ctx, call->loc, "'%s' is not available on '%s' (atomics take int, uint, "
                                      "long, ulong; atomic_add/atomic_xchg also float)",
                   call->name, lang_type_name(s->ctx, t));
        return err();
    }
    const lang_caps *caps = &s->ctx->caps;
    if (is_float && !caps->has_float_atomics)
        lang_error(s->ctx, call->loc,
                   "'%s' on %s needs the device capability 'float atomics' "
                   "(caps.has_float_atomics), which this device lacks",
                   call->name, lang_scalar_kiln_name(k));
    if ((k == LANG_T_LONG || k == LANG_T_ULONG || k == LANG_T_DOUBLE) && !caps->has_int64_atomics)
        lang_error(s->ctx, call->loc,
                   "'%s' on a 64-bit type needs the device capability '64-bit atomics' "
                   "(caps.has_int64_atomics), which this device lacks", call->name);
    if (k == LANG_T_LONG || k == LANG_T_ULONG || k == LANG_T_DOUBLE)
        s->prog->uses_int64_atomics = 1;
    for (uint32_t i = 1; i < n; i++)
        lang_check_convert(s, call->args[i], t, "an atomic operand");
    return t;
}

static int subgroup_value_type(const lang_type *t)
{
    return t->kind == LANG_T_INT || t->kind == LANG_T_UINT || t->kind == LANG_T_LONG ||
           t->kind == LANG_T_ULONG || t->kind == LANG_T_FLOAT || t->kind == LANG_T_DOUBLE;
}

static const lang_type *check_subgroup(lang_sema *s, lang_expr *call, lang_builtin b)
{
    if (b == LANG_B_SG_SIZE || b == LANG_B_SG_LOCAL_ID) {
        if (!arity(s, call, 0))
            return err();
        s->func->uses_index = 1;
        return lang_type_scalar(LANG_T_UINT);
    }
    uint32_t n = b == LANG_B_SG_REDUCE_ADD ? 1 : 2;
    if (!arity(s, call, n) || !check_args(s, call))
        return err();
    const lang_type *t = call->args[0]->type;
    if (!subgroup_value_type(t)) {
        lang_error(s->ctx, call->args[0]->loc, "'%s' takes int, uint, long, ulong, float or "
                                               "double, not '%s'",
                   call->name, lang_type_name(s->ctx, t));
        return err();
    }
    if (n == 2 && !lang_type_is_integer(call->args[1]->type))
        lang_error(s->ctx, call->args[1]->loc, "'%s' needs an integer lane", call->name);
    s->func->uses_index = 1;
    return t;
}

/* Type-generic math: integers become float; any double makes it double. */
static const lang_type *check_math(lang_sema *s, lang_expr *call, uint32_t n)
{
    if (!arity(s, call, n) || !check_args(s, call))
        return err();
    lang_type_kind k = LANG_T_FLOAT;
    for (uint32_t i = 0; i < n; i++) {
        const lang_type *t = call->args[i]->type;
        if (!lang_type_is_arith(t)) {
            lang_error(s->ctx, call->args[i]->loc, "'%s' needs a float or double scalar, not '%s'",
                       call->name, lang_type_name(s->ctx, t));
            return err();
        }
        if (t->kind == LANG_T_DOUBLE)
            k = LANG_T_DOUBLE;
    }
    return lang_type_scalar(k);
}

static const lang_type *check_minmax(lang_sema *s, lang_expr *call, uint32_t n)
{
    if (!arity(s, call, n) || !check_args(s, call))
        return err();
    const lang_type *t = NULL;
    for (uint32_t i = 0; i < n; i++) {
        const lang_type *a = call->args[i]->type;
        if (!lang_type_is_arith(a)) {
            lang_error(s->ctx, call->args[i]->loc, "'%s' needs numbers, not '%s'", call->name,
                       lang_type_name(s->ctx, a));
            return err();
        }
        t = t ? lang_arith_common(t, a) : lang_arith_common(a, a);
    }
    return t;
}

static const lang_type *check_geometric(lang_sema *s, lang_expr *call, lang_builtin b)
{
    uint32_t n = b == LANG_B_DOT ? 2 : 1;
    if (!arity(s, call, n) || !check_args(s, call))
        return err();
    const lang_type *t = call->args[0]->type;
    if (t->kind != LANG_T_VECTOR || !lang_type_is_float(t->base) ||
        (n == 2 && !lang_type_equal(t, call->args[1]->type))) {
        lang_error(s->ctx, call->loc, "'%s' needs float or double vectors%s", call->name,
                   n == 2 ? " of the same type" : "");
        return err();
    }
    return b == LANG_B_NORMALIZE ? t : t->base;
}

static const lang_type *check_make(lang_sema *s, lang_expr *call)
{
    const lang_type *v = vector_of_make(call->name);
    if (!arity(s, call, v->count))
        return err();
    for (uint32_t i = 0; i < call->arg_count; i++)
        lang_check_convert(s, call->args[i], v->base, "a vector component");
    lang_require_double(s, v, call->loc);
    return v;
}

static const lang_type *check_bitcast(lang_sema *s, lang_expr *call, lang_builtin b)
{
    if (!arity(s, call, 1) || !check_args(s, call))
        return err();
    static const lang_type_kind results[] = {LANG_T_INT, LANG_T_UINT, LANG_T_FLOAT,
                                             LANG_T_LONG, LANG_T_ULONG, LANG_T_DOUBLE};
    const lang_type *to = lang_type_scalar(results[b - LANG_B_AS_INT]);
    const lang_type *from = call->args[0]->type;
    if (!lang_type_is_arith(from) || from->kind == LANG_T_BOOL ||
        lang_type_size(from) != lang_type_size(to)) {
        lang_error(s->ctx, call->loc, "'%s' needs a %zu-byte scalar, not '%s'", call->name,
                   lang_type_size(to), lang_type_name(s->ctx, from));
        return err();
    }
    lang_require_double(s, to, call->loc);
    return to;
}

const lang_type *lang_check_builtin(lang_sema *s, lang_expr *call, lang_builtin b)
{
    int statement = s->expr_is_statement;
    s->expr_is_statement = 0;
    call->builtin = b;
    call->is_lvalue = 0;
    switch (b) {
    case LANG_B_GLOBAL_ID: case LANG_B_LOCAL_ID: case LANG_B_GROUP_ID: case LANG_B_LOCAL_SIZE:
    case LANG_B_NUM_GROUPS: case LANG_B_GLOBAL_SIZE:
        return check_index_query(s, call);
    case LANG_B_BARRIER:
        return check_barrier(s, call, statement);
    case LANG_B_ATOMIC_ADD: case LANG_B_ATOMIC_SUB: case LANG_B_ATOMIC_MIN:
    case LANG_B_ATOMIC_MAX: case LANG_B_ATOMIC_AND: case LANG_B_ATOMIC_OR:
    case LANG_B_ATOMIC_XOR: case LANG_B_ATOMIC_XCHG: case LANG_B_ATOMIC_CAS:
        return check_atomic(s, call, b);
    case LANG_B_SG_SIZE: case LANG_B_SG_LOCAL_ID: case LANG_B_SG_SHUFFLE:
    case LANG_B_SG_REDUCE_ADD: case LANG_B_SG_BROADCAST:
        return check_subgroup(s, call, b);
    case LANG_B_POW: case LANG_B_FMIN: case LANG_B_FMAX:
        return check_math(s, call, 2);
    case LANG_B_FMA:
        return check_math(s, call, 3);
    case LANG_B_MIN: case LANG_B_MAX:
        return check_minmax(s, call, 2);
    case LANG_B_CLAMP:
        return check_minmax(s, call, 3);
    case LANG_B_DOT: case LANG_B_LENGTH: case LANG_B_NORMALIZE:
        return check_geometric(s, call, b);
    case LANG_B_MAKE_VECTOR:
        return check_make(s, call);
    case LANG_B_AS_INT: case LANG_B_AS_UINT: case LANG_B_AS_FLOAT: case LANG_B_AS_LONG:
    case LANG_B_AS_ULONG: case LANG_B_AS_DOUBLE:
        return check_bitcast(s, call, b);
    default:
        return check_math(s, call, 1);
    }
}
