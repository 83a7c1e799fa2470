/* Internal declarations of the Kiln C front end: the translation context
 * (arena, diagnostics, limits), tokens, types, and the typed AST that the
 * parser builds, sema checks and the emitters walk. Nothing here is seen
 * outside src/lang. */
#ifndef KILN_LANG_AST_H
#define KILN_LANG_AST_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include "lang.h"

/* Limits that keep every input bounded in time and memory. */
#define LANG_MAX_SOURCE_BYTES (4u << 20)   /* 4 MiB of .kc text */
#define LANG_MAX_ARENA_BYTES (512u << 20)  /* all front-end memory of one call */
#define LANG_MAX_TOKENS 2000000u           /* tokens after macro expansion */
#define LANG_MAX_EXPANSION_DEPTH 64        /* nested macro argument expansion */
#define LANG_MAX_NESTING 200               /* AST depth: parser and every walker */
#define LANG_MAX_ERRORS 20                 /* diagnostics before giving up */
/* Counts that keep every lookup and check below quadratic blow-ups. */
#define LANG_MAX_MEMBERS 1024              /* members of one struct */
#define LANG_MAX_PARAMS 256                /* parameters of a function or macro */
#define LANG_MAX_HIDESET 4096              /* macros being expanded around one token */
#define LANG_MAX_RECOMPUTED 64             /* C: variables recomputed per work-item loop */
#define LANG_MAX_ARRAY_BYTES (1u << 30)    /* one array or struct */
/* C dialect: shared memory plus per-work-item copies live on the stack of
 * the thread that runs a group; more than this is refused at translation. */
#define LANG_CPU_MAX_FRAME_BYTES (64u << 20)

/* ---- arena and text buffers ------------------------------------------ */

typedef struct lang_chunk lang_chunk;

typedef struct lang_buf {
    char *data;
    size_t length;
    size_t capacity;
} lang_buf;

typedef struct lang_ctx {
    jmp_buf bail;              /* out of memory, too many errors, limits */
    kiln_status bail_status;
    lang_chunk *chunks;
    size_t arena_bytes;
    const char *name;          /* source name for diagnostics and #line */
    const char *src;           /* the source (NUL-terminated copy) */
    size_t src_length;
    lang_buf diag;
    lang_buf scratch;          /* short-lived text (type names) */
    lang_buf header;           /* emitted pragmas, ABI text, fixed prelude */
    lang_buf out;              /* emitted body */
    lang_buf prelude;          /* emitted helpers, placed before the body */
    int error_count;
    lang_caps caps;
    port_dialect dialect;
    uint64_t token_count;
} lang_ctx;

void *lang_alloc(lang_ctx *ctx, size_t bytes); /* zeroed; bails on failure */
char *lang_strndup(lang_ctx *ctx, const char *s, size_t n);
void lang_arena_free(lang_ctx *ctx);
void lang_bail(lang_ctx *ctx, kiln_status status);

void lang_buf_append(lang_ctx *ctx, lang_buf *b, const char *text, size_t n);
void lang_buf_puts(lang_ctx *ctx, lang_buf *b, const char *text);
void lang_buf_printf(lang_ctx *ctx, lang_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void lang_buf_free(lang_buf *b);

/* ---- diagnostics ------------------------------------------------------ */

typedef struct lang_loc {
    uint32_t line;
    uint32_t col;
} lang_loc;

void lang_error(lang_ctx *ctx, lang_loc loc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- tokens ----------------------------------------------------------- */

typedef enum lang_tok_kind {
    LANG_TK_EOF = 0,
    LANG_TK_IDENT,
    LANG_TK_INT,
    LANG_TK_FLOAT,
    LANG_TK_CHAR,
    LANG_TK_STRING,
    LANG_TK_PUNCT,
    LANG_TK_INVALID
} lang_tok_kind;

/* Multi-character punctuators; single characters use their own code. */
enum {
    LANG_P_ARROW = 256, LANG_P_INC, LANG_P_DEC, LANG_P_SHL, LANG_P_SHR,
    LANG_P_LE, LANG_P_GE, LANG_P_EQ, LANG_P_NE, LANG_P_ANDAND, LANG_P_OROR,
    LANG_P_ADD_ASSIGN, LANG_P_SUB_ASSIGN, LANG_P_MUL_ASSIGN, LANG_P_DIV_ASSIGN,
    LANG_P_MOD_ASSIGN, LANG_P_AND_ASSIGN, LANG_P_OR_ASSIGN, LANG_P_XOR_ASSIGN,
    LANG_P_SHL_ASSIGN, LANG_P_SHR_ASSIGN, LANG_P_HASHHASH, LANG_P_ELLIPSIS
};

typedef struct lang_hideset lang_hideset;

typedef struct lang_token {
    lang_tok_kind kind;
    int punct;              /* for LANG_TK_PUNCT */
    const char *text;       /* NUL-terminated spelling */
    uint32_t length;
    lang_loc loc;
    uint8_t at_line_start;
    uint8_t space_before;
    lang_hideset *hide;     /* macros not to expand again (preprocessor) */
    struct lang_token *next;
} lang_token;

lang_token *lang_lex(lang_ctx *ctx, const char *text, size_t length, lang_loc origin);
const char *lang_punct_text(int punct);
lang_token *lang_preprocess(lang_ctx *ctx, lang_token *tokens, const char *defines);
int lang_tok_is(const lang_token *t, const char *ident);
int lang_tok_punct(const lang_token *t, int punct);

/* ---- types ------------------------------------------------------------ */

typedef enum lang_type_kind {
    LANG_T_ERROR = 0, LANG_T_VOID,
    LANG_T_BOOL, LANG_T_CHAR, LANG_T_UCHAR, LANG_T_SHORT, LANG_T_USHORT,
    LANG_T_INT, LANG_T_UINT, LANG_T_LONG, LANG_T_ULONG, LANG_T_FLOAT, LANG_T_DOUBLE,
    LANG_T_VECTOR, LANG_T_STRUCT, LANG_T_POINTER, LANG_T_ARRAY
} lang_type_kind;

typedef enum lang_space {
    LANG_SPACE_PRIVATE = 0, LANG_SPACE_GLOBAL, LANG_SPACE_SHARED, LANG_SPACE_CONSTANT
} lang_space;

typedef struct lang_struct lang_struct;

typedef struct lang_type {
    lang_type_kind kind;
    const struct lang_type *base; /* pointee, array element, vector element */
    uint32_t count;               /* array length, vector width */
    lang_space space;             /* pointer: the pointee's address space */
    int pointee_const;
    lang_struct *def;             /* LANG_T_STRUCT */
} lang_type;

typedef struct lang_member {
    const char *name;
    const lang_type *type;
    size_t offset;
} lang_member;

struct lang_struct {
    const char *name;       /* NULL for an anonymous struct */
    const char *emit_name;  /* what the emitters write */
    lang_member *members;
    uint32_t member_count;
    int complete;
    size_t size;
    size_t align;
    lang_loc loc;
    struct lang_struct *next_defined; /* definition order, for emission */
};

const lang_type *lang_type_scalar(lang_type_kind kind);
const lang_type *lang_type_vector(lang_type_kind elem, uint32_t width); /* NULL if none */
const lang_type *lang_type_pointer(lang_ctx *ctx, const lang_type *to, lang_space space, int is_const);
const lang_type *lang_type_array(lang_ctx *ctx, const lang_type *of, uint32_t count);
const lang_type *lang_type_struct(lang_ctx *ctx, lang_struct *def);
int lang_type_is_integer(const lang_type *t);
int lang_type_is_float(const lang_type *t);
int lang_type_is_arith(const lang_type *t);  /* scalar integer or floating */
int lang_type_is_scalar(const lang_type *t); /* arith or pointer */
int lang_type_equal(const lang_type *a, const lang_type *b);
size_t lang_type_size(const lang_type *t);
size_t lang_type_align(const lang_type *t);
int lang_type_uses_double(const lang_type *t);
/* Writes a type as the user reads it ("global const float *"). */
void lang_type_text(lang_ctx *ctx, lang_buf *b, const lang_type *t);
const char *lang_type_name(lang_ctx *ctx, const lang_type *t);
const char *lang_space_name(lang_space s);
lang_scalar lang_type_to_scalar(const lang_type *t);
const char *lang_scalar_kiln_name(lang_type_kind kind); /* "uint" */

/* ---- AST ---------------------------------------------------------------- */

typedef enum lang_expr_kind {
    LANG_E_INT, LANG_E_FLOAT, LANG_E_BOOL, LANG_E_IDENT, LANG_E_UNARY, LANG_E_POSTFIX,
    LANG_E_BINARY, LANG_E_ASSIGN, LANG_E_COND, LANG_E_CALL, LANG_E_INDEX,
    LANG_E_MEMBER, LANG_E_CAST, LANG_E_SIZEOF, LANG_E_INIT_LIST
} lang_expr_kind;

/* Builtin functions, resolved by sema from a call's name. */
typedef enum lang_builtin {
    LANG_B_NONE = 0,
    LANG_B_GLOBAL_ID, LANG_B_LOCAL_ID, LANG_B_GROUP_ID, LANG_B_LOCAL_SIZE,
    LANG_B_NUM_GROUPS, LANG_B_GLOBAL_SIZE, LANG_B_BARRIER,
    LANG_B_ATOMIC_ADD, LANG_B_ATOMIC_SUB, LANG_B_ATOMIC_MIN, LANG_B_ATOMIC_MAX,
    LANG_B_ATOMIC_AND, LANG_B_ATOMIC_OR, LANG_B_ATOMIC_XOR, LANG_B_ATOMIC_XCHG,
    LANG_B_ATOMIC_CAS,
    LANG_B_SG_SIZE, LANG_B_SG_LOCAL_ID, LANG_B_SG_SHUFFLE, LANG_B_SG_REDUCE_ADD,
    LANG_B_SG_BROADCAST,
    LANG_B_SQRT, LANG_B_RSQRT, LANG_B_EXP, LANG_B_EXP2, LANG_B_LOG, LANG_B_LOG2,
    LANG_B_POW, LANG_B_SIN, LANG_B_COS, LANG_B_TAN, LANG_B_TANH, LANG_B_FABS,
    LANG_B_FLOOR, LANG_B_CEIL, LANG_B_FMIN, LANG_B_FMAX, LANG_B_FMA,
    LANG_B_MIN, LANG_B_MAX, LANG_B_CLAMP,
    LANG_B_DOT, LANG_B_LENGTH, LANG_B_NORMALIZE, LANG_B_MAKE_VECTOR,
    LANG_B_AS_INT, LANG_B_AS_UINT, LANG_B_AS_FLOAT, LANG_B_AS_LONG, LANG_B_AS_ULONG,
    LANG_B_AS_DOUBLE,
    LANG_B_COUNT
} lang_builtin;

typedef struct lang_var lang_var;
typedef struct lang_func lang_func;

typedef struct lang_expr {
    lang_expr_kind kind;
    int op;                    /* punctuator of a unary/binary/assign op */
    lang_loc loc;
    int depth;                 /* nesting depth, bounded by LANG_MAX_NESTING */
    struct lang_expr *a, *b, *c;
    struct lang_expr **args;   /* call arguments, init list items */
    uint32_t arg_count;
    const char *name;          /* identifier, member, callee */
    const char *text;          /* literal spelling (floats) */
    uint64_t ival;
    const lang_type *cast_type; /* LANG_E_CAST / LANG_E_SIZEOF(type) target */
    /* filled by sema */
    const lang_type *type;
    int is_lvalue;
    int lvalue_const;
    lang_space lvalue_space;
    lang_var *var;
    lang_func *callee;
    lang_builtin builtin;
    uint32_t member_index;
    int is_const_value;        /* an integer constant expression ... */
    int64_t const_value;       /* ... of this value */
} lang_expr;

struct lang_var {
    const char *name;
    const char *emit_name;
    const lang_type *type;
    lang_space space;          /* PRIVATE, SHARED, CONSTANT (file scope) */
    int is_const;
    int is_param;
    lang_expr *init;
    lang_loc loc;
    /* C barrier emitter: a variable whose value crosses a region boundary
     * becomes one copy per work-item. */
    int region;                /* first region that uses it, -1 = none */
    int promoted;
    int remat;                 /* instead recomputed at the top of each loop */
    int written;               /* assigned, incremented or address taken */
    int group_use;             /* read by a condition evaluated per group */
    int uniform_loop;          /* counter of an interchanged loop: one copy */
};

typedef enum lang_stmt_kind {
    LANG_S_EMPTY, LANG_S_EXPR, LANG_S_DECL, LANG_S_BLOCK, LANG_S_IF, LANG_S_FOR,
    LANG_S_WHILE, LANG_S_DO, LANG_S_BREAK, LANG_S_CONTINUE, LANG_S_RETURN,
    LANG_S_SWITCH, LANG_S_CASE, LANG_S_DEFAULT
} lang_stmt_kind;

typedef struct lang_stmt {
    lang_stmt_kind kind;
    lang_loc loc;
    int depth;
    lang_expr *expr;           /* EXPR, condition, RETURN value, CASE value */
    struct lang_stmt *init;    /* FOR init (DECL or EXPR) */
    lang_expr *step;           /* FOR increment */
    struct lang_stmt *body;    /* loops, IF then, SWITCH */
    struct lang_stmt *else_body;
    struct lang_stmt **items;  /* BLOCK */
    uint32_t item_count;
    lang_var **vars;           /* DECL */
    uint32_t var_count;
    int has_barrier;           /* filled by sema */
    int is_barrier;            /* an expression statement `barrier();` */
    int interchange;           /* C group kernels: run as k-outer, items-inner */
} lang_stmt;

struct lang_func {
    const char *name;
    const char *emit_name;
    const lang_type *ret;
    lang_var **params;
    uint32_t param_count;
    lang_stmt *body;           /* NULL for a prototype */
    int is_kernel;
    lang_loc loc;
    /* sema */
    int uses_index;            /* needs the work-item context (C) */
    int uses_barrier;
    lang_func **calls;         /* direct callees */
    uint32_t call_count;
    uint32_t call_capacity;
    int visit;                 /* recursion check state */
    size_t shared_bytes;
    size_t cpu_frame_bytes;    /* C: shared + per-item arrays on the entry's stack */
    lang_var **shared_vars;
    uint32_t shared_count;
    uint32_t shared_capacity;
    struct lang_func *next;
};

typedef struct lang_program {
    lang_func *funcs;          /* in source order */
    lang_var **constants;      /* file-scope constant tables */
    uint32_t constant_count;
    lang_struct *structs;      /* in definition order */
    /* builtins used anywhere, so preludes carry what is needed */
    int uses_double;
    int uses_int64_atomics;
} lang_program;

/* parser */
lang_program *lang_parse(lang_ctx *ctx, lang_token *tokens);
/* sema: names, types, rules, capabilities; errors through lang_error */
void lang_check(lang_ctx *ctx, lang_program *prog);
/* constant folding used by parser-created array sizes and case labels */
int lang_fold_constant(lang_ctx *ctx, lang_expr *e, int64_t *value);

/* expression / statement constructors (parser) */
lang_expr *lang_new_expr(lang_ctx *ctx, lang_expr_kind kind, lang_loc loc);
lang_stmt *lang_new_stmt(lang_ctx *ctx, lang_stmt_kind kind, lang_loc loc);

#endif
