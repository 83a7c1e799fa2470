/* Parser state shared by parser.c (declarations), parser_stmt.c and
 * parser_expr.c. A syntax error longjmps to `recover`, which skips to the
 * next top-level declaration, so several errors can be reported. */
#ifndef KILN_LANG_PARSER_H
#define KILN_LANG_PARSER_H

#include "sema.h"

typedef struct lang_typedef {
    const char *name;
    const lang_type *type;
    struct lang_typedef *next;
} lang_typedef;

typedef struct lang_parser {
    lang_ctx *ctx;
    lang_token *tok;
    int depth;
    jmp_buf recover;
    lang_program *prog;
    lang_struct *struct_tail;
    lang_typedef *typedefs;
    lang_map typedef_names;  /* name -> lang_typedef, so lookups stay O(1) */
    lang_map struct_names;   /* name -> lang_struct */
    lang_func *func_tail;
    uint32_t constant_capacity;
} lang_parser;

/* Declaration specifiers: qualifiers and the base type. */
typedef struct lang_specs {
    const lang_type *type;
    int has_type;
    int is_const;
    lang_space space;
    int has_space;
    int is_static;
    int is_kernel;
    int is_typedef;
    lang_loc loc;
} lang_specs;

void lang_parse_fail(lang_parser *ps, lang_loc loc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4), noreturn))
#endif
    ;
void lang_expect(lang_parser *ps, int punct, const char *what);
int lang_accept(lang_parser *ps, int punct);
void lang_enter(lang_parser *ps);
void lang_leave(lang_parser *ps);
int lang_starts_type(lang_parser *ps, const lang_token *t);
void lang_parse_specs(lang_parser *ps, lang_specs *spec);
/* Parses one declarator: pointer, name (required unless abstract), array
 * dimensions. Returns the full type; *name may be NULL for abstract ones. */
const lang_type *lang_parse_declarator(lang_parser *ps, const lang_specs *spec,
                                       const char **name, lang_loc *loc, int abstract);
const lang_type *lang_parse_type_name(lang_parser *ps);

lang_expr *lang_parse_expr(lang_parser *ps);
lang_expr *lang_parse_assign(lang_parser *ps);
lang_expr *lang_parse_initializer(lang_parser *ps);
lang_stmt *lang_parse_block(lang_parser *ps);
lang_stmt *lang_parse_local_decl(lang_parser *ps);

#endif
