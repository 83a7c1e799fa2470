/* OpenCL C 1.2. Native vectors and geometric functions; __global, __local
 * and __constant address spaces; 64-bit atomics through the atom_*
 * functions of cl_khr_int64_{base,extended}_atomics; float atomic_add as a
 * compare-and-swap loop on the bits. Without caps.has_subgroups a subgroup
 * is one work-item: subgroup_size() is 1 and shuffles and reductions return
 * their argument. */
#include "emit.h"
#include "emit_clike.h"

#include <stdio.h>
#include <string.h>

static const char *cl_scalar_name(lang_type_kind k)
{
    const char *name = lang_scalar_kiln_name(k);
    return k == LANG_T_ERROR ? "void" : name;
}

static const char *cl_vector_name(lang_emitter *em, const lang_type *v)
{
    return lang_vector_suffix(em, v);
}

static const char *cl_pointer_space(lang_space space)
{
    switch (space) {
    case LANG_SPACE_GLOBAL: return "__global ";
    case LANG_SPACE_SHARED: return "__local ";
    case LANG_SPACE_CONSTANT: return "__constant ";
    default: return "";
    }
}

static void cl_unit_header(lang_emitter *em)
{
    lang_header_printf(em, "/* Kiln C translated for OpenCL C 1.2. */\n");
    if (em->ctx->caps.has_double)
        lang_header_printf(em, "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n");
    if (em->prog->uses_int64_atomics)
        lang_header_printf(em, "#pragma OPENCL EXTENSION cl_khr_int64_base_atomics : enable\n"
                               "#pragma OPENCL EXTENSION cl_khr_int64_extended_atomics : enable\n");
    if (em->ctx->caps.has_subgroups)
        lang_header_printf(em, "#pragma OPENCL EXTENSION cl_khr_subgroups : enable\n"
                               "#pragma OPENCL EXTENSION cl_khr_subgroup_shuffle : enable\n");
}

/* A dimension the language fixes (0..2) calls the OpenCL builtin. Any
 * other goes through a helper that answers as the C and CUDA emitters do
 * (ids 0, sizes 1) for a dimension past 2: OpenCL implementations differ
 * there (PoCL returns 0 for get_local_size(3)). */
static void cl_index_query(lang_emitter *em, const lang_expr *call)
{
    const char *fn, *other = "1u";
    switch (call->builtin) {
    case LANG_B_GLOBAL_ID: fn = "get_global_id"; other = "0u"; break;
    case LANG_B_LOCAL_ID: fn = "get_local_id"; other = "0u"; break;
    case LANG_B_GROUP_ID: fn = "get_group_id"; other = "0u"; break;
    case LANG_B_LOCAL_SIZE: fn = "get_local_size"; break;
    case LANG_B_NUM_GROUPS: fn = "get_num_groups"; break;
    default: fn = "get_global_size"; break;
    }
    /* Kiln's global size is num_groups * local_size on every backend. */
    int global_size = call->builtin == LANG_B_GLOBAL_SIZE;
    const lang_expr *d = call->args[0];
    if (d->is_const_value && d->const_value >= 0 && d->const_value <= 2) {
        if (global_size)
            lang_emit_printf(em, "((uint)(get_num_groups(%d) * get_local_size(%d)))",
                             (int)d->const_value, (int)d->const_value);
        else
            lang_emit_printf(em, "((uint)%s(%d))", fn, (int)d->const_value);
        return;
    }
    char key[48];
    snprintf(key, sizeof key, "index_%s", fn);
    if (lang_emit_first(em, key)) {
        if (global_size)
            lang_prelude_printf(em, "static inline uint kiln_%s(uint d) {\n"
                                    "    return d < 3u ? (uint)(get_num_groups(d) * "
                                    "get_local_size(d)) : %s;\n}\n", fn, other);
        else
            lang_prelude_printf(em, "static inline uint kiln_%s(uint d) {\n"
                                    "    return d < 3u ? (uint)%s(d) : %s;\n}\n", fn, fn, other);
    }
    lang_emit_printf(em, "kiln_%s((uint)(", fn);
    lang_emit_expr(em, d);
    lang_emit_puts(em, "))");
}

static void cl_float_atomic(lang_emitter *em, const lang_expr *call, const lang_type *ptr)
{
    int is_double = call->type->kind == LANG_T_DOUBLE;
    const char *space = ptr->space == LANG_SPACE_SHARED ? "__local" : "__global";
    const char *sp = ptr->space == LANG_SPACE_SHARED ? "l" : "g";
    const char *ft = is_double ? "double" : "float";
    const char *bt = is_double ? "ulong" : "uint";
    const char *op = call->builtin == LANG_B_ATOMIC_ADD ? "add" : "xchg";
    char key[48];
    snprintf(key, sizeof key, "atomic_%s_%s_%s", op, ft, sp);
    if (lang_emit_first(em, key)) {
        if (call->builtin == LANG_B_ATOMIC_ADD)
            lang_prelude_printf(em,
                "static inline %s kiln_atomic_add_%s_%s(volatile %s %s *p, %s v) {\n"
                "    %s old = as_%s(*p), seen;\n"
                "    while ((seen = %s((volatile %s %s *)p, old, as_%s(as_%s(old) + v))) != old)\n"
                "        old = seen;\n"
                "    return as_%s(old);\n}\n",
                ft, ft, sp, space, ft, ft, bt, bt, is_double ? "atom_cmpxchg" : "atomic_cmpxchg",
                space, bt, bt, ft, ft);
        else
            lang_prelude_printf(em,
                "static inline %s kiln_atomic_xchg_%s_%s(volatile %s %s *p, %s v) {\n"
                "    return as_%s(%s((volatile %s %s *)p, as_%s(v)));\n}\n",
                ft, ft, sp, space, ft, ft, ft, is_double ? "atom_xchg" : "atomic_xchg", space, bt,
                bt);
    }
    lang_emit_printf(em, "kiln_atomic_%s_%s_%s(", op, ft, sp);
    lang_emit_expr(em, call->args[0]);
    lang_emit_puts(em, ", ");
    lang_emit_expr_as(em, call->args[1], call->type);
    lang_emit_puts(em, ")");
}

static void cl_atomic(lang_emitter *em, const lang_expr *call)
{
    static const char *const ops[] = {"add", "sub", "min", "max", "and", "or", "xor", "xchg",
                                      "cmpxchg"};
    const lang_type *t = call->type;
    const lang_type *ptr = call->args[0]->type;
    if (ptr->kind == LANG_T_ARRAY)
        ptr = lang_type_pointer(em->ctx, ptr->base, call->args[0]->lvalue_space, 0);
    if (lang_type_is_float(t)) {
        cl_float_atomic(em, call, ptr);
        return;
    }
    int wide = t->kind == LANG_T_LONG || t->kind == LANG_T_ULONG;
    lang_emit_printf(em, "%s_%s(", wide ? "atom" : "atomic", ops[call->builtin - LANG_B_ATOMIC_ADD]);
    lang_emit_expr(em, call->args[0]);
    for (uint32_t i = 1; i < call->arg_count; i++) {
        lang_emit_puts(em, ", ");
        lang_emit_expr_as(em, call->args[i], t);
    }
    lang_emit_puts(em, ")");
}

static void cl_call(lang_emitter *em, const char *fn, const lang_expr *call, const lang_type *t)
{
    lang_emit_printf(em, "%s(", fn);
    for (uint32_t i = 0; i < call->arg_count; i++) {
        lang_emit_puts(em, i ? ", " : "");
        if (t)
            lang_emit_expr_as(em, call->args[i], t);
        else
            lang_emit_expr(em, call->args[i]);
    }
    lang_emit_puts(em, ")");
}

static void cl_subgroup(lang_emitter *em, const lang_expr *call)
{
    int native = em->ctx->caps.has_subgroups;
    switch (call->builtin) {
    case LANG_B_SG_SIZE:
        lang_emit_puts(em, native ? "((uint)get_sub_group_size())" : "1u");
        return;
    case LANG_B_SG_LOCAL_ID:
        lang_emit_puts(em, native ? "((uint)get_sub_group_local_id())" : "0u");
        return;
    default:
        break;
    }
    if (!native) {
        lang_emit_puts(em, "(");
        lang_emit_expr(em, call->args[0]);
        lang_emit_puts(em, ")");
        return;
    }
    const char *fn = call->builtin == LANG_B_SG_SHUFFLE     ? "sub_group_shuffle"
                     : call->builtin == LANG_B_SG_BROADCAST ? "sub_group_broadcast"
                                                            : "sub_group_reduce_add";
    lang_emit_printf(em, "%s(", fn);
    lang_emit_expr(em, call->args[0]);
    if (call->arg_count > 1) {
        lang_emit_puts(em, ", (uint)(");
        lang_emit_expr(em, call->args[1]);
        lang_emit_puts(em, ")");
    }
    lang_emit_puts(em, ")");
}

static void cl_builtin(lang_emitter *em, const lang_expr *call)
{
    lang_builtin b = call->builtin;
    switch (b) {
    case LANG_B_GLOBAL_ID: case LANG_B_LOCAL_ID: case LANG_B_GROUP_ID: case LANG_B_LOCAL_SIZE:
    case LANG_B_NUM_GROUPS: case LANG_B_GLOBAL_SIZE:
        cl_index_query(em, call);
        return;
    case LANG_B_BARRIER:
        lang_emit_puts(em, "barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE)");
        return;
    case LANG_B_SG_SIZE: case LANG_B_SG_LOCAL_ID: case LANG_B_SG_SHUFFLE:
    case LANG_B_SG_BROADCAST: case LANG_B_SG_REDUCE_ADD:
        cl_subgroup(em, call);
        return;
    case LANG_B_MIN: cl_call(em, "min", call, call->type); return;
    case LANG_B_MAX: cl_call(em, "max", call, call->type); return;
    case LANG_B_CLAMP: cl_call(em, "clamp", call, call->type); return;
    case LANG_B_DOT: cl_call(em, "dot", call, NULL); return;
    case LANG_B_LENGTH: cl_call(em, "length", call, NULL); return;
    case LANG_B_NORMALIZE: cl_call(em, "normalize", call, NULL); return;
    case LANG_B_MAKE_VECTOR: {
        lang_emit_printf(em, "((%s)(", cl_vector_name(em, call->type));
        for (uint32_t i = 0; i < call->arg_count; i++) {
            lang_emit_puts(em, i ? ", " : "");
            lang_emit_expr_as(em, call->args[i], call->type->base);
        }
        lang_emit_puts(em, "))");
        return;
    }
    case LANG_B_AS_INT: case LANG_B_AS_UINT: case LANG_B_AS_FLOAT: case LANG_B_AS_LONG:
    case LANG_B_AS_ULONG: case LANG_B_AS_DOUBLE: {
        char fn[16];
        snprintf(fn, sizeof fn, "as_%s", lang_scalar_kiln_name(call->type->kind));
        cl_call(em, fn, call, NULL);
        return;
    }
    default:
        if (b >= LANG_B_ATOMIC_ADD && b <= LANG_B_ATOMIC_CAS)
            cl_atomic(em, call);
        else
            cl_call(em, lang_clike_math_name(b), call, call->type);
        return;
    }
}

static void cl_vector_op(lang_emitter *em, int op, const lang_type *v, const lang_expr *a,
                         const lang_expr *b)
{
    if (!b) {
        lang_emit_puts(em, "(-");
        lang_emit_expr(em, a);
        lang_emit_puts(em, ")");
        return;
    }
    lang_emit_puts(em, "(");
    lang_emit_expr_as(em, a, a->type->kind == LANG_T_VECTOR ? a->type : v->base);
    lang_emit_printf(em, " %c ", op);
    lang_emit_expr_as(em, b, b->type->kind == LANG_T_VECTOR ? b->type : v->base);
    lang_emit_puts(em, ")");
}

/* bool is not a valid kernel argument type in OpenCL C: it travels as a
 * uchar and is converted on entry. */
static void cl_kernel(lang_emitter *em, lang_func *f)
{
    lang_emit_line(em, f->loc);
    lang_emit_printf(em, "__kernel void %s(", f->name);
    if (f->param_count == 0)
        lang_emit_puts(em, "void");
    for (uint32_t i = 0; i < f->param_count; i++) {
        const lang_var *p = f->params[i];
        if (i)
            lang_emit_puts(em, ", ");
        if (p->type->kind == LANG_T_BOOL)
            lang_emit_printf(em, "uchar kiln_arg%u", i);
        else
            lang_emit_decl(em, p->type, p->emit_name, 0);
    }
    lang_emit_puts(em, ")\n{\n");
    for (uint32_t i = 0; i < f->param_count; i++)
        if (f->params[i]->type->kind == LANG_T_BOOL)
            lang_emit_printf(em, "    bool %s = kiln_arg%u != 0;\n", f->params[i]->emit_name, i);
    em->indent = 1;
    lang_emit_block_items(em, f->body);
    em->indent = 0;
    lang_emit_puts(em, "}\n");
}

const lang_dialect lang_dialect_opencl = {
    .name = "opencl",
    .unit_header = cl_unit_header,
    .scalar_name = cl_scalar_name,
    .vector_name = cl_vector_name,
    .pointer_space = cl_pointer_space,
    .shared_prefix = "__local ",
    .constant_prefix = "__constant ",
    .emit_builtin = cl_builtin,
    .emit_vector_op = cl_vector_op,
    .helper_prefix = "static inline ",
    .emit_kernel = cl_kernel,
    .emit_helper_context = NULL,
    .emit_call_context = NULL,
};
