/* The C dialect for the CPU backend (src/ports/cpu_kernel_abi.h). Each
 * kernel NAME becomes kiln_entry_NAME, which runs every work-item of one
 * work-group. Without barrier() or shared memory, the kernel body is an
 * inlined function called from a z/y/x loop with x innermost, so the C
 * compiler can vectorize across work-items; otherwise emit_c_barrier.c
 * splits the body into work-item loops between barriers. */
#include "emit_clike.h"
#include "../ports/cpu_kernel_abi.h"

#include <stdio.h>
#include <string.h>

static const char *c_scalar_name(lang_type_kind k)
{
    switch (k) {
    case LANG_T_BOOL: return "_Bool";
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

static const char *c_pointer_space(lang_space space)
{
    (void)space;
    return "";
}

static void c_unit_header(lang_emitter *em)
{
    lang_header_printf(em, "%s", KILN_CPU_ABI_TEXT);
    lang_header_printf(
        em,
        "/* Kiln C translated for the CPU backend. */\n"
        "#include <math.h>\n"
        "#define KILN_FN static inline\n"
        "#define KILN_ALIGN(n) _Alignas(n)\n"
        "#define KILN_EXPORT __attribute__((visibility(\"default\")))\n"
        "/* On the loops around the x work-item loop: clang would otherwise\n"
        "   vectorize across y (gathers) once the x loop is fully unrolled. */\n"
        "#if defined(__clang__)\n"
        "#define KILN_NOVEC _Pragma(\"clang loop vectorize(disable) interleave(disable)\")\n"
        "#else\n"
        "#define KILN_NOVEC\n"
        "#endif\n"
        "/* Work-items of one group that a kernel with barrier() can hold: per-item\n"
        "   copies of variables live in arrays of this length. */\n"
        "#define KILN_CPU_MAX_GROUP_ITEMS %u\n"
        "/* 2^32: a row of x indices L + x, x < width, fits 32 bits when\n"
        "   L + width <= KILN_INDEX_SPAN. */\n"
        "#define KILN_INDEX_SPAN 4294967296ull\n"
        "typedef struct kiln_ctx {\n"
        "    unsigned int group_id[3], local_size[3], num_groups[3], global_size[3], base[3];\n"
        "} kiln_ctx;\n"
        "KILN_FN void kiln_ctx_init(kiln_ctx *c, const kiln_cpu_group *g) {\n"
        "    for (int d = 0; d < 3; d++) {\n"
        "        c->group_id[d] = g->group_id[d];\n"
        "        c->local_size[d] = g->local_size[d] ? g->local_size[d] : 1u;\n"
        "        c->num_groups[d] = g->num_groups[d] ? g->num_groups[d] : 1u;\n"
        "        c->global_size[d] = c->num_groups[d] * c->local_size[d];\n"
        "        c->base[d] = c->group_id[d] * c->local_size[d];\n"
        "    }\n"
        "}\n"
        "KILN_FN unsigned int kiln_pick(unsigned int d, unsigned int x, unsigned int y,\n"
        "                               unsigned int z, unsigned int other) {\n"
        "    return d == 0 ? x : d == 1 ? y : d == 2 ? z : other;\n"
        "}\n",
        LANG_CPU_MAX_GROUP_ITEMS);
}

/* Index queries: a constant dimension reads the context directly, so the
 * x loop sees global_id(0) as base + kiln_lx and can vectorize. */
static void c_index_query(lang_emitter *em, const lang_expr *call)
{
    static const char *const fields[] = {
        [LANG_B_GROUP_ID] = "group_id", [LANG_B_LOCAL_SIZE] = "local_size",
        [LANG_B_NUM_GROUPS] = "num_groups", [LANG_B_GLOBAL_SIZE] = "global_size"};
    static const char *const locals[] = {"((unsigned int)kiln_lx)", "((unsigned int)kiln_ly)",
                                         "((unsigned int)kiln_lz)"};
    const lang_expr *d = call->args[0];
    lang_builtin b = call->builtin;
    if (d->is_const_value && d->const_value >= 0 && d->const_value <= 2) {
        int i = (int)d->const_value;
        if (b == LANG_B_GLOBAL_ID)
            lang_emit_printf(em, "(kiln_c->base[%d] + %s)", i, locals[i]);
        else if (b == LANG_B_LOCAL_ID)
            lang_emit_puts(em, locals[i]);
        else
            lang_emit_printf(em, "kiln_c->%s[%d]", fields[b], i);
        return;
    }
    const char *other = b == LANG_B_LOCAL_SIZE || b == LANG_B_NUM_GROUPS || b == LANG_B_GLOBAL_SIZE
                            ? "1u" : "0u";
    if (b == LANG_B_GLOBAL_ID || b == LANG_B_LOCAL_ID) {
        lang_emit_puts(em, "kiln_pick((unsigned int)(");
        lang_emit_expr(em, d);
        if (b == LANG_B_GLOBAL_ID)
            lang_emit_printf(em, "), kiln_c->base[0] + (unsigned int)kiln_lx, kiln_c->base[1] + "
                                 "(unsigned int)kiln_ly, kiln_c->base[2] + (unsigned int)kiln_lz, %s)",
                             other);
        else
            lang_emit_printf(em, "), (unsigned int)kiln_lx, (unsigned int)kiln_ly, "
                                 "(unsigned int)kiln_lz, %s)", other);
        return;
    }
    lang_emit_puts(em, "kiln_pick((unsigned int)(");
    lang_emit_expr(em, d);
    lang_emit_printf(em, "), kiln_c->%s[0], kiln_c->%s[1], kiln_c->%s[2], %s)", fields[b],
                     fields[b], fields[b], other);
}

static const char *atomic_op_name(lang_builtin b)
{
    static const char *const names[] = {"add", "sub", "min", "max", "and", "or", "xor", "xchg",
                                        "cas"};
    return names[b - LANG_B_ATOMIC_ADD];
}

/* The new value an atomic stores, from old and v; integer + and - wrap as
 * the __atomic builtins do. */
static void shared_atomic_value(char *out, size_t size, lang_builtin b, const lang_type *t)
{
    const char *tn = c_scalar_name(t->kind);
    const char *un = t->kind == LANG_T_INT    ? "unsigned int"
                     : t->kind == LANG_T_LONG ? "unsigned long long" : tn;
    static const char *const ops[] = {"+", "-", "", "", "&", "|", "^"};
    switch (b) {
    case LANG_B_ATOMIC_ADD: case LANG_B_ATOMIC_SUB:
        if (lang_type_is_float(t))
            snprintf(out, size, "old %s v", ops[b - LANG_B_ATOMIC_ADD]);
        else
            snprintf(out, size, "(%s)((%s)old %s (%s)v)", tn, un, ops[b - LANG_B_ATOMIC_ADD], un);
        return;
    case LANG_B_ATOMIC_MIN: snprintf(out, size, "v < old ? v : old"); return;
    case LANG_B_ATOMIC_MAX: snprintf(out, size, "old < v ? v : old"); return;
    case LANG_B_ATOMIC_AND: case LANG_B_ATOMIC_OR: case LANG_B_ATOMIC_XOR:
        snprintf(out, size, "old %s v", ops[b - LANG_B_ATOMIC_ADD]);
        return;
    default: snprintf(out, size, "v"); return; /* xchg */
    }
}

/* Atomics on shared memory as plain read-modify-write: a work-group runs on
 * one thread and its shared memory lives on that thread's stack, so no
 * other thread can see it (a lock-prefixed add per element made a shared
 * histogram about as slow as a global one). */
static void c_shared_atomic(lang_emitter *em, const lang_expr *call)
{
    const lang_type *t = call->type;
    const char *kname = lang_scalar_kiln_name(t->kind);
    const char *tn = c_scalar_name(t->kind);
    const char *op = atomic_op_name(call->builtin);
    char key[48];
    snprintf(key, sizeof key, "shared_atomic_%s_%s", op, kname);
    if (lang_emit_first(em, key)) {
        if (call->builtin == LANG_B_ATOMIC_CAS) {
            lang_prelude_printf(em,
                "KILN_FN %s kiln_shared_atomic_cas_%s(%s *p, %s expected, %s desired) {\n"
                "    %s old = *p; if (old == expected) *p = desired; return old;\n}\n",
                tn, kname, tn, tn, tn, tn);
        } else {
            char value[96];
            shared_atomic_value(value, sizeof value, call->builtin, t);
            lang_prelude_printf(em,
                "KILN_FN %s kiln_shared_atomic_%s_%s(%s *p, %s v) {\n"
                "    %s old = *p; *p = %s; return old;\n}\n",
                tn, op, kname, tn, tn, tn, value);
        }
    }
    lang_emit_printf(em, "kiln_shared_atomic_%s_%s(", op, kname);
    lang_emit_expr(em, call->args[0]);
    for (uint32_t i = 1; i < call->arg_count; i++) {
        lang_emit_puts(em, ", ");
        lang_emit_expr_as(em, call->args[i], t);
    }
    lang_emit_puts(em, ")");
}

/* Atomics on plain memory with the GCC/clang __atomic builtins; float and
 * double go through a compare-and-swap loop on their bits. Work-groups run
 * on several threads, so global memory needs real atomics. */
static void c_atomic(lang_emitter *em, const lang_expr *call)
{
    const lang_type *t = call->type;
    const lang_type *pt = call->args[0]->type;
    if (pt && pt->kind == LANG_T_POINTER && pt->space == LANG_SPACE_SHARED) {
        c_shared_atomic(em, call);
        return;
    }
    const char *kname = lang_scalar_kiln_name(t->kind);
    const char *tn = c_scalar_name(t->kind);
    const char *op = atomic_op_name(call->builtin);
    char key[48];
    snprintf(key, sizeof key, "atomic_%s_%s", op, kname);
    if (lang_emit_first(em, key)) {
        const char *rel = "__ATOMIC_RELAXED";
        if (lang_type_is_float(t)) {
            const char *bits = t->kind == LANG_T_FLOAT ? "unsigned int" : "unsigned long long";
            lang_prelude_printf(em,
                "KILN_FN %s kiln_atomic_%s_%s(%s *p, %s v) {\n"
                "    %s old = __atomic_load_n((%s *)p, %s), next; %s f;\n"
                "    do { __builtin_memcpy(&f, &old, sizeof f); f = %s;\n"
                "         __builtin_memcpy(&next, &f, sizeof f);\n"
                "    } while (!__atomic_compare_exchange_n((%s *)p, &old, next, 1, %s, %s));\n"
                "    __builtin_memcpy(&f, &old, sizeof f); return f;\n}\n",
                tn, op, kname, tn, tn, bits, bits, rel, tn,
                call->builtin == LANG_B_ATOMIC_ADD ? "f + v" : "v", bits, rel, rel);
        } else if (call->builtin == LANG_B_ATOMIC_MIN || call->builtin == LANG_B_ATOMIC_MAX) {
            lang_prelude_printf(em,
                "KILN_FN %s kiln_atomic_%s_%s(%s *p, %s v) {\n"
                "    %s old = __atomic_load_n(p, %s);\n"
                "    while (%s && !__atomic_compare_exchange_n(p, &old, v, 1, %s, %s)) {}\n"
                "    return old;\n}\n",
                tn, op, kname, tn, tn, tn, rel,
                call->builtin == LANG_B_ATOMIC_MIN ? "v < old" : "old < v", rel, rel);
        } else if (call->builtin == LANG_B_ATOMIC_CAS) {
            lang_prelude_printf(em,
                "KILN_FN %s kiln_atomic_cas_%s(%s *p, %s expected, %s desired) {\n"
                "    __atomic_compare_exchange_n(p, &expected, desired, 0, %s, %s);\n"
                "    return expected;\n}\n",
                tn, kname, tn, tn, tn, rel, rel);
        } else {
            const char *fn = call->builtin == LANG_B_ATOMIC_XCHG ? "__atomic_exchange_n" : NULL;
            char fetch[32];
            if (!fn) {
                snprintf(fetch, sizeof fetch, "__atomic_fetch_%s", op);
                fn = fetch;
            }
            lang_prelude_printf(em, "KILN_FN %s kiln_atomic_%s_%s(%s *p, %s v) { return %s(p, v, %s); }\n",
                                tn, op, kname, tn, tn, fn, rel);
        }
    }
    lang_emit_printf(em, "kiln_atomic_%s_%s(", op, kname);
    lang_emit_expr(em, call->args[0]);
    for (uint32_t i = 1; i < call->arg_count; i++) {
        lang_emit_puts(em, ", ");
        lang_emit_expr_as(em, call->args[i], t);
    }
    lang_emit_puts(em, ")");
}

static void c_bitcast(lang_emitter *em, const lang_expr *call)
{
    const lang_type *to = call->type, *from = call->args[0]->type;
    const char *tk = lang_scalar_kiln_name(to->kind), *fk = lang_scalar_kiln_name(from->kind);
    char key[48];
    snprintf(key, sizeof key, "as_%s_%s", tk, fk);
    if (lang_emit_first(em, key))
        lang_prelude_printf(em, "KILN_FN %s kiln_as_%s_%s(%s x) { %s r; __builtin_memcpy(&r, &x, "
                                "sizeof r); return r; }\n",
                            c_scalar_name(to->kind), tk, fk, c_scalar_name(from->kind),
                            c_scalar_name(to->kind));
    lang_emit_printf(em, "kiln_as_%s_%s(", tk, fk);
    lang_emit_expr(em, call->args[0]);
    lang_emit_puts(em, ")");
}

static void c_builtin(lang_emitter *em, const lang_expr *call)
{
    lang_builtin b = call->builtin;
    switch (b) {
    case LANG_B_GLOBAL_ID: case LANG_B_LOCAL_ID: case LANG_B_GROUP_ID: case LANG_B_LOCAL_SIZE:
    case LANG_B_NUM_GROUPS: case LANG_B_GLOBAL_SIZE:
        c_index_query(em, call);
        return;
    case LANG_B_BARRIER:
        lang_emit_puts(em, "((void)0)");
        return;
    case LANG_B_SG_SIZE:
        lang_emit_puts(em, "1u");
        return;
    case LANG_B_SG_LOCAL_ID:
        lang_emit_puts(em, "0u");
        return;
    case LANG_B_SG_SHUFFLE: case LANG_B_SG_BROADCAST: case LANG_B_SG_REDUCE_ADD:
        /* A subgroup of one work-item: every lane's value is its own. */
        lang_emit_puts(em, "(");
        lang_emit_expr(em, call->args[0]);
        lang_emit_puts(em, ")");
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
        c_bitcast(em, call);
        return;
    default:
        if (b >= LANG_B_ATOMIC_ADD && b <= LANG_B_ATOMIC_CAS)
            c_atomic(em, call);
        else
            lang_clike_math(em, call, 0);
        return;
    }
}

/* Integer division and remainder that cannot trap: x / 0 is 0 and
 * INT_MIN / -1 wraps, as a GPU would give some value instead of a signal
 * that takes down the host process. */
static void c_int_div(lang_emitter *em, int op, const lang_type *t, const lang_expr *a,
                      const lang_expr *b)
{
    const char *kname = lang_scalar_kiln_name(t->kind);
    const char *tn = c_scalar_name(t->kind);
    const char *name = op == '/' ? "div" : "rem";
    char key[32];
    snprintf(key, sizeof key, "%s_%s", name, kname);
    if (lang_emit_first(em, key)) {
        int is_signed = t->kind == LANG_T_INT || t->kind == LANG_T_LONG;
        const char *utn = t->kind == LANG_T_INT ? "unsigned int" : "unsigned long long";
        if (!is_signed)
            lang_prelude_printf(em, "KILN_FN %s kiln_%s_%s(%s a, %s b) { return b == 0 ? 0 : a %c b; }\n",
                                tn, name, kname, tn, tn, op);
        else if (op == '/')
            lang_prelude_printf(em, "KILN_FN %s kiln_div_%s(%s a, %s b) { return b == 0 ? 0 : b == -1 ? "
                                    "(%s)(0 - (%s)a) : a / b; }\n",
                                tn, kname, tn, tn, tn, utn);
        else
            lang_prelude_printf(em, "KILN_FN %s kiln_rem_%s(%s a, %s b) { return b == 0 || b == -1 ? 0 "
                                    ": a %% b; }\n",
                                tn, kname, tn, tn);
    }
    lang_emit_printf(em, "kiln_%s_%s(", name, kname);
    lang_emit_expr_as(em, a, t);
    lang_emit_puts(em, ", ");
    lang_emit_expr_as(em, b, t);
    lang_emit_puts(em, ")");
}

/* In an x loop whose rows were checked (emit_c_index.c), L + x indices
 * in 64 bits: consecutive x, consecutive addresses. */
static int c_index(lang_emitter *em, const lang_expr *e)
{
    const lang_expr *x = NULL;
    const lang_expr *base = NULL;
    if (!em->fast_index || e->a->type->kind != LANG_T_POINTER ||
        !(base = lang_c_split_x_index(e->b, &x)))
        return 0;
    lang_emit_expr(em, e->a);
    lang_emit_puts(em, "[(unsigned long long)(");
    lang_emit_expr(em, base);
    lang_emit_printf(em, ")%s + (unsigned long long)kiln_lx]",
                     x->builtin == LANG_B_GLOBAL_ID ? " + kiln_c->base[0]" : "");
    return 1;
}

static void c_helper_context(lang_emitter *em, const lang_func *f)
{
    (void)f;
    lang_emit_puts(em, "const kiln_ctx *kiln_c, int kiln_lx, int kiln_ly, int kiln_lz");
}

static int c_call_context(lang_emitter *em, const lang_func *callee)
{
    if (!callee->uses_index)
        return 0;
    lang_emit_puts(em, "kiln_c, kiln_lx, kiln_ly, kiln_lz");
    return 1;
}

/* Declares each parameter as a local of the entry, read from args[i]. A
 * parameter that a group kernel writes gets one copy per work-item
 * (kiln_items must be declared before). */
void lang_emit_c_load_params(lang_emitter *em, const lang_func *f)
{
    for (uint32_t i = 0; i < f->param_count; i++) {
        const lang_var *p = f->params[i];
        char name[32];
        snprintf(name, sizeof name, "kiln_arg%u", i);
        lang_emit_puts(em, "    ");
        lang_emit_decl(em, p->type, p->promoted ? name : p->emit_name, 0);
        lang_emit_printf(em, ";\n    __builtin_memcpy(&%s, kiln_args[%u], sizeof %s);\n",
                         p->promoted ? name : p->emit_name, i, p->promoted ? name : p->emit_name);
        if (!p->promoted)
            continue;
        char promoted[300];
        snprintf(promoted, sizeof promoted, "kiln_p%d_%s", p->promoted, p->emit_name);
        lang_emit_puts(em, "    ");
        lang_emit_decl(em, lang_type_array(em->ctx, p->type, LANG_CPU_MAX_GROUP_ITEMS), promoted, 0);
        lang_emit_printf(em, ";\n    for (unsigned int kiln_i = 0; kiln_i < kiln_items; kiln_i++)\n"
                             "        %s[kiln_i] = %s;\n", promoted, name);
    }
}

static void c_kernel(lang_emitter *em, lang_func *f)
{
    if (f->uses_barrier || f->shared_count) {
        lang_emit_c_group_kernel(em, f);
        return;
    }
    lang_emit_line(em, f->loc);
    lang_emit_printf(em, "static inline __attribute__((always_inline)) void kiln_body_%s("
                         "const kiln_ctx *kiln_c, int kiln_lx, int kiln_ly, int kiln_lz",
                     f->name);
    lang_emit_params(em, f, 0);
    lang_emit_puts(em, ")\n");
    lang_emit_stmt(em, f->body);
    lang_emit_printf(em, "KILN_EXPORT void %s%s(const kiln_cpu_group *kiln_group, "
                         "void *const *kiln_args)\n{\n",
                     KILN_CPU_ENTRY_PREFIX, f->name);
    lang_emit_puts(em, "    kiln_ctx kiln_cv;\n    kiln_ctx_init(&kiln_cv, kiln_group);\n");
    lang_emit_c_load_params(em, f);
    lang_emit_puts(em, "    const int kiln_ls0 = (int)kiln_cv.local_size[0], kiln_ls1 = "
                       "(int)kiln_cv.local_size[1], kiln_ls2 = (int)kiln_cv.local_size[2];\n"
                       "    for (int kiln_lz = 0; kiln_lz < kiln_ls2; kiln_lz++)\n"
                       "        for (int kiln_ly = 0; kiln_ly < kiln_ls1; kiln_ly++)\n"
                       "            for (int kiln_lx = 0; kiln_lx < kiln_ls0; kiln_lx++)\n");
    lang_emit_printf(em, "                kiln_body_%s(&kiln_cv, kiln_lx, kiln_ly, kiln_lz", f->name);
    for (uint32_t i = 0; i < f->param_count; i++)
        lang_emit_printf(em, ", %s", f->params[i]->emit_name);
    lang_emit_puts(em, ");\n}\n");
    em->line = 0;
}

const lang_dialect lang_dialect_c = {
    .name = "c",
    .unit_header = c_unit_header,
    .scalar_name = c_scalar_name,
    .vector_name = lang_clike_vector_name,
    .pointer_space = c_pointer_space,
    .shared_prefix = "",
    .constant_prefix = "static const ",
    .emit_builtin = c_builtin,
    .emit_vector_op = lang_clike_vector_op,
    .emit_int_div = c_int_div,
    .helper_prefix = "static inline ",
    .emit_kernel = c_kernel,
    .emit_helper_context = c_helper_context,
    .emit_call_context = c_call_context,
    .emit_index = c_index,
};
