/* The shared emitter: one AST walker for every dialect, with per-dialect
 * hooks for what differs (type spellings, address-space qualifiers,
 * builtins, vectors, kernels). Adding a dialect (Metal) is one new file
 * that fills a lang_dialect. Helper definitions (vector ops, atomics, ...)
 * are written to the prelude on first use, keyed by name. */
#ifndef KILN_LANG_EMIT_H
#define KILN_LANG_EMIT_H

#include "sema.h"

typedef struct lang_emitter lang_emitter;

typedef struct lang_dialect {
    const char *name;
    /* Pragmas, includes and fixed prelude, written once at the top. */
    void (*unit_header)(lang_emitter *em);
    const char *(*scalar_name)(lang_type_kind kind);
    /* Spelling of a vector type; may write its definition to the prelude. */
    const char *(*vector_name)(lang_emitter *em, const lang_type *v);
    /* Qualifier written before the pointee of a pointer in this space. */
    const char *(*pointer_space)(lang_space space);
    /* Storage qualifiers of a shared variable and of a constant table. */
    const char *shared_prefix;
    const char *constant_prefix;
    void (*emit_builtin)(lang_emitter *em, const lang_expr *call);
    /* op is + - * / or 'n' for negation; b is NULL for negation. */
    void (*emit_vector_op)(lang_emitter *em, int op, const lang_type *v, const lang_expr *a,
                           const lang_expr *b);
    /* Integer / and % (NULL: the target's own operators). The CPU must not
     * trap on a division by zero the way no GPU does. */
    void (*emit_int_div)(lang_emitter *em, int op, const lang_type *t, const lang_expr *a,
                         const lang_expr *b);
    /* Storage qualifiers of a helper function. */
    const char *helper_prefix;
    void (*emit_kernel)(lang_emitter *em, lang_func *f);
    /* Hidden leading parameters of a helper, and the matching arguments of
     * a call (the C work-item context); NULL where none are needed. The call
     * hook returns whether it wrote any argument. */
    void (*emit_helper_context)(lang_emitter *em, const lang_func *f);
    int (*emit_call_context)(lang_emitter *em, const lang_func *callee);
    /* Writes the indexing expression e and returns 1, or returns 0 for the
     * plain a[b]; NULL: always plain. */
    int (*emit_index)(lang_emitter *em, const lang_expr *e);
} lang_dialect;

struct lang_emitter {
    lang_ctx *ctx;
    lang_program *prog;
    const lang_dialect *d;
    lang_buf *out;
    lang_map written;        /* prelude pieces already written */
    lang_func *func;
    int indent;
    uint32_t line;           /* source line of the last #line, 0 = none */
    /* C work-item regions (emit_c_barrier.c) */
    int promote;             /* refer to promoted variables per work-item */
    int region_label;        /* label ending the current region; 0 = none */
    int regions;             /* regions so far in this kernel */
    int group_condition;     /* emitting a condition evaluated for item 0 */
    int fast_index;          /* x loop whose rows were checked not to wrap */
};

extern const lang_dialect lang_dialect_c;
extern const lang_dialect lang_dialect_cuda;
extern const lang_dialect lang_dialect_opencl;

/* Emits the whole program into ctx->header, ctx->prelude and ctx->out. */
void lang_emit_program(lang_ctx *ctx, lang_program *prog, const lang_dialect *d);

void lang_emit_puts(lang_emitter *em, const char *text);
void lang_emit_printf(lang_emitter *em, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void lang_emit_indent(lang_emitter *em);
void lang_emit_line(lang_emitter *em, lang_loc loc);
/* Returns 1 the first time key is seen: the caller then writes the piece. */
int lang_emit_first(lang_emitter *em, const char *key);
void lang_prelude_printf(lang_emitter *em, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void lang_header_printf(lang_emitter *em, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

const char *lang_emit_type_name(lang_emitter *em, const lang_type *t);
/* A declaration "T name[..]" or "space const T *name" of t. */
void lang_emit_decl(lang_emitter *em, const lang_type *t, const char *name, int is_const);
void lang_emit_expr(lang_emitter *em, const lang_expr *e);
/* Emits e converted to type to (a cast where the types differ). */
void lang_emit_expr_as(lang_emitter *em, const lang_expr *e, const lang_type *to);
void lang_emit_stmt(lang_emitter *em, const lang_stmt *s);
void lang_emit_block_items(lang_emitter *em, const lang_stmt *block);
void lang_emit_var_decl(lang_emitter *em, const lang_var *v);
void lang_emit_initializer(lang_emitter *em, const lang_expr *init, const lang_type *t);
void lang_emit_params(lang_emitter *em, const lang_func *f, int first);
void lang_emit_literal_int(lang_emitter *em, uint64_t v, lang_type_kind k);

/* Barrier rules common to every backend (barrier_rules.c). */
void lang_check_barrier_rules(lang_ctx *ctx, lang_program *prog);
/* C: a kernel with barrier() or shared memory, as work-item loops. */
void lang_emit_c_group_kernel(lang_emitter *em, lang_func *f);
void lang_emit_c_load_params(lang_emitter *em, const lang_func *f);
/* emit_c_analysis.c: marks promoted, recomputed (remat), uniform and
 * interchanged parts of a kernel that runs as work-item loops. */
void lang_c_analyse_group_kernel(lang_func *f);
int lang_c_group_level(const lang_stmt *s);
/* A for loop whose counter is one scalar for the whole group. */
int lang_c_uniform_counter(const lang_stmt *s);
int lang_c_has_return(const lang_stmt *s);

/* emit_c_index.c: L + local_id(0) / global_id(0) buffer indices indexed in
 * 64 bits where a per-row check shows they cannot wrap. Split returns L and
 * sets *x, or returns NULL; row_fits writes the check of every such index
 * in items, joined by &&, and returns how many. */
const lang_expr *lang_c_split_x_index(const lang_expr *index, const lang_expr **x);
int lang_c_has_split_index(const lang_stmt *s);
int lang_c_emit_row_fits(lang_emitter *em, lang_stmt *const *items, uint32_t n);

/* Name of a vector type for prelude keys: "float4". */
const char *lang_vector_suffix(lang_emitter *em, const lang_type *v);

#endif
