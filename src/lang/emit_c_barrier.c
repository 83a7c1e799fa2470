/* Kernels with barrier() (or shared memory) on the CPU: "work-item loops".
 * Every maximal barrier-free run of statements becomes one loop over all
 * work-items of the group (x innermost, so the C compiler can vectorize it);
 * a barrier is the boundary between two such loops. A variable whose value
 * crosses a boundary is promoted to an array with one element per work-item.
 * A control statement that contains a barrier runs once per group, with its
 * condition evaluated for work-item 0: valid because, as in OpenCL and CUDA,
 * every work-item of a group must reach the same barriers (the condition is
 * uniform); a for loop whose counter is uniform keeps it as one scalar. A
 * return before a barrier sets a per-item flag that makes later loops skip
 * the item. The analysis behind it is emit_c_analysis.c. */
#include "emit.h"
#include "../ports/cpu_kernel_abi.h"

#include <stdio.h>
#include <string.h>

typedef struct group_state {
    int use_done; /* the kernel returns before its end: per-item flags */
    lang_var **remat; /* recomputed variables in declaration order */
    uint32_t remat_count;
    uint32_t remat_capacity;
} group_state;

static void collect_remat(lang_emitter *em, group_state *g, const lang_stmt *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->var_count; i++)
        if (s->vars[i]->remat) {
            if (g->remat_count == g->remat_capacity) {
                g->remat_capacity = g->remat_capacity ? g->remat_capacity * 2 : 8;
                lang_var **grown = lang_alloc(em->ctx, g->remat_capacity * sizeof *grown);
                if (g->remat_count)
                    memcpy(grown, g->remat, g->remat_count * sizeof *grown);
                g->remat = grown;
            }
            g->remat[g->remat_count++] = s->vars[i];
            s->vars[i]->promoted = (int)g->remat_count;
        }
    collect_remat(em, g, s->init);
    collect_remat(em, g, s->body);
    collect_remat(em, g, s->else_body);
    for (uint32_t i = 0; i < s->item_count; i++)
        collect_remat(em, g, s->items[i]);
}

static void emit_remat(lang_emitter *em, const group_state *g)
{
    for (uint32_t i = 0; i < g->remat_count; i++) {
        const lang_var *v = g->remat[i];
        char name[300];
        snprintf(name, sizeof name, "kiln_r%d_%s", v->promoted, v->emit_name);
        lang_emit_indent(em);
        lang_emit_decl(em, v->type, name, 0);
        lang_emit_puts(em, " = ");
        lang_emit_expr_as(em, v->init, v->type);
        lang_emit_printf(em, "; (void)%s;\n", name);
    }
}

static void emit_zero_ids(lang_emitter *em)
{
    lang_emit_indent(em);
    lang_emit_puts(em, "kiln_lx = 0; kiln_ly = 0; kiln_lz = 0; kiln_flat = 0;\n");
}

static int region_is_empty(lang_stmt *const *items, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        const lang_stmt *s = items[i];
        if (s->kind == LANG_S_EMPTY)
            continue;
        if (s->kind == LANG_S_DECL) {
            for (uint32_t j = 0; j < s->var_count; j++)
                if (s->vars[j]->space != LANG_SPACE_SHARED)
                    return 0;
            continue;
        }
        return 0;
    }
    return 1;
}

/* The header of an interchanged loop: its counter is one uniform scalar. */
static void emit_uniform_for(lang_emitter *em, const lang_stmt *loop)
{
    const lang_var *k = loop->init->vars[0];
    lang_emit_indent(em);
    lang_emit_puts(em, "for (");
    lang_emit_decl(em, k->type, k->emit_name, 0);
    lang_emit_puts(em, " = ");
    lang_emit_expr_as(em, k->init, k->type);
    lang_emit_puts(em, "; ");
    lang_emit_expr(em, loop->expr);
    lang_emit_puts(em, "; ");
    lang_emit_expr(em, loop->step);
    lang_emit_puts(em, ")");
}

/* One work-item loop over items[0..n). With inner (an interchanged
 * barrier-free loop, items being its body), the uniform loop runs between
 * the y and x loops: the x loop innermost sees unit-stride per-item
 * accesses and loop-invariant uniform ones (a_tile[ly][k]), so the C
 * compiler vectorizes it across work-items; each item still runs its
 * iterations in order. */
static void emit_x_loop(lang_emitter *em, const group_state *g, lang_stmt *const *items, uint32_t n)
{
    int label = ++em->regions;
    lang_emit_indent(em);
    lang_emit_puts(em, "for (kiln_lx = 0; kiln_lx < kiln_ls0; kiln_lx++) {\n");
    em->indent++;
    lang_emit_indent(em);
    lang_emit_puts(em, "kiln_flat = (kiln_lz * kiln_ls1 + kiln_ly) * kiln_ls0 + kiln_lx;\n");
    if (g->use_done) {
        lang_emit_indent(em);
        lang_emit_puts(em, "if (kiln_done[kiln_flat]) continue;\n");
        em->region_label = label;
    }
    emit_remat(em, g);
    lang_emit_indent(em);
    lang_emit_puts(em, "{\n");
    em->indent++;
    for (uint32_t i = 0; i < n; i++)
        lang_emit_stmt(em, items[i]);
    em->indent--;
    lang_emit_indent(em);
    lang_emit_puts(em, "}\n");
    if (g->use_done) {
        lang_emit_indent(em);
        lang_emit_printf(em, "kiln_end_%d:;\n", label);
    }
    em->region_label = 0;
    em->indent--;
    lang_emit_indent(em);
    lang_emit_puts(em, "}\n");
}

/* One work-item loop over items[0..n). With inner (an interchanged
 * barrier-free loop, items being its body), the uniform loop runs between
 * the y and x loops: the x loop innermost sees unit-stride per-item
 * accesses and loop-invariant uniform ones (a_tile[ly][k]), so the C
 * compiler vectorizes it across work-items; each item still runs its
 * iterations in order. Where buffer indices L + x occur, the x loop comes
 * twice: 64-bit indices when no index of the row wraps, else exact. */
static void emit_region(lang_emitter *em, const group_state *g, lang_stmt *const *items, uint32_t n,
                        const lang_stmt *inner)
{
    if (region_is_empty(items, n))
        return;
    lang_emit_indent(em);
    lang_emit_puts(em, "KILN_NOVEC for (kiln_lz = 0; kiln_lz < kiln_ls2; kiln_lz++)\n");
    lang_emit_indent(em);
    lang_emit_puts(em, "KILN_NOVEC for (kiln_ly = 0; kiln_ly < kiln_ls1; kiln_ly++)\n");
    if (inner) {
        lang_emit_indent(em);
        lang_emit_puts(em, "KILN_NOVEC\n");
        emit_uniform_for(em, inner);
        lang_emit_puts(em, " /* uniform loop, work-items inside */\n");
    }
    int split = 0;
    for (uint32_t i = 0; i < n && !split; i++)
        split = lang_c_has_split_index(items[i]);
    if (!split) {
        emit_x_loop(em, g, items, n);
        return;
    }
    lang_emit_indent(em);
    lang_emit_puts(em, "if (");
    lang_c_emit_row_fits(em, items, n);
    lang_emit_puts(em, ") {\n");
    em->indent++;
    em->fast_index = 1;
    emit_x_loop(em, g, items, n);
    em->fast_index = 0;
    em->indent--;
    lang_emit_indent(em);
    lang_emit_puts(em, "} else {\n");
    em->indent++;
    emit_x_loop(em, g, items, n);
    em->indent--;
    lang_emit_indent(em);
    lang_emit_puts(em, "}\n");
}

static void emit_group_list(lang_emitter *em, const group_state *g, lang_stmt *const *items,
                            uint32_t n);

static void emit_condition(lang_emitter *em, const char *head, const lang_expr *cond,
                           const char *tail)
{
    emit_zero_ids(em);
    lang_emit_indent(em);
    lang_emit_puts(em, head);
    lang_emit_expr(em, cond);
    lang_emit_puts(em, tail);
}

static void emit_group_stmt(lang_emitter *em, const group_state *g, const lang_stmt *s)
{
    lang_emit_line(em, s->loc);
    switch (s->kind) {
    case LANG_S_EXPR:
        lang_emit_indent(em);
        lang_emit_puts(em, "/* barrier(): the work-item loops before it are complete */\n");
        return;
    case LANG_S_BLOCK:
        emit_group_list(em, g, s->items, s->item_count);
        return;
    case LANG_S_IF:
        emit_condition(em, "if (", s->expr, ") {\n");
        em->indent++;
        emit_group_list(em, g, &s->body, 1);
        em->indent--;
        lang_emit_indent(em);
        lang_emit_puts(em, "}\n");
        if (s->else_body) {
            lang_emit_indent(em);
            lang_emit_puts(em, "else {\n");
            em->indent++;
            emit_group_list(em, g, &s->else_body, 1);
            em->indent--;
            lang_emit_indent(em);
            lang_emit_puts(em, "}\n");
        }
        return;
    case LANG_S_FOR:
        if (s->interchange) {
            emit_region(em, g, (lang_stmt *const *)&s->body, 1, s);
            return;
        }
        if (lang_c_uniform_counter(s)) {
            /* One scalar counter; the condition needs no work-item. */
            emit_uniform_for(em, s);
            lang_emit_puts(em, " {\n");
            em->indent++;
            emit_group_list(em, g, &s->body, 1);
            em->indent--;
            lang_emit_indent(em);
            lang_emit_puts(em, "}\n");
            return;
        }
        /* fall through */
    case LANG_S_WHILE:
    case LANG_S_DO: {
        if (s->kind == LANG_S_FOR && s->init)
            emit_region(em, g, (lang_stmt *const *)&s->init, 1, NULL);
        lang_emit_indent(em);
        lang_emit_puts(em, "for (;;) {\n");
        em->indent++;
        if (s->kind != LANG_S_DO && s->expr)
            emit_condition(em, "if (!(", s->expr, ")) break;\n");
        emit_group_list(em, g, &s->body, 1);
        if (s->kind == LANG_S_DO)
            emit_condition(em, "if (!(", s->expr, ")) break;\n");
        if (s->kind == LANG_S_FOR && s->step) {
            lang_stmt step = {.kind = LANG_S_EXPR, .loc = s->step->loc, .expr = s->step};
            lang_stmt *items[1] = {&step};
            emit_region(em, g, items, 1, NULL);
        }
        em->indent--;
        lang_emit_indent(em);
        lang_emit_puts(em, "}\n");
        return;
    }
    default:
        return;
    }
}

static void emit_group_list(lang_emitter *em, const group_state *g, lang_stmt *const *items,
                            uint32_t n)
{
    for (uint32_t i = 0; i < n;) {
        if (lang_c_group_level(items[i])) {
            emit_group_stmt(em, g, items[i]);
            i++;
            continue;
        }
        uint32_t start = i;
        while (i < n && !lang_c_group_level(items[i]))
            i++;
        emit_region(em, g, items + start, i - start, NULL);
    }
}

/* Declares shared variables and per-item arrays at the top of the entry;
 * promoted variables are numbered, so equal names of different scopes
 * stay apart. */
static void collect_promoted(lang_emitter *em, const lang_stmt *s, int *counter)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->var_count; i++) {
        lang_var *v = s->vars[i];
        char name[300];
        if (v->space == LANG_SPACE_SHARED) {
            em->func->cpu_frame_bytes += lang_type_size(v->type);
            lang_emit_puts(em, "    ");
            lang_emit_decl(em, v->type, v->emit_name, 0);
            lang_emit_puts(em, "; /* shared */\n");
        } else if (v->promoted && !v->remat) {
            v->promoted = ++*counter;
            em->func->cpu_frame_bytes += lang_type_size(v->type) * LANG_CPU_MAX_GROUP_ITEMS;
            snprintf(name, sizeof name, "kiln_p%d_%s", v->promoted, v->emit_name);
            lang_emit_puts(em, "    ");
            lang_emit_decl(em, lang_type_array(em->ctx, v->type, LANG_CPU_MAX_GROUP_ITEMS), name, 0);
            lang_emit_printf(em, "; /* '%s' crosses a barrier */\n", v->name);
        }
    }
    collect_promoted(em, s->init, counter);
    collect_promoted(em, s->body, counter);
    collect_promoted(em, s->else_body, counter);
    for (uint32_t i = 0; i < s->item_count; i++)
        collect_promoted(em, s->items[i], counter);
}

/* Group widths (local_size(0)) that get a copy of the kernel with the width
 * a constant: the x loops then have a known trip count, which the C
 * compiler unrolls into whole vectors. With a run-time width of 16, clang
 * picks 8 lanes x 4 interleaved = 32 items per vector iteration and runs
 * everything in the scalar remainder loop (tiled SGEMM 16x16: 420 ms
 * against 70 ms on one core). Wider groups fill that vector iteration
 * anyway; each copy costs about 0.3 s of compile time. */
static const unsigned int fixed_widths[] = {8, 16, 32};

static void emit_width_dispatch(lang_emitter *em, const lang_func *f)
{
    lang_emit_printf(em, "KILN_EXPORT void %s%s(const kiln_cpu_group *kiln_group, "
                         "void *const *kiln_args)\n{\n"
                         "    switch (kiln_group->local_size[0]) {\n",
                     KILN_CPU_ENTRY_PREFIX, f->name);
    for (size_t i = 0; i < sizeof fixed_widths / sizeof fixed_widths[0]; i++)
        lang_emit_printf(em, "    case %uu: kiln_group_%s(kiln_group, kiln_args, %u); return;\n",
                         fixed_widths[i], f->name, fixed_widths[i]);
    lang_emit_printf(em, "    default: kiln_group_%s(kiln_group, kiln_args, "
                         "kiln_group->local_size[0] ? (int)kiln_group->local_size[0] : 1); return;\n"
                         "    }\n}\n",
                     f->name);
}

void lang_emit_c_group_kernel(lang_emitter *em, lang_func *f)
{
    group_state g = {lang_c_has_return(f->body), NULL, 0, 0};
    lang_c_analyse_group_kernel(f);
    collect_remat(em, &g, f->body);
    lang_emit_line(em, f->loc);
    lang_emit_printf(em, "static inline __attribute__((always_inline)) void kiln_group_%s("
                         "const kiln_cpu_group *kiln_group, void *const *kiln_args, "
                         "const int kiln_ls0)\n{\n",
                     f->name);
    lang_emit_puts(em,
        "    kiln_ctx kiln_cv;\n"
        "    kiln_ctx_init(&kiln_cv, kiln_group);\n"
        "    const kiln_ctx *kiln_c = &kiln_cv;\n"
        "    /* int loop counters: signed overflow is undefined, so the compiler can\n"
        "       treat per-item indices as affine and vectorize the x loop. */\n"
        "    const int kiln_ls1 = (int)kiln_cv.local_size[1], kiln_ls2 = (int)kiln_cv.local_size[2];\n"
        "    const unsigned long long kiln_items = (unsigned long long)kiln_cv.local_size[0] * "
        "kiln_cv.local_size[1] * kiln_cv.local_size[2];\n"
        "    /* Larger groups are refused by the CPU backend (LANG_CPU_MAX_GROUP_ITEMS). */\n"
        "    if (kiln_items > KILN_CPU_MAX_GROUP_ITEMS)\n"
        "        return;\n"
        "    int kiln_lx = 0, kiln_ly = 0, kiln_lz = 0, kiln_flat = 0;\n"
        "    (void)kiln_c; (void)kiln_lx; (void)kiln_ly; (void)kiln_lz; (void)kiln_flat;\n");
    int counter = 0;
    f->cpu_frame_bytes = LANG_CPU_MAX_GROUP_ITEMS; /* kiln_done */
    for (uint32_t i = 0; i < f->param_count; i++)
        if (f->params[i]->promoted) {
            f->params[i]->promoted = ++counter;
            f->cpu_frame_bytes += lang_type_size(f->params[i]->type) * LANG_CPU_MAX_GROUP_ITEMS;
        }
    lang_emit_c_load_params(em, f);
    collect_promoted(em, f->body, &counter);
    if (g.use_done)
        lang_emit_puts(em, "    unsigned char kiln_done[KILN_CPU_MAX_GROUP_ITEMS];\n"
                           "    __builtin_memset(kiln_done, 0, kiln_items);\n");
    if (f->cpu_frame_bytes > LANG_CPU_MAX_FRAME_BYTES)
        lang_error(em->ctx, f->loc,
                   "kernel '%s' needs %zu bytes of shared memory and per-work-item copies on the "
                   "CPU (limit %u): keep fewer or smaller variables alive across barrier()",
                   f->name, f->cpu_frame_bytes, LANG_CPU_MAX_FRAME_BYTES);
    em->promote = 1;
    em->indent = 1;
    em->line = 0;
    emit_group_list(em, &g, f->body->items, f->body->item_count);
    em->promote = 0;
    em->indent = 0;
    lang_emit_puts(em, "}\n");
    emit_width_dispatch(em, f);
    em->line = 0;
}
