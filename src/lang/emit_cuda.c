/* CUDA C++ for NVRTC. Entries are extern "C" __global__ functions named as
 * the kernel; the unit includes no header, so everything it needs beyond
 * NVRTC's built-in device functions (vector structs, helpers) is in the
 * prelude. Subgroups are warps (__shfl_sync with the full mask, so every
 * lane of the warp must take part). */
#include "emit_clike.h"

#include <stdio.h>
#include <string.h>

static const char *cuda_scalar_name(lang_type_kind k)
{
    switch (k) {
    case LANG_T_BOOL: return "bool";
    case LANG_T_CHAR: return "signed char";
    case LANG_T_UCHAR: return "unsigned char";
    case LANG_T_SHORT: return "short";
    case LANG_T_USHORT: return "unsigned short";
    case LANG_T_INT: return "int";
    case LANG_T_UINT: return "unsigned int";
    case LANG_T_LONG: return "long long";
    case LANG_T_ULONG: return "unsigned long long";
    case LANG_T_FLOAT: return "float";
    case LANG_T_DOUBLE: return "double";
    default: return "void";
    }
}

static const char *cuda_pointer_space(lang_space space)
{
    (void)space; /* generic addressing */
    return "";
}

static void cuda_unit_header(lang_emitter *em)
{
    lang_header_printf(em,
        "/* Kiln C translated for CUDA (NVRTC); includes no header. */\n"
        "#define KILN_FN __device__ __forceinline__\n"
        "#define KILN_ALIGN(n) alignas(n)\n"
        "KILN_FN unsigned int kiln_pick(unsigned int d, unsigned int x, unsigned int y,\n"
        "                               unsigned int z, unsigned int other) {\n"
        "    return d == 0 ? x : d == 1 ? y : d == 2 ? z : other;\n"
        "}\n"
        "KILN_FN unsigned int kiln_lane_id(void) {\n"
        "    return ((threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x) %% "
        "(unsigned int)warpSize;\n"
        "}\n");
}

static void cuda_index_query(lang_emitter *em, const lang_expr *call)
{
    static const char *const dims = "xyz";
    const lang_expr *d = call->args[0];
    lang_builtin b = call->builtin;
    char parts[3][96];
    for (int i = 0; i < 3; i++) {
        char c = dims[i];
        switch (b) {
        case LANG_B_GLOBAL_ID:
            snprintf(parts[i], sizeof parts[i], "(blockIdx.%c * blockDim.%c + threadIdx.%c)", c, c, c);
            break;
        case LANG_B_LOCAL_ID: snprintf(parts[i], sizeof parts[i], "threadIdx.%c", c); break;
        case LANG_B_GROUP_ID: snprintf(parts[i], sizeof parts[i], "blockIdx.%c", c); break;
        case LANG_B_LOCAL_SIZE: snprintf(parts[i], sizeof parts[i], "blockDim.%c", c); break;
        case LANG_B_NUM_GROUPS: snprintf(parts[i], sizeof parts[i], "gridDim.%c", c); break;
        default: snprintf(parts[i], sizeof parts[i], "(gridDim.%c * blockDim.%c)", c, c); break;
        }
    }
    if (d->is_const_value && d->const_value >= 0 && d->const_value <= 2) {
        lang_emit_puts(em, parts[d->const_value]);
        return;
    }
    const char *other = b == LANG_B_LOCAL_SIZE || b == LANG_B_NUM_GROUPS || b == LANG_B_GLOBAL_SIZE
                            ? "1u" : "0u";
    lang_emit_puts(em, "kiln_pick((unsigned int)(");
    lang_emit_expr(em, d);
    lang_emit_printf(em, "), %s, %s, %s, %s)", parts[0], parts[1], parts[2], other);
}

static void cuda_atomic(lang_emitter *em, const lang_expr *call)
{
    static const char *const ops[] = {"add", "sub", "min", "max", "and", "or", "xor", "xchg", "cas"};
    static const char *const fns[] = {"atomicAdd", "atomicSub", "atomicMin", "atomicMax",
                                      "atomicAnd", "atomicOr", "atomicXor", "atomicExch",
                                      "atomicCAS"};
    int i = (int)(call->builtin - LANG_B_ATOMIC_ADD);
    const lang_type *t = call->type;
    const char *kname = lang_scalar_kiln_name(t->kind);
    const char *tn = cuda_scalar_name(t->kind);
    char key[48];
    snprintf(key, sizeof key, "atomic_%s_%s", ops[i], kname);
    if (lang_emit_first(em, key)) {
        int wide = t->kind == LANG_T_LONG || t->kind == LANG_T_ULONG;
        int cas = call->builtin == LANG_B_ATOMIC_CAS;
        char sig[160];
        snprintf(sig, sizeof sig, "KILN_FN %s kiln_atomic_%s_%s(", tn, ops[i], kname);
        char body[400];
        if (t->kind == LANG_T_DOUBLE && call->builtin == LANG_B_ATOMIC_XCHG) {
            snprintf(body, sizeof body, "return __longlong_as_double((long long)atomicExch("
                     "(unsigned long long *)p, (unsigned long long)__double_as_longlong(v)));");
        } else if (lang_type_is_float(t) || !wide) {
            const char *fn = fns[i];
            snprintf(body, sizeof body, "return %s(p, %sv);", fn, cas ? "e, " : "");
        } else if (call->builtin == LANG_B_ATOMIC_MIN || call->builtin == LANG_B_ATOMIC_MAX) {
            snprintf(body, sizeof body, "return (%s)%s((%s *)p, (%s)v);", tn, fns[i], tn, tn);
        } else if (call->builtin == LANG_B_ATOMIC_SUB) {
            snprintf(body, sizeof body, "return (%s)atomicAdd((unsigned long long *)p, "
                                        "0ull - (unsigned long long)v);", tn);
        } else {
            snprintf(body, sizeof body, "return (%s)%s((unsigned long long *)p, %s"
                                        "(unsigned long long)v);",
                     tn, fns[i], cas ? "(unsigned long long)e, " : "");
        }
        if (cas)
            lang_prelude_printf(em, "%s%s *p, %s e, %s v) { %s }\n", sig, tn, tn, tn, body);
        else
            lang_prelude_printf(em, "%s%s *p, %s v) { %s }\n", sig, tn, tn, body);
    }
    lang_emit_printf(em, "kiln_atomic_%s_%s(", ops[i], kname);
    lang_emit_expr(em, call->args[0]);
    for (uint32_t a = 1; a < call->arg_count; a++) {
        lang_emit_puts(em, ", ");
        lang_emit_expr_as(em, call->args[a], t);
    }
    lang_emit_puts(em, ")");
}

static void cuda_reduce(lang_emitter *em, const lang_expr *call)
{
    const lang_type *t = call->type;
    const char *kname = lang_scalar_kiln_name(t->kind);
    char key[48];
    snprintf(key, sizeof key, "reduce_add_%s", kname);
    if (lang_emit_first(em, key))
        lang_prelude_printf(em, "KILN_FN %s kiln_reduce_add_%s(%s v) {\n"
                                "    for (int o = warpSize / 2; o > 0; o /= 2)\n"
                                "        v += __shfl_xor_sync(0xffffffffu, v, o);\n"
                                "    return v;\n}\n",
                            cuda_scalar_name(t->kind), kname, cuda_scalar_name(t->kind));
    lang_emit_printf(em, "kiln_reduce_add_%s(", kname);
    lang_emit_expr(em, call->args[0]);
    lang_emit_puts(em, ")");
}

static void cuda_bitcast(lang_emitter *em, const lang_expr *call)
{
    lang_type_kind to = call->type->kind, from = call->args[0]->type->kind;
    const char *open = "((", *close = "))";
    char buf[96];
    if (to == LANG_T_FLOAT && from != LANG_T_FLOAT) {
        open = from == LANG_T_INT ? "__int_as_float((" : "__uint_as_float((";
    } else if (from == LANG_T_FLOAT && to != LANG_T_FLOAT) {
        open = to == LANG_T_INT ? "__float_as_int((" : "__float_as_uint((";
    } else if (to == LANG_T_DOUBLE && from != LANG_T_DOUBLE) {
        open = "__longlong_as_double((long long)(";
    } else if (from == LANG_T_DOUBLE && to != LANG_T_DOUBLE) {
        snprintf(buf, sizeof buf, "((%s)__double_as_longlong((", cuda_scalar_name(to));
        open = buf;
        close = ")))";
    } else {
        snprintf(buf, sizeof buf, "((%s)(", cuda_scalar_name(to));
        open = buf;
    }
    lang_emit_puts(em, open);
    lang_emit_expr(em, call->args[0]);
    lang_emit_puts(em, close);
}

static void cuda_builtin(lang_emitter *em, const lang_expr *call)
{
    lang_builtin b = call->builtin;
    switch (b) {
    case LANG_B_GLOBAL_ID: case LANG_B_LOCAL_ID: case LANG_B_GROUP_ID: case LANG_B_LOCAL_SIZE:
    case LANG_B_NUM_GROUPS: case LANG_B_GLOBAL_SIZE:
        cuda_index_query(em, call);
        return;
    case LANG_B_BARRIER:
        lang_emit_puts(em, "__syncthreads()");
        return;
    case LANG_B_SG_SIZE:
        lang_emit_puts(em, "((unsigned int)warpSize)");
        return;
    case LANG_B_SG_LOCAL_ID:
        lang_emit_puts(em, "kiln_lane_id()");
        return;
    case LANG_B_SG_SHUFFLE: case LANG_B_SG_BROADCAST:
        lang_emit_puts(em, "__shfl_sync(0xffffffffu, ");
        lang_emit_expr(em, call->args[0]);
        lang_emit_puts(em, ", (int)(");
        lang_emit_expr(em, call->args[1]);
        lang_emit_puts(em, "))");
        return;
    case LANG_B_SG_REDUCE_ADD:
        cuda_reduce(em, call);
        return;
    case LANG_B_MIN: case LANG_B_MAX: case LANG_B_CLAMP:
        lang_clike_minmax(em, call);
        return;
    case LANG_B_DOT: case LANG_B_LENGTH: case LANG_B_NORMALIZE:
        lang_clike_geometric(em, call);
        return;
    case LANG_B_MAKE_VECTOR:
        lang_clike_make(em, call);
        return;
    case LANG_B_AS_INT: case LANG_B_AS_UINT: case LANG_B_AS_FLOAT: case LANG_B_AS_LONG:
    case LANG_B_AS_ULONG: case LANG_B_AS_DOUBLE:
        cuda_bitcast(em, call);
        return;
    default:
        if (b >= LANG_B_ATOMIC_ADD && b <= LANG_B_ATOMIC_CAS)
            cuda_atomic(em, call);
        else
            lang_clike_math(em, call, 1);
        return;
    }
}

static void cuda_kernel(lang_emitter *em, lang_func *f)
{
    lang_emit_line(em, f->loc);
    lang_emit_printf(em, "extern \"C\" __global__ void %s(", f->name);
    if (f->param_count == 0)
        lang_emit_puts(em, "void");
    lang_emit_params(em, f, 1);
    lang_emit_puts(em, ")\n");
    lang_emit_stmt(em, f->body);
}

const lang_dialect lang_dialect_cuda = {
    .name = "cuda",
    .unit_header = cuda_unit_header,
    .scalar_name = cuda_scalar_name,
    .vector_name = lang_clike_vector_name,
    .pointer_space = cuda_pointer_space,
    .shared_prefix = "__shared__ ",
    .constant_prefix = "__constant__ const ",
    .emit_builtin = cuda_builtin,
    .emit_vector_op = lang_clike_vector_op,
    .helper_prefix = "static __device__ ",
    .emit_kernel = cuda_kernel,
    .emit_helper_context = NULL,
    .emit_call_context = NULL,
};
